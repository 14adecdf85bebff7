"""Init code followed wherever it runs, with the values bound at its call site (issue 18).

The evaluator runs the project's own functions (a helper's return value, a factory's
closure, ``functools.partial``, a registry lookup) and the linker runs scripts and builders
on the models their locals hold. Every run is bounded; past a bound the answer is unknown,
never an absence.
"""

from __future__ import annotations

import ast
import textwrap
import time
from pathlib import Path

from conftest import lint_files

from initlint.core.config import Config
from initlint.extract.extractor import extract
from initlint.extract.facts import UNKNOWN
from initlint.extract.values import ClassRef, Closure, ModuleVal, OneOf
from initlint.semantic.project import ProjectFacts

UNINIT = Config(select=("INI007",))


def _project(**files: str) -> ProjectFacts:
    facts = []
    for name, source in files.items():
        text = textwrap.dedent(source)
        facts.append(extract(f"{name}.py", text, ast.parse(text), f"pkg.{name}", False))
    return ProjectFacts(facts)


def _globals(project: ProjectFacts, module: str) -> dict[str, object]:
    """What the evaluator makes of each module-level name the module assigns a call or a
    dict (the values a script's locals hold)."""
    script = next(f.script for f in project.files if f.module == module)
    assert script is not None
    return {name: project.evaluator.bounded(expr, {}) for name, expr in script.instances}


def test_the_evaluator_runs_project_functions_with_their_arguments():
    project = _project(utils="""
        import functools
        import torch.nn as nn

        def get_nn_name(name):
            return {"relu": "ReLU", "tanh": "Tanh"}[name.lower()]

        def weight_init(module=nn.Conv2d, initf=nn.init.kaiming_normal_):
            def init(m):
                if isinstance(m, module):
                    initf(m.weight)
            return init

        def init_params(module, init_fn):
            init_fn(module.weight)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 2)

        def build(width):
            return Net()

        MODELS = dict(net=Net)
        INITS = {"xavier": nn.init.xavier_uniform_}

        name = get_nn_name("RELU")
        callback = weight_init(module=nn.Linear, initf=INITS["xavier"])
        bound = functools.partial(init_params, init_fn=getattr(nn.init, "orthogonal_"))
        model = build(64).to("cpu")
        picked = MODELS[flag](3)
    """)
    values = _globals(project, "pkg.utils")
    assert values["name"] == "ReLU"
    assert values["callback"] == Closure("pkg.utils.weight_init.init", (
        ("initf", ClassRef("torch.nn.init.xavier_uniform_")),
        ("module", ClassRef("torch.nn.Linear"))))
    assert values["bound"] == Closure("pkg.utils.init_params", (
        ("init_fn", ClassRef("torch.nn.init.orthogonal_")),))
    assert values["model"] == ModuleVal("pkg.utils.Net")
    # a registry looked up by a key nobody can know: one of its classes was built
    assert values["picked"] == OneOf((ModuleVal("pkg.utils.Net"),))


def test_evaluation_is_bounded_and_its_bound_is_unknown():
    # each line reads the local twice: the inlined expression shares subtrees and doubles
    doubling = "".join("n = twice(n + n)\n" for _ in range(30))
    project = _project(loop=textwrap.dedent("""
        def forever(n):
            return forever(n + 1)

        def twice(x):
            return x + x

        x = twice("a")
        for _ in range(3):
            x = twice(twice(twice(twice(x))))
        deep = forever(0)
        long = twice(twice(twice(twice(twice(twice(twice(twice(x))))))))
        n = twice(1)
    """) + doubling)
    start = time.perf_counter()
    values = _globals(project, "pkg.loop")
    assert time.perf_counter() - start < 5
    assert values["deep"] is UNKNOWN  # recursion: past the depth bound
    assert values["long"] is UNKNOWN  # past the size bound
    assert values["n"] is UNKNOWN  # past the step bound


def test_a_script_initializing_the_model_writes_its_parameters(tmp_path: Path):
    """``model = Net()`` then a helper handed the model: the raw parameter is written, so it
    is not reported as left uninitialized (the old linker never ran the script)."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(torch.empty(8, 8))

            def forward(self, x):
                return x @ self.w
    """))
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from .model import Net

        def init_all(model):
            nn.init.orthogonal_(model.w)

        if __name__ == "__main__":
            net = Net()
            init_all(net)
    """))
    assert lint_files([tmp_path], UNINIT) == []


def test_a_call_chain_past_the_depth_bound_is_unknown_not_absent(tmp_path: Path):
    """The same write behind more helpers than the linker follows: it cannot say the
    parameter is written, and it does not say it is not."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(torch.empty(8, 8))

            def forward(self, x):
                return x @ self.w
    """))
    chain = "\n".join(f"def step{i}(model):\n    step{i + 1}(model)\n" for i in range(20))
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from .model import Net

    """) + chain + textwrap.dedent("""
        def step20(model):
            nn.init.orthogonal_(model.w)

        if __name__ == "__main__":
            step0(Net())
            net = Net()
            step0(net)
    """))
    assert lint_files([tmp_path], UNINIT) == []
