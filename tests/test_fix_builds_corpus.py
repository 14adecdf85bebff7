"""Fixes never break a real model (issue 22), on the ecosystem corpus: every
default-constructible model of each file that ``--fix --unsafe-fixes --select ALL`` changes
still builds after the fix (``scripts/fix_builds_corpus.py``, which builds them in the runtime
mode's isolated children). Slow: it lints a whole package and starts torch children.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/corpus/site")
SCRIPT = ROOT / "scripts" / "fix_builds_corpus.py"

pytest.importorskip("torch")


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="pinned corpus not installed")
def test_fixes_to_a_corpus_package_break_no_model(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "INITLINT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(SCRIPT), str(CORPUS), "--packages", "pytorchcv",
                           "--json", str(out)], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    assert done.returncode in (0, 1), done.stderr
    (report,) = json.loads(out.read_text())
    assert report["package"] == "pytorchcv" and report["files_fixed"], report
    assert report["models_tried"] > 0, report  # the fixed files' models were looked for
    assert report["broken"] == [], report


HEADS = '''\
import torch.nn as nn
from sizes import HIDDEN, CLASSES

from .blocks import mlp


class ClassifierHead(nn.Module):
    def __init__(self, hidden=HIDDEN, classes=CLASSES):
        super().__init__()
        self.body = mlp(hidden)
        self.fc = nn.Linear(hidden, classes)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, x):
        return self.fc(self.body(x))
'''

BLOCKS = '''\
import torch.nn as nn


def mlp(width):
    return nn.Sequential(nn.Linear(width, width), nn.GELU())
'''


def test_a_fixed_package_is_built_from_the_corpus_before_and_after(tmp_path: Path) -> None:
    """A package whose default width comes from another corpus package: its head is built
    from the original and from the fixed copy (INI206 adds the bias init), and still builds."""
    site = tmp_path / "site"
    (site / "headnet").mkdir(parents=True)
    (site / "headnet" / "__init__.py").write_text("")
    (site / "headnet" / "heads.py").write_text(HEADS)
    (site / "headnet" / "blocks.py").write_text(BLOCKS)
    (site / "sizes.py").write_text("HIDDEN = 32\nCLASSES = 4\n")
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "INITLINT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(SCRIPT), str(site), "--packages", "headnet",
                           "--json", str(out)], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (report,) = json.loads(out.read_text())
    assert report["files_fixed"] == ["headnet/heads.py"], report
    assert report["models_built"] == 1 and report["broken"] == [], report
    assert (site / "headnet" / "heads.py").read_text() == HEADS  # the corpus is left as is
