"""Fixes never break a model (issue 22): every fixture model that builds with no arguments
still builds after ``--fix --unsafe-fixes --select ALL``, and the fixes that used to break
one (INI101's indexed layers, INI206's unguarded bias, INI207's ``ones_(w, 0)``) hold for
every construction the model allows. Built with real torch.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES
from test_fix_rules import ALL_FILES, _copy, _load
from test_fixtures import UNITS

from initlint.core.config import Config
from initlint.engine.fix import fix_paths
from initlint.files.discover import discover
from initlint.runtime.loader import NO_FORWARD, not_buildable

torch = pytest.importorskip("torch")
nn = torch.nn
ALL = Config(select=("ALL",))


def _build_all(path: Path) -> dict[str, str]:
    """Each nn.Module class of the file that needs no argument (by its signature, not by
    the message of what it raised), built: "ok" or the exception it raised."""
    try:
        module = _load(path)
    except Exception as exc:  # a missing optional package (transformers, gym)
        return {"<import>": f"{type(exc).__name__}: {exc}"}
    out = {}
    for attr, value in sorted(vars(module).items()):
        if not (isinstance(value, type) and issubclass(value, nn.Module)) or \
                value.__module__ != module.__name__ or not_buildable(value) not in ("",
                                                                                   NO_FORWARD):
            continue
        try:
            value()
            out[attr] = "ok"
        except Exception as exc:
            out[attr] = f"{type(exc).__name__}: {exc}"
    return out


def _unit_of(path: Path) -> tuple[str, list[Path]]:
    return next((name, files) for name, files in UNITS if path in files)


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(FIXTURES))
                                                 for p in ALL_FILES])
def test_every_fixture_model_still_builds_after_every_fix(path: Path, tmp_path: Path):
    name, files = _unit_of(path)
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    before_dir.mkdir()
    after_dir.mkdir()
    before_paths = _copy(name, files, before_dir)
    after_paths = _copy(name, files, after_dir)
    fix_paths(discover([str(p) for p in after_paths], ALL), ALL, unsafe=True, jobs=1)
    rel = next(p.relative_to(before_dir) for p in before_paths if p.name == path.name
               and (len(files) == 1 or p.parent.name == path.parent.name))
    before = _build_all(before_dir / rel)
    after = _build_all(after_dir / rel)
    broken = {cls: after.get(cls, "gone") for cls, state in before.items()
              if state == "ok" and after.get(cls) != "ok"}
    assert not broken, broken


def _fix(tmp_path: Path, code: str, select: str = "ALL") -> tuple[str, object]:
    """``code`` after ``--fix --unsafe-fixes`` (``select``): its text and the module."""
    path = tmp_path / f"m{abs(hash(code)) % 10**8}.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    config = Config(select=(select,))
    run = fix_paths([str(path)], config, unsafe=True, jobs=1)
    assert not run.errors, run.errors
    return path.read_text(encoding="utf-8"), _load(path)


# --- INI101: a dispatch that holds for every construction ---------------------------------

BRANCHY = """\
import torch.nn as nn


class Speech(nn.Module):
    def __init__(self, n_input=1, mode="wave"):
        super().__init__()
        if mode == "wave":
            self.layers = nn.Sequential(
                nn.Conv1d(n_input, 32, 5), nn.ReLU(), nn.Conv1d(32, 32, 3), nn.ReLU(),
                nn.Conv1d(32, 32, 3), nn.ReLU(), nn.Conv1d(32, 32, 3), nn.ReLU(),
                nn.Conv1d(32, 8, 1),
            )
        else:
            self.layers = nn.Sequential(
                nn.Conv1d(n_input, 32, 3, bias=False), nn.ReLU(),
                nn.Conv1d(32, 8, 1, bias=False),
            )

    def forward(self, x):
        return self.layers(x)
"""


def test_ini101_fix_builds_under_every_constructor_branch(tmp_path: Path):
    text, module = _fix(tmp_path, BRANCHY, "INI101")
    assert "for m in self.modules():" in text and "is not None" in text, text
    module.Speech()
    module.Speech(mode="mel")  # the other branch: 2 layers, no bias (indexing [4] raised)


LOADS = """\
import torch
import torch.nn as nn


class Upscaler(nn.Module):
    def __init__(self, checkpoint=None):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.ReLU(),
            nn.Conv2d(16, 16, 3), nn.ReLU(), nn.Conv2d(16, 3, 3),
        )
        if checkpoint is not None:
            self.load_state_dict(torch.load(checkpoint))

    def forward(self, x):
        return self.net(x)
"""


def test_ini101_fix_is_not_offered_where_init_loads_weights(tmp_path: Path):
    from conftest import lint_snippet

    findings = lint_snippet(tmp_path, LOADS, Config(select=("INI101",)))
    assert [f.code for f in findings] == ["INI101"]
    assert findings[0].fix is None


# the same program with the load moved out of ``__init__``: into a method it calls, and
# from there into a helper function of the module
LOADS_IN_A_METHOD = LOADS.replace(
    "        if checkpoint is not None:\n"
    "            self.load_state_dict(torch.load(checkpoint))\n",
    "        self._prepare(checkpoint)\n").replace(
    "    def forward(self, x):",
    "    def _prepare(self, checkpoint):\n        if checkpoint is not None:\n"
    "            read_into(self, checkpoint)\n\n    def forward(self, x):") + """

def read_into(model, path):
    model.load_state_dict(torch.load(path))
"""


@pytest.mark.parametrize("code", [LOADS, LOADS_IN_A_METHOD], ids=["in_init", "in_a_helper"])
def test_no_init_is_offered_after_a_load_wherever_init_reaches_it(tmp_path: Path, code: str):
    """Whether building the model loads weights is followed through what ``__init__`` runs
    (methods, super, functions), as the linker follows init code: not read off its text."""
    from conftest import lint_snippet

    assert "read_into" in code or code is LOADS
    findings = lint_snippet(tmp_path, code, Config(select=("INI101",)))
    assert [f.code for f in findings] == ["INI101"]
    assert findings[0].fix is None
    unloaded = code.replace("model.load_state_dict(torch.load(path))", "pass").replace(
        "self.load_state_dict(torch.load(checkpoint))", "pass")
    assert lint_snippet(tmp_path, unloaded, Config(select=("INI101",)))[0].fix is not None


# --- INI206 / INI005: a bias that a construction leaves out -------------------------------

PRENET = """\
import torch
import torch.nn as nn


class LinearNorm(nn.Module):
    def __init__(self, in_dim, out_dim, bias=True, w_init_gain="linear"):
        super().__init__()
        self.linear_layer = nn.Linear(in_dim, out_dim, bias=bias)
        nn.init.xavier_uniform_(
            self.linear_layer.weight, gain=nn.init.calculate_gain(w_init_gain))

    def forward(self, x):
        return self.linear_layer(x)


class Prenet(nn.Module):
    def __init__(self, in_dim=80, sizes=(256, 256)):
        super().__init__()
        in_sizes = [in_dim] + list(sizes[:-1])
        self.layers = nn.ModuleList(
            [LinearNorm(i, o, bias=False) for i, o in zip(in_sizes, sizes)])

    def forward(self, x):
        for linear in self.layers:
            x = torch.relu(linear(x))
        return x
"""


def test_ini206_fix_guards_a_bias_passed_as_an_argument(tmp_path: Path):
    text, module = _fix(tmp_path, PRENET)
    assert "if self.linear_layer.bias is not None:" in text, text
    module.Prenet()
    module.LinearNorm(4, 4)


HELD = """\
import torch.nn as nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        nn.init.xavier_uniform_(self.fc.weight)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = Head()
"""


def test_ini206_fix_of_a_layer_held_by_a_container(tmp_path: Path):
    """The bias guard asks each container how it builds the layer: by the container's
    class, not its name (an AttributeError there made INI206 an INI000)."""
    from conftest import lint_snippet

    findings = lint_snippet(tmp_path, HELD, Config(select=("INI206",)))
    assert [f.code for f in findings] == ["INI206"], findings
    text, module = _fix(tmp_path, HELD, "INI206")
    assert "nn.init.zeros_(self.fc.bias)" in text, text
    module.Net()


def test_ini005_catches_the_unguarded_write_a_container_makes_crash(tmp_path: Path):
    from conftest import lint_snippet

    unguarded = PRENET.replace(
        "gain=nn.init.calculate_gain(w_init_gain))\n",
        "gain=nn.init.calculate_gain(w_init_gain))\n"
        "        nn.init.zeros_(self.linear_layer.bias)\n")
    findings = lint_snippet(tmp_path, unguarded, Config(select=("INI005",)))
    assert [(f.code, f.span.row) for f in findings] == [("INI005", 11)]
    assert "Prenet" in findings[0].message
    text, module = _fix(tmp_path, unguarded, "INI005")
    module.Prenet()
    guarded = lint_snippet(tmp_path, text, Config(select=("INI005",)))
    assert guarded == []


def test_ini207_fix_of_constant_zero_keeps_the_call_valid(tmp_path: Path):
    text, module = _fix(tmp_path, """\
import torch.nn as nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 0)

    def forward(self, x):
        return self.bn(self.conv(x))
""", "INI207")
    assert "constant_(m.weight, 1)" in text, text
    assert torch.equal(module.Head().bn.weight.detach(), torch.ones(8))


# --- INI202 / INI209 agree on weight-normed heads ------------------------------------------

def test_ini202_fix_never_makes_ini209_true(tmp_path: Path):
    """DINO's order (init, then the weight-normed layer) is clean, and ``--fix`` leaves it
    so; it used to move the init past the layer, where INI209 then fired."""
    from conftest import lint_files

    for name in ("reparam_order_clean.py", "reparam_order.py"):
        shutil.copy(FIXTURES / "structure" / name, tmp_path / name)
    clean, buggy = tmp_path / "reparam_order_clean.py", tmp_path / "reparam_order.py"
    fix_paths([str(clean), str(buggy)], ALL, unsafe=True, jobs=1)
    assert lint_files([clean]) == []
    assert clean.read_text() == (FIXTURES / "structure" / "reparam_order_clean.py").read_text()
    assert sorted(f.code for f in lint_files([buggy])) == ["INI202", "INI209"]


def test_inits_appended_to_init_are_not_offered_after_a_load(tmp_path: Path):
    """INI201's call (like INI101's dispatch) would run after the checkpoint is loaded."""
    from conftest import lint_snippet

    code = """\
import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, weights=None):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        if weights:
            self.load_state_dict(torch.load(weights))

    def _init_weights(self):
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(x)
"""
    findings = lint_snippet(tmp_path, code, Config(select=("INI201",)))
    assert [f.code for f in findings] == ["INI201"] and findings[0].fix is None
    unloaded = code.replace("        if weights:\n            self.load_state_dict("
                            "torch.load(weights))\n", "")
    assert lint_snippet(tmp_path, unloaded, Config(select=("INI201",)))[0].fix is not None
