"""INI107 init-ignores-argument: the value a parameter holds once built against the value
its constructor argument asks for, in each construction the project performs; and γ = 1 on
a parameter ``forward`` uses as ``1 + γ``. Equivalent spellings give the same finding."""

from __future__ import annotations

import pytest


def ini107(lint, code: str) -> list[str]:
    """The lines INI107 reports."""
    lines = code.splitlines()
    return sorted(lines[f.span.row - 1].strip() for f in lint(code) if f.code == "INI107")


LAYER_SCALE = """
import torch
import torch.nn as nn


class LayerScale(nn.Module):
    def __init__(self, dim, init_values=1e-5):
        super().__init__()
        self.init_values = init_values
        self.gamma = nn.Parameter({made})
        self.reset_parameters()

    def reset_parameters(self):
        {write}

    def forward(self, x):
        return x * self.gamma
"""


@pytest.mark.parametrize("made", [
    "init_values * torch.ones(dim)",
    "torch.ones(dim) * init_values",
    "torch.full((dim,), init_values)",
])
@pytest.mark.parametrize("write", [
    "nn.init.ones_(self.gamma)",
    "self.gamma.data.fill_(1.0)",
    "nn.init.constant_(self.gamma, 1.0)",
])
def test_a_constant_over_the_argument_made_value_is_reported(lint, made, write):
    code = LAYER_SCALE.format(made=made, write=write)
    assert ini107(lint, code) == [write]


@pytest.mark.parametrize("write", [
    "nn.init.constant_(self.gamma, self.init_values)",
    "self.gamma.data.fill_(self.init_values)",
    "nn.init.trunc_normal_(self.gamma, std=0.02)",
])
def test_writing_the_argument_or_a_draw_is_quiet(lint, write):
    code = LAYER_SCALE.format(made="init_values * torch.ones(dim)", write=write)
    assert ini107(lint, code) == []
    constant = LAYER_SCALE.format(made="init_values * torch.ones(dim)",
                                  write="nn.init.ones_(self.gamma)")
    assert ini107(lint, constant) == ["nn.init.ones_(self.gamma)"]


def test_quiet_when_the_constant_is_what_every_construction_asks_for(lint):
    code = LAYER_SCALE.format(made="init_values * torch.ones(dim)",
                              write="nn.init.ones_(self.gamma)").replace("init_values=1e-5",
                                                                        "init_values=1.0")
    assert ini107(lint, code) == []
    holder = code + """

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ls = LayerScale(64, init_values=1e-6)
"""
    found = [f for f in lint(holder) if f.code == "INI107"]
    assert len(found) == 1 and "as `Block` builds it" in found[0].message
    assert found[0].subject == "model.LayerScale::gamma@1e-06"


def test_a_container_callback_writing_the_constant_is_reported(lint):
    code = """
import math

import torch
import torch.nn as nn


class Head(nn.Module):
    def __init__(self, dim=16, init_logit_scale=math.log(1 / 0.07)):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.logit_scale = nn.Parameter(torch.ones([]) * init_logit_scale)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = Head()
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, Head):
            nn.init.zeros_(m.logit_scale)
            nn.init.xavier_uniform_(m.proj.weight)
            nn.init.zeros_(m.proj.bias)
"""
    assert ini107(lint, code) == ["nn.init.zeros_(m.logit_scale)"]


NORM = """
import torch
import torch.nn as nn


class Norm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.{start}(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * {scale}
"""


@pytest.mark.parametrize("scale", ["(1 + self.weight)", "(self.weight.float() + 1.0)"])
def test_a_unit_offset_norm_started_at_one(lint, scale):
    start = "self.weight = nn.Parameter(torch.ones(dim))"
    assert ini107(lint, NORM.format(start="ones", scale=scale)) == [start]
    assert ini107(lint, NORM.format(start="zeros", scale=scale)) == []


def test_a_plain_norm_started_at_one_is_quiet(lint):
    assert ini107(lint, NORM.format(start="ones", scale="self.weight")) == []
    assert len(ini107(lint, NORM.format(start="ones", scale="(self.weight + 1)"))) == 1


def test_a_torch_norm_subclass_that_adds_one_to_its_weight(lint):
    """The weight nn.LayerNorm builds starts at 1; ``weight + 1`` makes the scale 2."""
    code = """
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm1P(nn.LayerNorm):
    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight + 1, self.bias, self.eps)


class ZeroCentered(LayerNorm1P):
    def __init__(self, dim):
        super().__init__(dim)
        nn.init.zeros_(self.weight)
"""
    found = [f for f in lint(code) if f.code == "INI107"]
    assert [f.message.split("`")[1] for f in found] == ["LayerNorm1P.weight"]


def test_a_unit_offset_that_is_not_a_scale_is_quiet(lint):
    """``log(1 + softplus)``-style offsets are not a multiplicative scale of 1 + value."""
    assert ini107(lint, NORM.format(start="ones",
                                   scale="torch.log(1 + self.weight).sum()")) == []
    assert len(ini107(lint, NORM.format(start="ones", scale="(1 + self.weight)"))) == 1
