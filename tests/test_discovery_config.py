"""Discovery and configuration as ruff does them (issue 14, items 3 and 4): each file's own
nearest config, excludes for files passed by name (``--force-exclude``), ``.gitignore``
respected, ``--show-files`` and ``--show-settings``."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli.main import main

ALIAS = "import torch.nn as nn\n\n\ndef f(m):\n    nn.init.normal(m.weight)\n"  # INI001
BIAS = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, bias=False)
            self.apply(init_weights)
    """)  # INI005


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def found(*args: str) -> list[tuple[str, str]]:
    result = invoke(*args, "--no-cache", "--output-format", "json")
    assert result.exit_code in (0, 1), result.output
    return sorted((Path(d["filename"]).relative_to(Path.cwd()).as_posix(), d["code"])
                  for d in json.loads(result.stdout))


@pytest.fixture
def two_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``a/`` ignores INI001 in its own config; ``b/`` has none (defaults)."""
    write(tmp_path, {"a/initlint.toml": 'ignore = ["INI001"]\n', "a/alias.py": ALIAS,
                     "a/bias.py": BIAS, "b/alias.py": ALIAS, "b/bias.py": BIAS})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_order_of_paths_changes_nothing(two_projects: Path):
    forward, backward = found("a", "b"), found("b", "a")
    assert forward == backward == [("a/bias.py", "INI005"), ("b/alias.py", "INI001"),
                                   ("b/bias.py", "INI005")]


def test_files_named_one_by_one_take_their_own_config(two_projects: Path):
    assert found("b/alias.py", "a/alias.py") == [("b/alias.py", "INI001")]


def test_a_nested_pyproject_without_the_table_does_not_hide_the_root(tmp_path: Path,
                                                                     monkeypatch):
    write(tmp_path, {"pyproject.toml": '[tool.initlint]\nselect = ["INI005"]\n',
                     "sub/pyproject.toml": '[project]\nname = "sub"\n',
                     "sub/alias.py": ALIAS, "sub/bias.py": BIAS})
    monkeypatch.chdir(tmp_path)
    assert found("sub") == [("sub/bias.py", "INI005")]
    assert found("sub/alias.py", "sub/bias.py") == [("sub/bias.py", "INI005")]


def test_a_nested_config_wins_below_it(tmp_path: Path, monkeypatch):
    write(tmp_path, {"pyproject.toml": '[tool.initlint]\nselect = ["INI005"]\n',
                     "sub/pyproject.toml": '[tool.initlint]\nselect = ["INI001"]\n',
                     "alias.py": ALIAS, "bias.py": BIAS, "sub/alias.py": ALIAS,
                     "sub/bias.py": BIAS})
    monkeypatch.chdir(tmp_path)
    assert found(".") == [("bias.py", "INI005"), ("sub/alias.py", "INI001")]


def test_force_exclude_applies_excludes_to_files_named(tmp_path: Path, monkeypatch):
    write(tmp_path, {"pyproject.toml": '[tool.initlint]\nextend-exclude = ["third_party"]\n',
                     "third_party/vendored.py": ALIAS, "src/alias.py": ALIAS})
    monkeypatch.chdir(tmp_path)
    named = ("third_party/vendored.py", "src/alias.py")
    assert found(*named) == [("src/alias.py", "INI001"), ("third_party/vendored.py", "INI001")]
    assert found("--force-exclude", *named) == [("src/alias.py", "INI001")]
    write(tmp_path, {"pyproject.toml": '[tool.initlint]\nextend-exclude = ["third_party"]\n'
                                       'force-exclude = true\n'})
    assert found(*named) == [("src/alias.py", "INI001")]
    assert found("--no-force-exclude", *named)[-1] == ("third_party/vendored.py", "INI001")


def test_gitignored_files_are_skipped(tmp_path: Path, monkeypatch):
    write(tmp_path, {".gitignore": "generated/\n*_pb2.py\n!keep_pb2.py\n",
                     "generated/alias.py": ALIAS, "src/x_pb2.py": ALIAS,
                     "src/keep_pb2.py": ALIAS, "src/sub/.gitignore": "local.py\n",
                     "src/sub/local.py": ALIAS, "src/alias.py": ALIAS})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    assert found(".") == [("src/alias.py", "INI001"), ("src/keep_pb2.py", "INI001")]
    assert len(found(".", "--no-respect-gitignore")) == 5
    write(tmp_path, {"pyproject.toml": "[tool.initlint]\nrespect-gitignore = false\n"})
    assert len(found(".")) == 5


def test_gitignore_means_nothing_outside_a_repository(tmp_path: Path, monkeypatch):
    write(tmp_path, {".gitignore": "*.py\n", "alias.py": ALIAS})
    monkeypatch.chdir(tmp_path)
    assert found(".") == [("alias.py", "INI001")]


def test_show_files_lists_what_would_be_linted(tmp_path: Path, monkeypatch):
    write(tmp_path, {".gitignore": "generated/\n", "generated/g.py": ALIAS, "src/a.py": ALIAS,
                     "src/b.pyi": "x: int\n", "build/c.py": ALIAS, "notes.txt": ""})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    result = invoke("--show-files", ".")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [str(tmp_path / "src" / "a.py"),
                                          str(tmp_path / "src" / "b.pyi")]


def test_show_settings_names_the_config_file_and_its_settings(two_projects: Path):
    result = invoke("--show-settings", "a/alias.py", "--select", "INI0")
    assert result.exit_code == 0, result.output
    head, body = result.stdout.split("\n", 1)
    assert head == f"Settings for a/alias.py (from {two_projects / 'a' / 'initlint.toml'}):"
    settings = json.loads(body)
    assert settings["ignore"] == ["INI001"] and settings["select"] == ["INI0"]
    assert "INI001" not in settings["enabled"] and "INI005" in settings["enabled"]
    assert settings["respect_gitignore"] is True and settings["force_exclude"] is False


def test_a_broken_nested_config_is_an_error_naming_it(tmp_path: Path, monkeypatch):
    write(tmp_path, {"sub/initlint.toml": "selct = ['INI001']\n", "sub/a.py": ALIAS})
    monkeypatch.chdir(tmp_path)
    result = invoke(".")
    assert result.exit_code == 2
    assert "initlint.toml: unknown key(s)" in result.stderr and "selct" in result.stderr
