"""A model far deeper than any real one still gets its finding, not an INI000: the signal
model multiplies thousands of per-layer factors, past what a float holds."""

from __future__ import annotations

from initlint.core.config import Config
from initlint.engine.lint import lint_text

PAIRS = 5000


def _deep(init: str = "") -> str:
    body = "".join("            nn.Linear(64, 64), nn.ReLU(),\n" for _ in range(PAIRS))
    return ("import torch.nn as nn\n\n\nclass Deep(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.body = nn.Sequential(\n" + body +
            "        )\n" + init + "\n    def forward(self, x):\n        return self.body(x)\n")


def _findings(text: str, code: str) -> list:
    found = lint_text("deep.py", text, Config(select=("INI000", code)))
    assert [f.code for f in found if f.code == "INI000"] == [], found[0].message
    return [f for f in found if f.code == code]


def test_a_sequential_of_5000_linear_relu_pairs_is_ini101() -> None:
    (finding,) = _findings(_deep(), "INI101")
    assert finding.message.startswith(f"{PAIRS} Linear layers with ReLU between them")
    assert "~2.45× per layer" in finding.why and "more than 2e+308×" in finding.why


def test_xavier_on_5000_relu_layers_is_ini102_with_the_true_per_layer_shrink() -> None:
    init = ("        for m in self.modules():\n            if isinstance(m, nn.Linear):\n"
            "                nn.init.xavier_uniform_(m.weight)\n")
    (finding,) = _findings(_deep(init), "INI102")
    assert f"on {PAIRS} layers" in finding.message
    assert "~1.41× per layer" in finding.why  # not "inf×": the total overflows, this does not
