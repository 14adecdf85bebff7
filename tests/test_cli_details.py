"""The command line's everyday details, as a ruff user expects them (issue 22 item 8): the
output format from the config and the environment, ``initlint version`` and ``initlint
help``, help texts with examples that are not cut off, the end of a long report, and a
README that agrees with the tool."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

import initlint
from initlint.checks import ALL_RULES
from initlint.checks.docs import rule_doc
from initlint.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

# One INI001 (a deprecated alias, safely fixable) in a helper of a small model.
MODEL = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform(m.weight)


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.apply(init_weights)
""")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(MODEL, encoding="utf-8")
    return tmp_path


def configure(project: Path, body: str) -> None:
    (project / "pyproject.toml").write_text("[tool.initlint]\n" + body, encoding="utf-8")


def invoke(*args: str, env: dict[str, str | None] | None = None):
    return CliRunner(env=env).invoke(main, list(args), prog_name="initlint")


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# --- output-format: option > INITLINT_OUTPUT_FORMAT > config > text ---------------------

def test_output_format_from_the_config(project: Path):
    configure(project, 'output-format = "json"\n')
    result = invoke(str(project / "model.py"), env={"INITLINT_OUTPUT_FORMAT": None})
    assert result.exit_code == 1 and json.loads(result.stdout)[0]["code"] == "INI001"


def test_the_environment_wins_over_the_config(project: Path):
    configure(project, 'output-format = "json"\n')
    result = invoke(str(project / "model.py"), env={"INITLINT_OUTPUT_FORMAT": "concise"})
    assert result.stdout.startswith(f"{project / 'model.py'}:6:17: INI001 ")


def test_the_option_wins_over_the_environment(project: Path):
    result = invoke(str(project / "model.py"), "--output-format", "json",
                    env={"INITLINT_OUTPUT_FORMAT": "github"})
    assert is_json(result.stdout)


def test_the_environment_alone(project: Path):
    result = invoke(str(project / "model.py"), env={"INITLINT_OUTPUT_FORMAT": "github"})
    assert result.stdout.startswith("::error ")


def test_stdin_takes_the_format_from_the_environment(project: Path):
    result = CliRunner(env={"INITLINT_OUTPUT_FORMAT": "json"}).invoke(
        main, ["-", "--stdin-filename", str(project / "model.py")], input=MODEL)
    assert result.exit_code == 1 and json.loads(result.stdout)[0]["code"] == "INI001"


def test_an_unknown_format_in_the_environment_is_an_error(project: Path):
    result = invoke(str(project / "model.py"), env={"INITLINT_OUTPUT_FORMAT": "xml"})
    assert result.exit_code == 2 and result.stdout == ""
    assert "INITLINT_OUTPUT_FORMAT=xml is not an output format" in result.stderr


def test_an_unknown_format_in_the_config_is_an_error(project: Path):
    configure(project, 'output-format = "xml"\n')
    result = invoke(str(project / "model.py"), env={"INITLINT_OUTPUT_FORMAT": None})
    assert result.exit_code == 2 and "`output-format` must be one of" in result.stderr


# --- --statistics prints only the table ----------------------------------------------------

def test_statistics_prints_no_finding(project: Path):
    result = invoke(str(project / "model.py"), "--statistics", "--output-format", "text")
    assert "xavier_uniform" not in result.stdout and "why" not in result.stdout
    assert result.stdout.splitlines()[0] == "1\tINI001\t[*] deprecated-init-alias"


def test_statistics_from_stdin(project: Path):
    result = CliRunner().invoke(main, ["-", "--stdin-filename", str(project / "model.py"),
                                       "--statistics", "--output-format", "concise"],
                                input=MODEL)
    assert result.stdout.splitlines()[0] == "1\tINI001\t[*] deprecated-init-alias"
    assert "model.py:" not in result.stdout


# --- a long report ends with a short summary -----------------------------------------------

def test_a_long_report_ends_with_the_count_per_rule(tmp_path: Path):
    for i in range(25):
        (tmp_path / f"m{i}.py").write_text(MODEL, encoding="utf-8")
    result = invoke(str(tmp_path), "--output-format", "text", "--no-cache")
    tail = result.stdout.splitlines()[-4:]
    assert tail == ["25\tINI001\t[*] deprecated-init-alias",
                    "(only this table: --statistics; one line per finding: --output-format "
                    "concise)",
                    "Found 25 findings.",
                    "[*] 25 fixable with `initlint --fix`."]


def test_a_short_report_ends_as_before(project: Path):
    result = invoke(str(project / "model.py"), "--output-format", "text")
    assert result.stdout.splitlines()[-2:] == ["Found 1 finding.",
                                               "[*] 1 fixable with `initlint --fix`."]


# --- version and help -----------------------------------------------------------------------

def test_version_command():
    result = invoke("version")
    assert result.exit_code == 0 and result.stdout == f"initlint {initlint.__version__}\n"
    assert json.loads(invoke("version", "--output-format", "json").stdout) == {
        "version": initlint.__version__}
    assert invoke("-V").stdout == result.stdout == invoke("--version").stdout


def test_help_command():
    main_help = invoke("help")
    assert main_help.exit_code == 0 and main_help.stdout == invoke("--help").stdout
    check_help = invoke("help", "check")
    assert check_help.exit_code == 0
    assert check_help.stdout.replace("initlint help check", "") == invoke(
        "check", "--help").stdout.replace("initlint help check", "")
    assert "Usage: initlint check [OPTIONS] [PATHS]..." in check_help.stdout
    unknown = invoke("help", "chek")
    assert unknown.exit_code == 2 and "unknown command `chek`" in unknown.stderr


def test_version_and_help_in_a_real_process(tmp_path: Path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    assert run("version").stdout == f"initlint {initlint.__version__}\n"
    assert "Commands:" in run("help").stdout


def test_command_summaries_are_not_cut_off():
    listing = invoke("--help").stdout
    commands = listing.split("Commands:")[1].split("\n\n")[0]
    for name, command in main.commands.items():
        line = next(line for line in commands.splitlines() if line.split()[:1] == [name])
        assert "..." not in line and command.short_help and command.short_help in line, line


def test_help_texts_have_examples():
    assert "Examples:\n    initlint src/" in invoke("--help").stdout
    check_help = invoke("check", "--help").stdout
    assert "Examples:" in check_help and "initlint check src/ --statistics" in check_help
    assert "INITLINT_OUTPUT_FORMAT" in check_help


def test_every_option_has_help():
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, (name, param.opts)


# --- the README agrees with the tool --------------------------------------------------------

def cli_flags(*commands: click.Command) -> set[str]:
    flags = set()
    for command in commands or [main, *main.commands.values()]:
        for param in command.params:
            if isinstance(param, click.Option):
                flags |= {*param.opts, *param.secondary_opts}
    return flags


def readme_command_flags() -> set[str]:
    """Every flag the README gives to initlint in a command line (code blocks and inline code
    that run initlint)."""
    flags: set[str] = set()
    # every fenced block pairs its own fences (a ```lua block must not shift the pairing)
    commands = [line for info, block in re.findall(r"```([\w-]*)\n(.*?)```", README, re.S)
                if info in ("", "bash", "yaml", "sh") for line in block.splitlines()]
    commands += re.findall(r"`([^`\n]*initlint [^`\n]*)`", README)
    for line in commands:
        at = line.find("initlint ")
        if at < 0 or "pip install" in line:
            continue
        command = re.split(r"\s#|\||&&|>", line[at:])[0]
        flags |= set(re.findall(r"(?<![\w-])-{1,2}[A-Za-z][\w-]*", command))
    return flags


def readme_check_options() -> set[str]:
    """The flags of the README's list of `initlint check`'s options."""
    options = README.split("Options of `initlint check`:")[1].split("\n\n")[0]
    options = options.split("is an option of")[0].rsplit(".", 1)[0]  # not the group's
    flags = set(re.findall(r"`(-{1,2}[A-Za-z][\w-]*)", options))
    return flags | set(re.findall(r"`-{1,2}[\w-]+/(--[\w-]+)", options))


def test_every_flag_the_readme_names_exists():
    flags = readme_command_flags()
    assert {"--statistics", "--output-format", "--fix", "--select"} <= flags
    assert not flags - cli_flags(), flags - cli_flags()


def test_every_option_the_readme_lists_for_check_is_checks():
    listed = readme_check_options()
    assert {"--statistics", "--exit-zero", "--jobs", "-q", "--quiet", "--watch"} <= listed
    assert not listed - cli_flags(main.commands["check"]), listed - cli_flags(
        main.commands["check"])


def test_the_readme_rule_table_agrees_with_the_rules():
    rows = re.findall(r"^\| \[(INI\d{3})\]\(rules/INI\d{3}\.md\) \| ([\w-]+) \| ([\w /]+) \| "
                      r"([\w /—]+) \|", README, re.M)
    assert [code for code, *_ in rows] == list(ALL_RULES)
    for code, name, severity, fix in rows:
        rule = ALL_RULES[code]
        assert name == rule.name, code
        assert rule.severity.value in severity.split(" / "), code
        fixes = set(fix.split(" / ")) - {"—"}
        assert (rule.fix is None) == (not fixes), code
        section = (rule_doc(code) or "").split("## Fix")[1].split("\n## ")[0] if fixes else ""
        for kind in ("safe", "unsafe"):  # the doc's ## Fix says which fixes there are
            said = re.search(rf"\b{kind.capitalize()}\b", section) is not None
            assert said == (kind in fixes), (code, kind)


def readme_ci_workflow() -> dict:
    block = re.search(r"## CI: GitHub code scanning.*?```yaml\n(.*?)```", README, re.S)
    assert block is not None
    return yaml.safe_load(block.group(1))


def test_the_ci_recipe_keeps_errors_visible():
    steps = readme_ci_workflow()["jobs"]["initlint"]["steps"]
    assert not any("continue-on-error" in step for step in steps)
    run = next(step["run"] for step in steps if str(step.get("run", "")).startswith("initlint"))
    assert "--exit-zero" in run
    install = next(step["run"] for step in steps if "pip install" in str(step.get("run", "")))
    assert "git+https://github.com/initlint/initlint" in install  # not on PyPI yet


def test_the_ci_recipe_runs(project: Path):
    """Its command: exit 0 with findings (the SARIF upload runs), exit 2 on an error."""
    steps = readme_ci_workflow()["jobs"]["initlint"]["steps"]
    run = next(step["run"] for step in steps if str(step.get("run", "")).startswith("initlint"))
    args = run.split()[1:]
    result = subprocess.run([sys.executable, "-m", "initlint", *args], cwd=project,
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    sarif = json.loads((project / "initlint.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"][0]["ruleId"] == "INI001"
    configure(project, 'selct = ["INI"]\n')
    broken = subprocess.run([sys.executable, "-m", "initlint", *args], cwd=project,
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert broken.returncode == 2 and "did you mean `select`?" in broken.stderr
