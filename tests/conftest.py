"""Shared helpers: lint a snippet or a set of files with the real engine, all rules on."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.engine.lint import lint_paths
from initlint.files.discover import discover

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

#: Every registered rule, the off-by-default ones included.
ALL_SELECTED = Config(select=("ALL",))


#: Fixtures that attack the process importing them (os._exit, forks, hangs): only initlint's
#: isolated runtime children may build them; a test that imports fixtures must skip these.
ATTACKS_THEIR_IMPORTER = FIXTURES / "runtime" / "hostile"


def safe_to_import(path: Path) -> bool:
    return not Path(path).resolve().is_relative_to(ATTACKS_THEIR_IMPORTER.resolve())


def lint_files(paths: list[str | Path], config: Config = ALL_SELECTED) -> list[Finding]:
    """Lint the given files (or directories) as one project, in this process."""
    files = discover([str(p) for p in paths], config)
    return lint_paths(files, config, jobs=1).findings


def lint_snippet(directory: Path, code: str, config: Config = ALL_SELECTED,
                 name: str = "model.py") -> list[Finding]:
    """Write ``code`` (dedented) to ``directory/name`` and lint it."""
    path = directory / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return lint_files([path], config)


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


@pytest.fixture
def lint(tmp_path: Path):
    """``lint(code)`` → findings of that snippet, every rule selected."""

    def run(code: str, config: Config = ALL_SELECTED, name: str = "model.py") -> list[Finding]:
        return lint_snippet(tmp_path, code, config, name)

    return run
