"""The ecosystem check (scripts/ecosystem.py) on a small corpus of its own, and a few real
packages of the pinned corpus linted whole without a crash when it is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from initlint.core.config import Config
from initlint.engine.lint import lint_paths
from initlint.files.discover import discover

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "ecosystem.py"
CORPUS = Path("/work/corpus/site")

MODEL = '''\
import torch.nn as nn


class Gen(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)
        self.norm = nn.InstanceNorm2d(3)
        self.apply(init_gan)


def init_gan(m):
    if isinstance(m, nn.InstanceNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
'''


def _corpus(root: Path) -> Path:
    corpus = root / "site"
    for name in ("alpha", "beta"):
        (corpus / name).mkdir(parents=True)
        (corpus / name / "__init__.py").write_text("")
        (corpus / name / "model.py").write_text(MODEL)
    (corpus / "alpha-1.0.dist-info").mkdir()
    (corpus / "alpha-1.0.dist-info" / "METADATA").write_text("Name: alpha\nVersion: 1.0\n")
    return corpus


def _run(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "INITLINT_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_snapshot_roundtrip_and_a_readable_diff(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    snapshot = tmp_path / "snapshot.json"
    cache = tmp_path / "cache"
    made = _run(str(corpus), "--snapshot", str(snapshot), "--update", cache=cache)
    assert made.returncode == 0, made.stderr
    data = json.loads(snapshot.read_text())
    assert set(data["packages"]) == {"alpha", "beta"}
    rows = data["packages"]["alpha"]["findings"]
    assert rows and all(r[1].startswith("alpha/") for r in rows)
    same = _run(str(corpus), "--snapshot", str(snapshot), cache=cache)
    assert same.returncode == 0 and same.stdout == "", same.stdout + same.stderr
    assert "no change" in same.stderr
    model = corpus / "beta" / "model.py"
    model.write_text(MODEL.replace("if isinstance(m, nn.InstanceNorm2d):",
                                   "if isinstance(m, nn.InstanceNorm2d) and m.affine:"))
    changed = _run(str(corpus), "--snapshot", str(snapshot), cache=cache)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "--- beta:" in changed.stdout and "\n- beta/model.py:" in changed.stdout
    assert "alpha" not in changed.stdout
    assert "per rule:" in changed.stdout


def test_missing_corpus_says_how_to_install_it(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "nothing"), cache=tmp_path / "cache")
    assert result.returncode == 2
    assert "pip install --no-deps --target" in result.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="pinned corpus not installed")
@pytest.mark.parametrize("package", ["segmentation_models_pytorch", "recbole", "torchgan",
                                     "basicsr", "pytorchcv"])
def test_real_packages_lint_whole_without_internal_errors(package: str) -> None:
    config = Config(select=("ALL",))
    result = lint_paths(discover([str(CORPUS / package)], config), config, jobs=2)
    assert result.files > 0 and result.parsed > 0
    internal = [f for f in result.findings if "internal error" in f.message]
    assert not internal, internal[:3]
