"""Bad input gets a one-line error or an INI000 finding, never a traceback, and the run goes
on over the other files."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli.main import main

ALIAS = "import torch.nn as nn\n\n\ndef f(m):\n    nn.init.normal(m.weight)\n"


def invoke(*args: str):
    return CliRunner().invoke(main, [*args, "--output-format", "json"])


def items(result) -> list[tuple[str, str, int, int]]:
    return sorted((Path(d["filename"]).name, d["code"], d["location"]["row"],
                   d["location"]["column"]) for d in json.loads(result.stdout))


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.py"
    path.write_text(ALIAS, encoding="utf-8")
    return path


def test_missing_path_is_an_error_but_the_others_are_linted(tmp_path: Path, good: Path):
    missing = tmp_path / "nope.py"
    result = invoke(str(missing), str(good))
    assert result.exit_code == 2
    assert result.stderr == f"initlint: error: {missing}: no such file or directory\n"
    assert items(result) == [("good.py", "INI001", 5, 13)]


def test_missing_path_with_exit_zero_is_still_an_error(tmp_path: Path, good: Path):
    result = invoke(str(tmp_path / "nope"), str(good), "--exit-zero")
    assert result.exit_code == 2


def test_directory_without_python_files(tmp_path: Path):
    empty = tmp_path / "docs"
    empty.mkdir()
    (empty / "README.md").write_text("# nothing here\n", encoding="utf-8")
    result = CliRunner().invoke(main, [str(empty)])
    assert result.exit_code == 0
    assert result.stderr == f"initlint: warning: no Python files found under {empty}\n"
    assert result.stdout == "All checks passed!\n"


def test_undecodable_bytes_are_ini000_and_the_run_continues(tmp_path: Path, good: Path):
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"import torch\n\nname = 'caf\xe9'\n")
    result = invoke(str(tmp_path))
    assert result.exit_code == 1
    assert items(result) == [("bad.py", "INI000", 1, 1), ("good.py", "INI001", 5, 13)]
    message = next(d for d in json.loads(result.stdout) if d["code"] == "INI000")["message"]
    assert message == ("cannot decode file as utf-8: byte 0xe9 at line 3, byte 12: "
                       "invalid continuation byte")


def test_declared_encoding_is_honoured(tmp_path: Path):
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nimport torch.nn as nn\n\n\n"
                      b"def f(m):\n    s = '\xe9\xe9'; nn.init.normal(m.weight)\n")
    assert items(invoke(str(latin))) == [("latin.py", "INI001", 6, 23)]


def test_unknown_declared_encoding(tmp_path: Path):
    odd = tmp_path / "odd.py"
    odd.write_bytes(b"# -*- coding: klingon -*-\nimport torch\n")
    result = invoke(str(odd))
    assert items(result) == [("odd.py", "INI000", 1, 1)]
    assert "klingon" in json.loads(result.stdout)[0]["message"]


def test_bom_keeps_rows_and_columns(tmp_path: Path):
    path = tmp_path / "bom.py"
    path.write_bytes(codecs.BOM_UTF8 + ("import torch.nn as nn\n\n\ndef f(m):\n"
                                        "    é = 1; nn.init.normal(m.weight)\n").encode())
    assert items(invoke(str(path))) == [("bom.py", "INI001", 5, 20)]


def test_crlf_keeps_rows_and_columns(tmp_path: Path):
    path = tmp_path / "crlf.py"
    path.write_bytes(b"import torch.nn as nn\r\n\r\n\r\ndef f(m):\r\n"
                     b"    x = '\xc3\xa9\xc3\xa9'; nn.init.normal(m.weight)\r\n")
    result = invoke(str(path))
    assert items(result) == [("crlf.py", "INI001", 5, 23)]
    assert json.loads(result.stdout)[0]["end_location"] == {"row": 5, "column": 29}


def test_lone_cr_line_endings(tmp_path: Path):
    path = tmp_path / "cr.py"
    path.write_bytes(b"import torch.nn as nn\r\r\rdef f(m):\r    nn.init.normal(m.weight)\r")
    assert items(invoke(str(path))) == [("cr.py", "INI001", 5, 13)]


def test_syntax_error_has_a_position_and_the_others_are_checked(tmp_path: Path, good: Path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch.nn as nn\n\nclass Net(nn.Module:\n    pass\n",
                      encoding="utf-8")
    result = invoke(str(tmp_path))
    assert result.exit_code == 1
    assert items(result) == [("broken.py", "INI000", 3, 20), ("good.py", "INI001", 5, 13)]
    message = next(d for d in json.loads(result.stdout) if d["code"] == "INI000")["message"]
    assert message.startswith("SyntaxError: ")


@pytest.mark.parametrize(("content", "fragment"), [
    (b"import torch\nx = 1\x00\n", "null bytes"),
    (b"import torch\nx = " + b"1+" * 100_000 + b"1\n", ""),
    (b"import torch\n\tif True:\n  pass\n", "SyntaxError"),
])
def test_pathological_files_are_ini000(tmp_path: Path, content: bytes, fragment: str):
    path = tmp_path / "odd.py"
    path.write_bytes(content)
    result = invoke(str(path))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert [d["code"] for d in data] == ["INI000"]
    assert fragment in data[0]["message"]


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# just a comment about torch\n",
                                     b"import torch\n"])
def test_trivial_files_are_clean(tmp_path: Path, content: bytes):
    path = tmp_path / "tiny.py"
    path.write_bytes(content)
    result = invoke(str(path))
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_broken_pyproject_is_one_line(tmp_path: Path, good: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nselect = [INI001\n",
                                             encoding="utf-8")
    result = CliRunner().invoke(main, [str(good)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"initlint: error: {tmp_path / 'pyproject.toml'}: invalid TOML")


def test_undecodable_pyproject_is_one_line(tmp_path: Path, good: Path):
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.initlint]\nselect = ['\xff']\n")
    result = CliRunner().invoke(main, [str(good)])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_unreadable_file_is_ini000(tmp_path: Path, good: Path):
    locked = tmp_path / "locked.py"
    locked.write_text(ALIAS, encoding="utf-8")
    locked.chmod(0)
    try:
        if locked.stat().st_mode & 0o444 == 0 and _can_read(locked):
            pytest.skip("running as a user that ignores file permissions")
        result = invoke(str(tmp_path))
        assert items(result) == [("good.py", "INI001", 5, 13), ("locked.py", "INI000", 1, 1)]
    finally:
        locked.chmod(0o644)


def _can_read(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True


def test_dangling_symlink_is_ini000(tmp_path: Path, good: Path):
    (tmp_path / "dangling.py").symlink_to(tmp_path / "gone.py")
    result = invoke(str(tmp_path))
    assert items(result) == [("dangling.py", "INI000", 1, 1), ("good.py", "INI001", 5, 13)]
    assert "cannot read file" in json.loads(result.stdout)[0]["message"]
