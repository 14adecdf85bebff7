"""The weightless factors of the signal model (torch_api.SIGNAL_FACTORS) are measurements:
re-measure each with real torch on ReLU feature maps and check the table's range holds it,
and check the static chain reads pooling as a factor, not a break."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from conftest import lint_snippet  # noqa: E402

from initlint.core import torch_api as api  # noqa: E402
from initlint.semantic.signal import factor_of  # noqa: E402

F = torch.nn.functional


def _maps(correlated: bool):
    torch.manual_seed(0)
    if correlated:
        x = F.interpolate(torch.randn(8, 16, 8, 8), size=32, mode="bilinear",
                          align_corners=False)
        x = x / x.std()
    else:
        x = torch.randn(8, 16, 32, 32)
    return F.relu(x)


OPS = {
    "torch.nn.functional.max_pool2d": lambda t: F.max_pool2d(t, 2),
    "torch.nn.functional.avg_pool2d": lambda t: F.avg_pool2d(t, 2),
    "torch.nn.functional.adaptive_avg_pool2d": lambda t: F.adaptive_avg_pool2d(t, 1),
    "torch.nn.functional.adaptive_max_pool2d": lambda t: F.adaptive_max_pool2d(t, 1),
    "torch.nn.functional.interpolate": lambda t: F.interpolate(t, scale_factor=2),
    "torch.flatten": lambda t: torch.flatten(t, 1),
}


def _rms(t) -> float:
    return t.pow(2).mean().sqrt().item()


@pytest.mark.parametrize("name", sorted(OPS))
def test_table_range_holds_the_measured_factor(name: str):
    spec = api.SIGNAL_FACTORS[name]
    with torch.no_grad():
        for correlated in (True, False):
            x = _maps(correlated)
            measured = _rms(OPS[name](x)) / _rms(x)
            assert spec.low * 0.9 <= measured <= spec.high * 1.1, (name, correlated, measured)


def test_dropout_factor_follows_p_and_mode():
    torch.manual_seed(0)
    x = _maps(False)
    with torch.no_grad():
        measured = _rms(F.dropout(x, 0.2, training=True)) / _rms(x)
    assert factor_of("torch.nn.functional.dropout", {"1": 0.2}).low == pytest.approx(
        measured, rel=0.02)
    assert factor_of("torch.nn.functional.dropout", {"training": False}).high == 1.0
    bilinear = factor_of("torch.nn.functional.interpolate", {"mode": "bilinear"})
    assert bilinear.low < 1.0 == factor_of("torch.nn.functional.interpolate", {}).low


POOLED = """
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3)
        self.c2 = nn.Conv2d(32, 32, 3)
        self.c3 = nn.Conv2d(32, 32, 3)
        self.c4 = nn.Conv2d(32, 32, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.c3(x))
        return self.c4(x)
"""


def test_a_pool_between_default_layers_no_longer_ends_the_chain(tmp_path):
    findings = [f for f in lint_snippet(tmp_path, POOLED) if f.code == "INI101"]
    assert len(findings) == 1
    assert "max-pool" in findings[0].why and "do not rescue it" in findings[0].why
    normed = POOLED.replace("F.relu(self.c1(x))", "F.relu(self.bn(self.c1(x)))").replace(
        "self.c4 = nn.Conv2d(32, 32, 3)",
        "self.c4 = nn.Conv2d(32, 32, 3)\n        self.bn = nn.BatchNorm2d(32)")
    findings = [f for f in lint_snippet(tmp_path, normed) if f.code == "INI101"]
    assert findings == []  # a norm cuts the chain to 3 layers: below min-depth
