"""Ruff's fix settings (``fixable``, ``unfixable``, ``extend-safe-fixes``,
``extend-unsafe-fixes``), the summary that names the hidden unsafe fixes, and INI901
unused-noqa with its fix (issue 22, item 5)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import lint_snippet

from initlint.cli.main import main
from initlint.core.config import Config, ConfigError, load_config
from initlint.engine.fix import fix_text

# INI001 (safe fix), INI206 as a warning (unsafe fix: zero the bias)
MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(128, 10)
            self.out = nn.Linear(10, 10)
            nn.init.xavier_uniform(self.fc.weight)
            nn.init.zeros_(self.out.weight)

        def forward(self, x):
            return self.out(self.fc(x))
""")


def _run(tmp_path: Path, settings: str, *args: str):
    (tmp_path / "pyproject.toml").write_text(f"[tool.initlint]\n{settings}", encoding="utf-8")
    (tmp_path / "model.py").write_text(MODEL, encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        return CliRunner().invoke(main, ["check", "model.py", "--no-cache", *args])
    finally:
        os.chdir(old)


def test_the_four_keys_load_and_unknown_codes_are_errors(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.initlint]\nfixable = ["INI0"]\nunfixable = ["INI001"]\n'
                    'extend-safe-fixes = ["INI206"]\nextend-unsafe-fixes = ["INI005"]\n')
    config = load_config(path)
    assert (config.fixable, config.unfixable, config.extend_safe_fixes,
            config.extend_unsafe_fixes) == (("INI0",), ("INI001",), ("INI206",), ("INI005",))
    path.write_text('[tool.initlint]\nunfixable = ["INI777"]\n')
    with pytest.raises(ConfigError, match="unknown rule code in unfixable: INI777"):
        load_config(path)


def test_the_summary_names_the_hidden_unsafe_fixes(tmp_path: Path):
    result = _run(tmp_path, "")
    assert "[*] 1 fixable with `initlint --fix` (1 more fixable with `--unsafe-fixes`)." \
        in result.output, result.output


def test_unfixable_drops_the_fix_everywhere(tmp_path: Path):
    result = _run(tmp_path, 'unfixable = ["INI001"]\n', "--fix")
    assert "xavier_uniform(self.fc.weight)" in (tmp_path / "model.py").read_text()
    assert "fix (safe)" not in result.output
    result = _run(tmp_path, 'fixable = ["INI2"]\n', "--fix", "--unsafe-fixes")
    text = (tmp_path / "model.py").read_text()
    assert "xavier_uniform(" in text and "zeros_(self.out.bias)" in text


def test_extend_safe_fixes_lets_plain_fix_apply_an_unsafe_one(tmp_path: Path):
    _run(tmp_path, 'extend-safe-fixes = ["INI206"]\n', "--fix")
    assert "nn.init.zeros_(self.out.bias)" in (tmp_path / "model.py").read_text()


def test_extend_unsafe_fixes_holds_a_safe_one_back(tmp_path: Path):
    result = _run(tmp_path, 'extend-unsafe-fixes = ["INI001"]\n')
    assert "No safe fixes (2 more fixable with `--unsafe-fixes`)." in result.output
    _run(tmp_path, 'extend-unsafe-fixes = ["INI001"]\n', "--fix")
    assert "xavier_uniform(self.fc.weight)" in (tmp_path / "model.py").read_text()


# --- INI901 unused-noqa -----------------------------------------------------------------

NOQA = textwrap.dedent("""\
    import torch.nn as nn


    def init(m):
        nn.init.xavier_uniform(m.weight){comment}
""")


@pytest.mark.parametrize(("comment", "after"), [
    ("  # noqa: INI005", ""),
    ("  # noqa: INI005, INI001", "  # noqa: INI001"),
    ("  # noqa: E501, INI005", "  # noqa: E501"),
    ("  # noqa: INI005  # keeps the layout", "  # keeps the layout"),
    ("  # noqa: INI005 because", "  # because"),
    ("  # noqa: INI777", ""),
])
def test_unused_codes_are_reported_and_removed(tmp_path: Path, comment: str, after: str):
    text = NOQA.format(comment=comment)
    config = Config(select=("INI901",))
    findings = lint_snippet(tmp_path, text, config)
    assert [f.code for f in findings] == ["INI901"]
    assert findings[0].fix is not None and findings[0].fix.applicability == "safe"
    fixed = fix_text("m.py", text, config).after
    assert fixed == NOQA.format(comment=after)
    compile(fixed, "m.py", "exec")


@pytest.mark.parametrize("comment", ["  # noqa: INI001", "  # noqa", "  # noqa: E501",
                                     "  # noqa: INI001, INI901"])
def test_used_bare_and_foreign_directives_are_not_reported(tmp_path: Path, comment: str):
    text = NOQA.format(comment=comment)
    assert lint_snippet(tmp_path, text, Config(select=("INI901",))) == []


def test_unused_noqa_is_off_by_default(tmp_path: Path):
    codes = {f.code for f in lint_snippet(tmp_path, NOQA.format(comment="  # noqa: INI005"),
                                          Config())}
    assert "INI001" in codes and "INI901" not in codes
