"""``[tool.initlint]`` in the nearest pyproject.toml, and ``# noqa`` suppression."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import lint_snippet

from initlint.cli.main import main
from initlint.core.config import Config, ConfigError, find_pyproject, load_config

ALIAS = "import torch.nn as nn\n\n\ndef f(m):\n    nn.init.normal(m.weight){comment}\n"
BIAS = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias){comment}


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, bias=False)
            self.apply(init_weights)
""")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def lint_cli(*args: str) -> tuple[int, list[tuple[str, str]], str]:
    """(exit code, [(file name, code)], stderr) of a CliRunner run with JSON output."""
    result = CliRunner().invoke(main, [*args, "--output-format", "json"])
    items = json.loads(result.stdout) if result.stdout.strip() else []
    return (result.exit_code, sorted((Path(d["filename"]).name, d["code"]) for d in items),
            result.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "pkg" / "alias.py", ALIAS.format(comment=""))
    write(tmp_path / "pkg" / "bias.py", BIAS.format(comment=""))
    write(tmp_path / "pkg" / "tests" / "test_alias.py", ALIAS.format(comment=""))
    return tmp_path


def configure(project: Path, body: str) -> None:
    write(project / "pyproject.toml", "[tool.initlint]\n" + textwrap.dedent(body))


ALL_FOUR = [("alias.py", "INI001"), ("bias.py", "INI005"), ("test_alias.py", "INI001")]


def test_without_config(project: Path):
    assert lint_cli(str(project))[:2] == (1, ALL_FOUR)


@pytest.mark.parametrize(("body", "expected"), [
    ('select = ["INI005"]\n', [("bias.py", "INI005")]),
    ('select = ["INI00"]\n', ALL_FOUR),
    ('ignore = ["INI001"]\n', [("bias.py", "INI005")]),
    ('extend-ignore = ["INI005"]\n', [("alias.py", "INI001"), ("test_alias.py", "INI001")]),
    ('select = ["INI005"]\nextend-select = ["INI001"]\n', ALL_FOUR),
    ('[tool.initlint.per-file-ignores]\n"**/tests/*" = ["INI001"]\n',
     [("alias.py", "INI001"), ("bias.py", "INI005")]),
    ('[tool.initlint.per-file-ignores]\n"pkg/tests/*" = ["INI001"]\n',
     [("alias.py", "INI001"), ("bias.py", "INI005")]),
    ('[tool.initlint.per-file-ignores]\n"tests/*" = ["INI001"]\n', ALL_FOUR),  # root-relative
    ('[tool.initlint.per-file-ignores]\n"bias.py" = ["INI0"]\n',
     [("alias.py", "INI001"), ("test_alias.py", "INI001")]),
    ('exclude = ["tests"]\n', [("alias.py", "INI001"), ("bias.py", "INI005")]),
    ('extend-exclude = ["bias.py", "tests"]\n', [("alias.py", "INI001")]),
    ('extend-exclude = ["pkg/tests/*"]\n', [("alias.py", "INI001"), ("bias.py", "INI005")]),
])
def test_settings(project: Path, body: str, expected):
    configure(project, body)
    code, items, stderr = lint_cli(str(project))
    assert (items, stderr) == (expected, "")
    assert code == (1 if expected else 0)


def test_nearest_pyproject_wins(project: Path):
    configure(project, 'select = ["INI005"]\n')
    write(project / "pkg" / "pyproject.toml", '[tool.initlint]\nselect = ["INI001"]\n')
    assert lint_cli(str(project / "pkg"))[1] == [("alias.py", "INI001"),
                                                 ("test_alias.py", "INI001")]
    assert find_pyproject(project / "pkg" / "alias.py") == project / "pkg" / "pyproject.toml"


def test_pyproject_without_section_is_defaults(project: Path):
    write(project / "pyproject.toml", '[project]\nname = "x"\n')
    assert lint_cli(str(project))[:2] == (1, ALL_FOUR)


def test_command_line_overrides_the_file(project: Path):
    configure(project, 'select = ["INI005"]\nignore = ["INI006"]\n')
    assert lint_cli(str(project), "--select", "INI001")[1] == [("alias.py", "INI001"),
                                                               ("test_alias.py", "INI001")]
    assert lint_cli(str(project), "--ignore", "INI005")[:2] == (0, [])


def test_explicit_file_is_linted_even_if_excluded(project: Path):
    configure(project, 'exclude = ["tests"]\n')
    target = project / "pkg" / "tests" / "test_alias.py"
    assert lint_cli(str(target))[1] == [("test_alias.py", "INI001")]


def test_default_excludes_skip_virtualenvs_and_builds(tmp_path: Path):
    for folder in (".venv", "build", "__pycache__", "node_modules"):
        write(tmp_path / folder / "m.py", ALIAS.format(comment=""))
    write(tmp_path / "src" / "m.py", ALIAS.format(comment=""))
    _, items, _ = lint_cli(str(tmp_path))
    assert items == [("m.py", "INI001")]


@pytest.mark.parametrize(("body", "fragment"), [
    ("bogus = 1\n", "unknown key(s) in [tool.initlint]: bogus"),
    ('select = ["INI999"]\n', "unknown rule code in select: INI999"),
    ('extend-select = ["XYZ1"]\n', "unknown rule code in extend-select: XYZ1"),
    ('[tool.initlint.per-file-ignores]\n"*.py" = ["INI8"]\n',
     "unknown rule code in per-file-ignores: INI8"),
    ("select = 3\n", "`select` must be a list of rule codes"),
    ('exclude = "tests"\n', "`exclude` must be a list of strings"),
    ("min-depth = 1\n", "`min-depth` must be an integer"),
    ('per-file-ignores = ["x"]\n', "`per-file-ignores` must be a table"),
])
def test_config_errors_are_one_line(project: Path, body: str, fragment: str):
    configure(project, body)
    result = CliRunner().invoke(main, [str(project)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"initlint: error: {project / 'pyproject.toml'}: ")
    assert fragment in result.stderr and "Traceback" not in result.output


def test_broken_toml_is_one_line(project: Path):
    write(project / "pyproject.toml", "[tool.initlint\nselect = [\n")
    result = CliRunner().invoke(main, [str(project)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "invalid TOML" in result.stderr


def test_load_config_reads_every_key(tmp_path: Path):
    path = write(tmp_path / "pyproject.toml", """\
        [tool.initlint]
        select = ["ini0"]
        ignore = ["INI001"]
        extend-select = ["INI101"]
        min-depth = 3
        exclude = ["a"]
        extend-exclude = ["b"]

        [tool.initlint.per-file-ignores]
        "tests/*" = ["INI005"]
    """)
    config = load_config(path)
    assert config.select == ("INI0",) and config.ignore == ("INI001",)
    assert config.extend_select == ("INI101",) and config.min_depth == 3
    assert config.exclude == ("a",) and config.extend_exclude == ("b",)
    assert config.per_file_ignores == (("tests/*", ("INI005",)),)
    assert config.root == str(tmp_path.resolve()) and config.source == str(path)
    assert load_config(None) == Config()


def test_load_config_rejects_unknown_keys(tmp_path: Path):
    path = write(tmp_path / "pyproject.toml", "[tool.initlint]\nselct = []\n")
    with pytest.raises(ConfigError, match="selct"):
        load_config(path)


# --- suppression -----------------------------------------------------------------------

@pytest.mark.parametrize(("comment", "kept"), [
    ("", ["INI001"]),
    ("  # noqa", []),
    ("  # noqa: INI001", []),
    ("  #noqa:INI001", []),
    ("  # NOQA: ini001", []),
    ("  # noqa: INI005, INI001", ["INI901"]),  # INI005 suppresses nothing (all selected)
    ("  # noqa: INI005", ["INI001", "INI901"]),
    ("  # noqa: E501", ["INI001"]),
    ("  # expect: INI001", ["INI001"]),
    ("  # some comment  # noqa: INI001", []),
])
def test_noqa_on_the_reported_line(tmp_path: Path, comment: str, kept):
    findings = lint_snippet(tmp_path, ALIAS.format(comment=comment))
    assert [f.code for f in findings] == kept


def test_noqa_on_another_line_does_not_apply(tmp_path: Path):
    text = "import torch.nn as nn  # noqa\n\n\ndef f(m):\n    nn.init.normal(m.weight)\n"
    assert [f.code for f in lint_snippet(tmp_path, text)] == ["INI001"]


def test_noqa_on_a_multi_line_call_goes_on_its_first_line(tmp_path: Path):
    text = ("import torch.nn as nn\n\n\ndef f(m):\n    nn.init.normal(  # noqa: INI001\n"
            "        m.weight,\n    )\n")
    assert lint_snippet(tmp_path, text) == []


def test_noqa_for_one_rule_keeps_the_other(tmp_path: Path):
    findings = lint_snippet(tmp_path, BIAS.format(comment="  # noqa: INI001"))
    assert [f.code for f in findings] == ["INI005", "INI901"]  # INI001 is unused here
    assert lint_snippet(tmp_path, BIAS.format(comment="  # noqa: INI005")) == []


@pytest.mark.parametrize("line", ["# initlint: noqa", "#initlint:noqa", "# INITLINT: NOQA"])
def test_file_level_noqa(tmp_path: Path, line: str):
    text = f"{line}\n" + BIAS.format(comment="") + ALIAS.format(comment="")
    assert lint_snippet(tmp_path, text) == []


def test_file_level_noqa_anywhere_in_the_file(tmp_path: Path):
    text = BIAS.format(comment="") + "# initlint: noqa\n"
    assert lint_snippet(tmp_path, text) == []


def test_noqa_via_the_cli(tmp_path: Path):
    write(tmp_path / "m.py", ALIAS.format(comment="  # noqa: INI001"))
    assert lint_cli(str(tmp_path / "m.py"))[:2] == (0, [])
