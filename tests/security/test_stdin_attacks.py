"""stdin is capped like a file: an endless stream or 30 MB of valid Python is one line and
exit 2 after reading at most the cap, in bounded memory (never read whole, never parsed)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from initlint.safe_fs import MAX_FILE_BYTES

pytestmark = pytest.mark.skipif(not hasattr(os, "wait4"), reason="os.wait4 gives the peak")

#: Python, the CLI's imports and a 10 MB buffer: far below what reading 30 MB whole and
#: parsing it takes (gigabytes), far above what the interpreter alone needs.
PEAK_MB = 200


def _run_on_stdin(source, tmp_path: Path) -> tuple[int, list[str], float]:
    """The CLI reading ``source`` (an open file) as stdin: exit code, stderr lines and the
    child's own peak RSS in MB (wait4 reports it for exactly that process)."""
    err_path = tmp_path / "stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "initlint.cli", "--no-cache", "-"],
                                stdin=source, stdout=subprocess.DEVNULL, stderr=err,
                                cwd=tmp_path)
        timer = threading.Timer(120, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes there, KB here
    return proc.returncode, err_path.read_text().splitlines(), usage.ru_maxrss / scale


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_stdin_is_one_line(tmp_path: Path) -> None:
    with open("/dev/zero", "rb") as zero:
        code, lines, peak = _run_on_stdin(zero, tmp_path)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("initlint: error: stdin: more than the 10 MB limit")
    assert peak < PEAK_MB


def test_30_mb_of_valid_python_on_stdin_is_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    line = b"x = 1\n"
    big.write_bytes(line * (30 * 1024 * 1024 // len(line)))
    with open(big, "rb") as source:
        code, lines, peak = _run_on_stdin(source, tmp_path)
    assert code == 2 and len(lines) == 1 and "10 MB limit" in lines[0], lines
    assert peak < PEAK_MB


def test_stdin_at_the_cap_is_still_checked(tmp_path: Path) -> None:
    text = b"import torch.nn as nn\n" + b"#" * (MAX_FILE_BYTES - 40) + b"\n"
    assert len(text) <= MAX_FILE_BYTES
    result = subprocess.run([sys.executable, "-m", "initlint.cli", "--no-cache", "-"],
                            input=text, capture_output=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
