"""Absence is claimed only when every write that could reach a parameter is known: torch's
own resets are known writes (checked against the installed torch's source), and code we
cannot see is unknown for what it is handed, never for the whole class."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest

from initlint.core import torch_api as api
from initlint.extract.extractor import extract
from initlint.semantic.module_calls import method_writes
from initlint.semantic.project import ProjectFacts


def _project(code: str) -> ProjectFacts:
    text = textwrap.dedent(code)
    return ProjectFacts([extract("m.py", text, ast.parse(text), "m", False)])


def _reset_source(cls: type) -> str:
    """The source ``cls().reset_parameters()`` runs: its own, and the ``super()`` ones it
    calls (lazy layers hand on to the eager one)."""
    out = []
    for klass in cls.__mro__:
        if "reset_parameters" in vars(klass):
            source = inspect.getsource(vars(klass)["reset_parameters"])
            out.append(source)
            if "super().reset_parameters()" not in source:
                break
    return "\n".join(out)


@pytest.mark.parametrize("name", sorted(api.TORCH_RESETS))
def test_torch_resets_are_what_torch_draws(name: str):
    torch = pytest.importorskip("torch")
    cls = getattr(torch.nn, name.rsplit(".", 1)[-1])
    source = _reset_source(cls)
    walks_all = "self.parameters()" in source
    assert (api.TORCH_RESETS[name] == ("*",)) == walks_all
    if not walks_all:
        written = set(re.findall(r"self\.(weight|bias)\b", source))
        assert written == set(api.TORCH_RESETS[name])
    rezeroes = "_fill_padding_idx_with_zero" in source
    assert rezeroes == (name in api.RESET_REZEROES_PADDING)


def test_method_writes_follows_the_class():
    project = _project("""
        import torch
        import torch.nn as nn

        class Peephole(nn.LSTMCell):
            pass

        class Scored(nn.Linear):
            pass

        class Own(nn.Linear):
            def reset_parameters(self):
                nn.init.zeros_(self.weight)

        class Plain(nn.Module):
            pass
    """)
    index = project.index
    assert method_writes(index, "m.Peephole", "reset_parameters") == ("*",)
    assert method_writes(index, "m.Scored", "reset_parameters") == ("weight", "bias")
    assert method_writes(index, "m.Own", "reset_parameters") is None
    assert method_writes(index, "m.Own", "reset_parameters", own=False) == ("weight", "bias")
    assert method_writes(index, "m.Plain", "reset_parameters") == ()
    assert method_writes(index, "torch.nn.LSTM", "flatten_parameters") == ()
    assert method_writes(index, "torch.nn.Linear", "load_state_dict") == ("?",)
    assert method_writes(index, "pkg.Unseen", "reset_parameters") == ("?",)


def test_unknown_stays_with_what_it_was_handed():
    """A function we cannot see, handed one submodule: that submodule's parameters are
    unknown; the sibling's and the model's other parameters stay known."""
    project = _project("""
        import torch.nn as nn
        from elsewhere import fancy_init

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
                self.head = nn.Linear(4, 2)
                fancy_init(self.encoder)
                nn.init.zeros_(self.head.weight)
    """)
    cls = project.classes["m.Net"]
    effective = project.effective(cls)
    placed = project.placed_by_path(cls)
    assert not effective.opaque
    assert effective.writes(placed["encoder.0"], "weight").possible
    head_weight = effective.writes(placed["head"], "weight")
    assert head_weight.sites and not head_weight.possible
    assert not effective.writes(placed["head"], "bias").possible


def test_reset_on_each_module_writes_what_its_class_resets():
    """``m.reset_parameters()`` under a type test: the modules it lets through get torch's
    draw of their reset's parameters, the others nothing."""
    project = _project("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(10, 4, padding_idx=0)
                self.rnn = nn.GRU(4, 4)
                self.out = nn.Linear(4, 2)
                for m in self.modules():
                    if isinstance(m, (nn.Embedding, nn.GRU)):
                        m.reset_parameters()
    """)
    cls = project.classes["m.Net"]
    effective = project.effective(cls)
    placed = project.placed_by_path(cls)
    assert [s.style for s in effective.writes(placed["emb"], "weight").sites] == ["reset"]
    assert effective.writes(placed["rnn"], "weight_hh_l0").sites
    out = effective.writes(placed["out"], "weight")
    assert not out.sites and not out.possible
