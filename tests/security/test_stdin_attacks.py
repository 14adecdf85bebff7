"""stdin is capped like a file: an endless stream or 30 MB of valid Python is one line and
exit 2 after reading at most the cap, in bounded memory (never read whole, never parsed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from initlint.files.safe_fs import MAX_FILE_BYTES

resource = pytest.importorskip("resource")  # POSIX

#: The run's whole address space: Python, the CLI's imports and a 10 MB buffer fit easily;
#: reading 30 MB whole and parsing it (gigabytes), or /dev/zero to the end, cannot.
ADDRESS_SPACE = 512 << 20


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _run_on_stdin(source, tmp_path: Path) -> tuple[int, list[str]]:
    """The CLI reading ``source`` (an open file) as stdin, in bounded memory: exit code
    and stderr lines."""
    result = subprocess.run([sys.executable, "-m", "initlint.cli.main", "--no-cache", "-"],
                            stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=tmp_path, timeout=120, preexec_fn=_bounded)
    return result.returncode, result.stderr.decode().splitlines()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_stdin_is_one_line(tmp_path: Path) -> None:
    with open("/dev/zero", "rb") as zero:
        code, lines = _run_on_stdin(zero, tmp_path)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("initlint: error: stdin: more than the 10 MB limit")


def test_30_mb_of_valid_python_on_stdin_is_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    line = b"x = 1\n"
    big.write_bytes(line * (30 * 1024 * 1024 // len(line)))
    with open(big, "rb") as source:
        code, lines = _run_on_stdin(source, tmp_path)
    assert code == 2 and len(lines) == 1 and "10 MB limit" in lines[0], lines


def test_stdin_at_the_cap_is_still_checked(tmp_path: Path) -> None:
    text = b"import torch.nn as nn\n" + b"#" * (MAX_FILE_BYTES - 40) + b"\n"
    assert len(text) <= MAX_FILE_BYTES
    result = subprocess.run([sys.executable, "-m", "initlint.cli.main", "--no-cache", "-"],
                            input=text, capture_output=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
