"""A loop handing each module of a tree to a function is ``apply`` (project.PerModule).

``for m in x.modules(): fn(m)`` runs ``fn`` once per module of ``x`` exactly like
``x.apply(fn)``; every rule must see the same program whichever way it is spelled, at
module level, in a function, through a typed local, with ``named_modules()``.
"""

from __future__ import annotations

import ast
import textwrap

import pytest
from conftest import lint_snippet

from initlint.extract.extractor import extract
from initlint.semantic.project import ProjectFacts

HEADER = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 2)


def init_linear(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


def init_bn(m):
    if isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)


def ignores(m):
    nn.init.normal_(net.fc.weight)
"""

#: (spelled with apply, spelled as a loop): the same program.
PAIRS = [
    ("net = Net()\nnet.apply(init_linear)\n",
     "net = Net()\nfor m in net.modules():\n    init_linear(m)\n"),
    ("net = Net()\nnet.apply(init_bn)\n",
     "net = Net()\nfor _, mod in net.named_modules():\n    init_bn(mod)\n"),
    ("def build():\n    model = Net()\n    model.apply(init_bn)\n    return model\n",
     "def build():\n    model = Net()\n    for m in model.modules():\n        init_bn(m)\n"
     "    return model\n"),
    ("net = Net()\nnet.apply(ignores)\n",
     "net = Net()\nfor layer in net.modules():\n    ignores(layer)\n"),
    ("Net().apply(init_bn)\n", "for m in Net().modules():\n    init_bn(m)\n"),
]


def _identity(findings) -> list[tuple[str, str]]:
    return sorted((f.code, f.subject) for f in findings)


@pytest.mark.parametrize("applied, looped", PAIRS)
def test_loop_over_modules_is_apply(tmp_path, applied: str, looped: str):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = lint_snippet(tmp_path / "a", HEADER + applied)
    two = lint_snippet(tmp_path / "b", HEADER + looped)
    assert _identity(one) == _identity(two)


def test_pairs_are_not_vacuous(tmp_path):
    """The apply spellings are reported (INI208 on init_bn and on ignores): the comparison
    above would pass trivially if both sides said nothing."""
    codes = {f.code for applied, _ in PAIRS[1:4]
             for f in lint_snippet(tmp_path, HEADER + applied)}
    assert "INI208" in codes


def _walks(code: str):
    text = textwrap.dedent(code)
    facts = extract("m.py", text, ast.parse(text), "m", False)
    project = ProjectFacts([facts])
    return [walk for _module, _caller, walk in project.per_module_calls]


def test_per_module_reads_receiver_parameter_and_source():
    walks = _walks("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 2)
                for m in self.children():
                    self._init(0.02, m)

            def _init(self, std, m):
                nn.init.normal_(m.weight, std=std)

        def init(m):
            pass

        model = Net()
        for name, m in model.named_modules():
            init(m)
        for name, m in model.named_modules():
            init(name)  # the name, not the module: not a walk
        for p in model.parameters():
            init(p)  # parameters: not a walk of modules
    """)
    assert [(w.callee, w.receiver, w.receiver_cls, w.var, w.source, w.alias) for w in walks] \
        == [("m.init", "model", "m.Net", "m", "modules", "m"),
            ("m.Net._init", "self", "", "m", "children", "m")]


def test_unknown_function_in_a_script_loop_stays_local(tmp_path):
    """A function we cannot see, handed each module of an object whose class we do not
    know, makes no model of the package unsure; a visible one that writes the module it is
    handed does (it may be given this model)."""
    model = """
        import torch.nn as nn
        from elsewhere import patch

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 2)
                self.apply(self._init)

            def _init(self, m):
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)

        def fill(m):
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

        def prepare(model):
            for m in model.modules():
                patch(m)
    """
    assert "INI206" in {f.code for f in lint_snippet(tmp_path, model)}
    visible = model.replace("patch(m)", "fill(m)")
    assert "INI206" not in {f.code for f in lint_snippet(tmp_path, visible)}
