"""Types: torch's module methods mean torch's methods only on values known to be modules, and
a project class is judged by its own facts, never by a short name it shares with torch."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import ALL_SELECTED

from initlint.engine.lint import parse_source
from initlint.extract.values import ClassRef, ModuleVal
from initlint.files.discover import discover, read_source
from initlint.semantic.project import ProjectFacts


def _project(tmp_path: Path, files: dict[str, str]) -> ProjectFacts:
    package = tmp_path / "speech"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))
    parsed = [parse_source(read_source(p)) for p in discover([str(package)], ALL_SELECTED)]
    return ProjectFacts(p.facts for p in parsed if p.facts is not None)


NORMS = """
    import torch.nn as nn


    class BatchNorm1d(nn.Module):
        '''Batch norm over the channel axis of (batch, time, channels) sequences.'''

        def __init__(self, channels):
            super().__init__()
            self.bn = nn.BatchNorm1d(channels)

        def forward(self, x):
            return self.bn(x.transpose(1, 2)).transpose(1, 2)
"""

MODEL = """
    import torch.nn as nn

    from .norms import BatchNorm1d


    class Frontend(nn.Module):
        def __init__(self, dim=80):
            super().__init__()
            self.stats = nn.BatchNorm1d(dim)
            self.seq_norm = BatchNorm1d(dim)
            self.proj = nn.Linear(dim, dim)
"""


def test_a_project_class_named_like_a_torch_layer_is_its_own_class(tmp_path: Path) -> None:
    """``nn.BatchNorm1d`` is torch's layer even where the project defines a wrapper of that
    name: it holds no ``bn`` child, and the wrapper is no ``nn.BatchNorm1d`` (it has no
    ``weight`` of its own)."""
    project = _project(tmp_path, {"norms.py": NORMS, "model.py": MODEL})
    frontend = project.classes["speech.model.Frontend"]
    paths = {p.path: p.layer.cls for p in project.placed_layers(frontend)}
    assert paths == {"stats": "torch.nn.BatchNorm1d", "seq_norm": "speech.norms.BatchNorm1d",
                     "seq_norm.bn": "torch.nn.BatchNorm1d", "proj": "torch.nn.Linear"}
    wrapper = ModuleVal("speech.norms.BatchNorm1d")
    assert project.evaluator.isinstance(wrapper, ClassRef("torch.nn.BatchNorm1d")) is False
    assert project.evaluator.attribute(wrapper, "weight") is not None  # unknown, not torch's


ROLLOUT = """
    import torch.nn as nn

    from .helpers import named_apply


    def init_leaf(x):
        if isinstance(x, nn.Linear):
            nn.init.orthogonal_(x.weight)


    class Critic(nn.Module):
        def __init__(self, dim=8):
            super().__init__()
            self.fc = nn.Linear(dim, 1)
            named_apply(init_leaf, self)

        def forward(self, tensordict):
            # a TensorDict method, not nn.Module.apply: it maps each leaf tensor
            return tensordict._fast_apply(init_leaf, call_on_nested=True)
"""

HELPERS = """
    def named_apply(fn, module, name=""):
        for child_name, child in module.named_children():
            named_apply(fn, child, name=f"{name}.{child_name}")
        fn(module)
"""


def test_apply_named_methods_of_other_objects_are_not_module_walks(tmp_path: Path) -> None:
    """A project function that takes a callback and a module (``named_apply``) walks modules;
    a method of a value that is not known to be a module (a TensorDict's ``_fast_apply``) does
    not: it is not a module walk of the model."""
    project = _project(tmp_path, {"rollout.py": ROLLOUT, "helpers.py": HELPERS})
    walks = [(caller.qualname if caller else "", walk.call.span.row if walk.call.span else 0)
             for _module, caller, walk in project.per_module_calls
             if walk.callee == "speech.rollout.init_leaf"]
    assert walks == [("speech.rollout.Critic.__init__", 16)]
