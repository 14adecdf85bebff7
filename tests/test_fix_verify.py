"""``--fix --verify`` (issue 22, item 4): the models a fix touches are built before and after
in the runtime mode's child processes; a fix that breaks one, or a safe fix that changes
its initial values, is dropped with a message. Real torch, real children."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_fix_settings import MODEL as SETTINGS_MODEL

from initlint.cli.main import main

pytest.importorskip("torch")

# INI203's fix adds ConvTranspose2d to the dispatch, whose unguarded zeros_(m.bias) then
# meets a layer built with bias=False (INI005 would guard it; it is not selected here).
GAP = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.up = nn.ConvTranspose2d(8, 8, 2, bias=False)
            self.apply(init_weights)

        def forward(self, x):
            return self.up(self.conv(x).relu())
""")

# INI001 (safe: same draw) and INI206 (unsafe: zeroes a bias; made "safe" by the settings):
# the model the fix-settings tests use
HEAD = SETTINGS_MODEL


def _run(tmp_path: Path, text: str, *args: str, settings: str = ""):
    (tmp_path / "pyproject.toml").write_text(f"[tool.initlint]\n{settings}", encoding="utf-8")
    (tmp_path / "model.py").write_text(text, encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["check", "model.py", "--no-cache", *args])
    finally:
        os.chdir(old)
    return result, (tmp_path / "model.py").read_text(encoding="utf-8")


def test_a_fix_that_breaks_the_model_is_dropped(tmp_path: Path):
    _, unverified = _run(tmp_path, GAP, "--select", "INI203", "--fix", "--unsafe-fixes")
    assert "(nn.Conv2d, nn.ConvTranspose2d)" in unverified  # what --verify stops
    result, text = _run(tmp_path, GAP, "--select", "INI203", "--fix", "--unsafe-fixes",
                        "--verify")
    assert text == GAP
    assert "model.py:6:9: INI203 fix dropped (--verify): `model.Decoder` no longer builds: " \
        "AttributeError" in result.output, result.output


def test_a_safe_fix_that_changes_the_draw_is_dropped_and_the_others_kept(tmp_path: Path):
    settings = 'extend-safe-fixes = ["INI206"]\n'
    _, unverified = _run(tmp_path, HEAD, "--fix", settings=settings)
    assert "zeros_(self.out.bias)" in unverified
    result, text = _run(tmp_path, HEAD, "--fix", "--verify", settings=settings)
    assert "zeros_(self.out.bias)" not in text
    assert "xavier_uniform_(self.fc.weight)" in text  # same draw: kept
    assert "INI206 fix dropped (--verify): a safe fix, yet `model.Head` draws different " \
        "initial values under seed 0" in result.output, result.output


def test_diff_verify_shows_only_the_verified_fixes(tmp_path: Path):
    result, text = _run(tmp_path, GAP, "--select", "INI203", "--diff", "--unsafe-fixes",
                        "--verify")
    assert text == GAP and "+++ b/model.py" not in result.output
    assert "INI203 fix dropped (--verify)" in result.output


def test_verify_without_fix_is_a_usage_error(tmp_path: Path):
    result, _ = _run(tmp_path, HEAD, "--verify")
    assert result.exit_code == 2 and "--verify checks fixes" in result.output


def test_editor_fix_all_verifies_when_asked(tmp_path: Path):
    from initlint.lsp.workspace import Linter

    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nextend-safe-fixes = '
                                             '["INI206"]\n', encoding="utf-8")
    path = tmp_path / "model.py"
    path.write_text(HEAD, encoding="utf-8")
    linter = Linter(use_cache=False)
    assert "zeros_(self.out.bias)" in linter.fix_all(str(path), path.as_uri(), HEAD, {})
    linter.verify_fixes = True
    after = linter.fix_all(str(path), path.as_uri(), HEAD, {})
    assert "zeros_(self.out.bias)" not in after and "xavier_uniform_(" in after
