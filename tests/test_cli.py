"""The command line: options, output formats, exit codes (CliRunner and a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import initlint
from initlint.checks import ALL_RULES
from initlint.cli import main as cli
from initlint.cli.main import main

# Two INI001 (one fixable attribute call, one bare imported name), one INI005, one INI006.
MODEL = textwrap.dedent("""\
    import torch.nn as nn
    from torch.nn.init import xavier_normal


    def init_weights(m):
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform(m.weight)
            nn.init.zeros_(m.bias)
            xavier_normal(m.weight, gain=nn.init.calculate_gain("ReLU"))


    class Stem(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, bias=False)
            self.apply(init_weights)
""")
EXPECTED = [("INI001", 7, 17), ("INI005", 8, 9), ("INI001", 9, 9), ("INI006", 9, 61)]
CLEAN = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\n"

JSON_KEYS = {"code", "name", "severity", "message", "why", "filename", "location",
             "end_location", "fix", "url", "noqa_row", "runtime", "cell"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(MODEL, encoding="utf-8")
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    return tmp_path


def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args))
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args))
    finally:
        os.chdir(old)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed entry point in a real process (exit codes as a shell sees them)."""
    code = "import sys; from initlint.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def found(result) -> list[tuple[str, int, int]]:
    return [(d["code"], d["location"]["row"], d["location"]["column"])
            for d in json.loads(result.stdout)]


def test_check_is_the_default_command(tree: Path):
    plain = invoke(str(tree / "model.py"))
    explicit = invoke("check", str(tree / "model.py"))
    assert plain.exit_code == explicit.exit_code == 1
    assert plain.output == explicit.output
    assert "INI005" in plain.output


def test_no_paths_lints_the_current_directory(tree: Path):
    result = invoke("--output-format", "json", cwd=tree)
    assert result.exit_code == 1
    assert {Path(d["filename"]).name for d in json.loads(result.stdout)} == {"model.py"}


def test_text_format(tree: Path):
    result = invoke(str(tree / "model.py"), "--output-format", "text")
    lines = result.stdout.splitlines()
    assert f"{tree / 'model.py'}:8:9: INI005 [error] `m.bias` is initialized" in result.stdout
    assert any(line.startswith("  = why: ") for line in lines)
    assert "  = fix (safe): Use `xavier_uniform_`" in result.stdout
    assert " 8 |         nn.init.zeros_(m.bias)" in lines
    assert lines[-2:] == ["Found 4 findings.", "[*] 3 fixable with `initlint --fix`."]


def test_text_format_clean(tree: Path):
    result = invoke(str(tree / "clean.py"))
    assert result.exit_code == 0
    assert result.stdout == "All checks passed!\n"


def test_json_format_is_pinned(tree: Path):
    result = invoke(str(tree / "model.py"), "--output-format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert found(result) == EXPECTED
    for item in data:
        assert set(item) == JSON_KEYS
        assert item["severity"] in ("error", "warning", "info")
        assert item["name"] == ALL_RULES[item["code"]].name
        assert item["url"] == ALL_RULES[item["code"]].url
        assert item["filename"] == str((tree / "model.py").resolve())
        assert set(item["location"]) == set(item["end_location"]) == {"row", "column"}
        assert item["noqa_row"] == item["location"]["row"]
        assert item["runtime"] is None
        assert isinstance(item["message"], str) and isinstance(item["why"], str)
    by_code = {(d["code"], d["location"]["row"]): d for d in data}
    alias = by_code[("INI001", 7)]
    assert alias["end_location"] == {"row": 7, "column": 31}
    assert alias["fix"] == {
        "applicability": "safe",
        "message": "Use `xavier_uniform_` (same init, no deprecation warning)",
        "edits": [{"content": "_", "location": {"row": 7, "column": 31},
                   "end_location": {"row": 7, "column": 31}}],  # the minimal edit
    }
    assert by_code[("INI001", 9)]["fix"] is None  # a bare imported name: no fix
    guard = by_code[("INI005", 8)]["fix"]
    assert guard["applicability"] == "safe"
    assert guard["edits"] == [{"content": "if m.bias is not None:\n            ",
                               "location": {"row": 8, "column": 9},
                               "end_location": {"row": 8, "column": 9}}]


def test_json_clean_is_an_empty_list(tree: Path):
    result = invoke(str(tree / "clean.py"), "--output-format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


@pytest.mark.parametrize(("options", "codes"), [
    ((), ["INI001", "INI001", "INI005", "INI006"]),
    (("--select", "INI001"), ["INI001", "INI001"]),
    (("--select", "INI00"), ["INI001", "INI001", "INI005", "INI006"]),
    (("--select", "ini005,INI006"), ["INI005", "INI006"]),
    (("--ignore", "INI001"), ["INI005", "INI006"]),
    (("--ignore", "INI0"), []),
    (("--select", "INI005", "--extend-select", "INI006"), ["INI005", "INI006"]),
    (("--select", "INI1", "--extend-select", "INI001"), ["INI001", "INI001"]),
    (("--select", "ALL", "--ignore", "INI001,INI006"), ["INI005"]),
])
def test_select_ignore_extend_select(tree: Path, options, codes):
    result = invoke(str(tree / "model.py"), "--output-format", "json", *options)
    assert sorted(c for c, _, _ in found(result)) == codes
    assert result.exit_code == (1 if codes else 0)


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_code_is_a_usage_error(tree: Path, option):
    result = invoke(str(tree / "model.py"), option, "INI999")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "unknown rule code" in result.stderr
    assert "INI999" in result.stderr and "Traceback" not in result.output


def test_exit_zero(tree: Path):
    result = invoke(str(tree / "model.py"), "--exit-zero")
    assert result.exit_code == 0 and "INI005" in result.stdout


def test_statistics(tree: Path):
    """Only the table and the summary, as ruff's ``--statistics`` (issue 22 item 8)."""
    result = invoke(str(tree / "model.py"), "--statistics")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "2\tINI001\t[*] deprecated-init-alias",
        "1\tINI005\t[*] unguarded-bias",
        "1\tINI006\t[*] invalid-init-argument",
        "Found 4 findings.",
        "[*] 3 fixable with `initlint --fix`.",  # one INI001 (a bare imported name) has none
    ]


def test_statistics_as_json(tree: Path):
    result = invoke(str(tree / "model.py"), "--statistics", "--output-format", "json")
    assert json.loads(result.stdout) == [
        {"code": "INI001", "name": "deprecated-init-alias", "count": 2, "fixable": True,
         "fixable_count": 1},
        {"code": "INI005", "name": "unguarded-bias", "count": 1, "fixable": True,
         "fixable_count": 1},
        {"code": "INI006", "name": "invalid-init-argument", "count": 1, "fixable": True,
         "fixable_count": 1}]
    assert result.stderr == ""


def test_no_cache_is_accepted(tree: Path):
    with_flag = invoke(str(tree / "model.py"), "--no-cache", "--output-format", "json")
    without = invoke(str(tree / "model.py"), "--output-format", "json")
    assert with_flag.exit_code == 1 and with_flag.stdout == without.stdout


def test_config_option(tree: Path, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("cfg") / "custom.toml"
    elsewhere.write_text('[tool.initlint]\nignore = ["INI001", "INI006"]\n', encoding="utf-8")
    result = invoke(str(tree / "model.py"), "--config", str(elsewhere),
                    "--output-format", "json")
    assert [c for c, _, _ in found(result)] == ["INI005"]


def test_config_option_missing_file(tree: Path):
    result = invoke(str(tree / "model.py"), "--config", str(tree / "nope.toml"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"initlint: error: {tree / 'nope.toml'}: config file not found"


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"initlint {initlint.__version__}"  # as ruff's


def test_help_lists_the_options():
    result = invoke("check", "--help")
    for option in ("--select", "--ignore", "--extend-select", "--output-format",
                   "--exit-zero", "--statistics", "--no-cache", "--config"):
        assert option in result.stdout


def test_internal_error_is_one_line_and_exit_2(tree: Path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(cli, "lint_paths", broken)
    monkeypatch.delenv("INITLINT_TRACEBACK", raising=False)
    result = invoke(str(tree / "model.py"))
    assert result.exit_code == 2
    assert result.stderr == ("initlint: internal error: KeyError: 'boom' (set "
                             "INITLINT_TRACEBACK=1 for the traceback)\n")


# --- a real process: the exit codes a shell and CI see -----------------------------------

def test_exit_codes_in_a_real_process(tree: Path):
    assert run("clean.py", cwd=tree).returncode == 0
    findings = run("model.py", cwd=tree)
    assert findings.returncode == 1 and "INI005" in findings.stdout
    assert run("model.py", "--exit-zero", cwd=tree).returncode == 0
    usage = run("model.py", "--no-such-option", cwd=tree)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    bad_code = run("model.py", "--select", "BOGUS", cwd=tree)
    assert bad_code.returncode == 2 and "Traceback" not in bad_code.stderr
    missing = run("nope.py", cwd=tree)
    assert missing.returncode == 2 and "nope.py: no such file or directory" in missing.stderr
    json_run = run("model.py", "--output-format", "json", cwd=tree)
    assert json_run.returncode == 1 and len(json.loads(json_run.stdout)) == 4


def test_console_script_is_installed(tree: Path):
    script = Path(sys.executable).with_name("initlint")
    if not script.exists():
        pytest.skip("initlint console script not next to this interpreter")
    done = subprocess.run([str(script), "model.py", "--select", "INI005"], cwd=tree,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "INI005" in done.stdout
