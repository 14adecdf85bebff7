"""Every fix measured: applied to the fixtures, re-linted, and the fixed models built with
real torch.

- For each fixture unit with fixes: ``--fix --unsafe-fixes`` removes every finding that had
  a fix, adds none, and a second run changes nothing.
- Safe fixes (issue 14): every fixture model that builds before ``--fix`` still builds after
  it and, under a fixed seed, starts from exactly the same weights.
- Where a rule has a runtime confirmation, the fixed model is built and its numbers are
  healthy: the collapse gone, γ around 1, the padding row zero, the residual stream bounded.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, safe_to_import
from test_fixtures import UNITS, parse_header

from initlint.checks import ALL_RULES
from initlint.core.config import Config
from initlint.engine.fix import applicable, fix_paths, with_edits_from_files
from initlint.engine.lint import lint_paths
from initlint.files.discover import discover

torch = pytest.importorskip("torch")
nn = torch.nn


def _copy(unit: str, files: list[Path], tmp: Path) -> list[Path]:
    """The unit's files under ``tmp`` (a package keeps its directory)."""
    first = files[0]
    if len(files) > 1 or (first.parent / "__init__.py").is_file():
        root = FIXTURES / unit
        shutil.copytree(root, tmp / root.name)
        return sorted((tmp / root.name).rglob("*.py"))
    shutil.copy(first, tmp / first.name)
    return [tmp / first.name]


def _lint(paths: list[Path], config: Config):
    files = discover([str(p) for p in paths], config)
    return lint_paths(files, config, jobs=1).findings


def _key(finding) -> tuple[str, str, str]:
    """A finding's identity across a fix: rows and numbers in the message move."""
    return (Path(finding.path).name, finding.code, re.sub(r"\d+", "#", finding.message))


FIXABLE = [u for u in UNITS if not all(parse_header(p.read_text())[1] for p in u[1])]


@pytest.mark.parametrize("unit", FIXABLE, ids=[u[0] for u in FIXABLE])
def test_fix_removes_its_finding_and_adds_none(unit, tmp_path: Path):
    name, files = unit
    config = parse_header(files[0].read_text(encoding="utf-8"))[0]
    paths = _copy(name, files, tmp_path)
    before = with_edits_from_files(_lint(paths, config))
    fixable = [f for f in before if applicable(f.fix, unsafe=True)]
    if not fixable:
        pytest.skip("no fix in this unit")
    files_ = discover([str(p) for p in paths], config)
    run = fix_paths(files_, config, unsafe=True, jobs=1)
    assert run.errors == [], run.errors
    after = _lint(paths, config)
    gone = Counter(_key(f) for f in before) - Counter(_key(f) for f in after)
    new = Counter(_key(f) for f in after) - Counter(_key(f) for f in before)
    assert not new, f"the fixes introduced findings: {sorted(new)}"
    still = [_key(f) for f in fixable if _key(f) not in gone]
    assert not still, f"fixed but still reported: {still}"
    for path in paths:  # every fixed file parses and a second run changes nothing
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    again = fix_paths(files_, config, unsafe=True, jobs=1)
    assert again.changed == []


def test_at_least_fourteen_rules_carry_a_fix_and_each_is_exercised(tmp_path: Path):
    declared = {code for code, r in ALL_RULES.items() if r.fix}
    assert len(declared) >= 14, sorted(declared)
    seen: set[str] = set()
    for name, files in FIXABLE:
        config = parse_header(files[0].read_text(encoding="utf-8"))[0]
        unit_dir = tmp_path / uuid.uuid4().hex
        unit_dir.mkdir()
        paths = _copy(name, files, unit_dir)
        seen |= {f.code for f in with_edits_from_files(_lint(paths, config))
                 if applicable(f.fix, unsafe=True)}
    assert declared <= seen, f"declared but never produced on a fixture: {declared - seen}"


# --- building the models ---------------------------------------------------------------------

def _load(path: Path):
    """Import a fixture file as a fresh module (its package's siblings importable)."""
    root = path.parent
    package = []
    while (root / "__init__.py").is_file():
        package.insert(0, root.name)
        root = root.parent
    name = ".".join([*package, path.stem]) if package else f"fx_{uuid.uuid4().hex}"
    sys.path.insert(0, str(root))
    try:
        for loaded in [m for m in sys.modules if package and m.split(".")[0] == package[0]]:
            del sys.modules[loaded]
        if package:
            return importlib.import_module(name)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(root))


def _build_all(path: Path) -> dict[str, object]:
    """Each nn.Module class of the file built with no arguments under seed 0: its state
    (name → tensor) or the exception type's name when it cannot be built."""
    try:
        module = _load(path)
    except Exception as exc:  # the file itself crashes on import
        return {"<import>": type(exc).__name__}
    out: dict[str, object] = {}
    for attr, value in sorted(vars(module).items()):
        if not (isinstance(value, type) and issubclass(value, nn.Module)) or \
                value.__module__ != module.__name__:
            continue
        torch.manual_seed(0)
        deterministic = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)  # torch.empty fills with NaN: comparable
        try:
            model = value()
        except TypeError as exc:
            if "argument" in str(exc):
                continue  # needs constructor arguments: not buildable here
            out[attr] = type(exc).__name__
            continue
        except Exception as exc:
            out[attr] = type(exc).__name__
            continue
        finally:
            torch.use_deterministic_algorithms(deterministic)
        out[attr] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        torch.equal(torch.nan_to_num(a[k]), torch.nan_to_num(b[k])) for k in a)


ALL_FILES = [p for _, files in UNITS for p in files if safe_to_import(p)]


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(FIXTURES))
                                                 for p in ALL_FILES])
def test_safe_fixes_keep_every_model_building_with_the_same_weights(path: Path,
                                                                    tmp_path: Path):
    unit = next((name, files) for name, files in UNITS if path in files)
    config = Config(select=("ALL",))
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    before_dir.mkdir()
    after_dir.mkdir()
    before_paths = _copy(unit[0], unit[1], before_dir)
    after_paths = _copy(unit[0], unit[1], after_dir)
    run = fix_paths(discover([str(p) for p in after_paths], config), config, unsafe=False,
                    jobs=1)
    rel = path.relative_to(FIXTURES / unit[0]) if path != FIXTURES / unit[0] else Path(path.name)
    target_before = next(p for p in before_paths if p.name == path.name and
                         p.parent.name == (rel.parent.name or p.parent.name))
    target_after = after_dir / target_before.relative_to(before_dir)
    before = _build_all(target_before)
    after = _build_all(target_after)
    for name, state in before.items():
        if isinstance(state, str):
            continue  # crashed before the fix (what INI0xx fixes stop)
        assert name in after and isinstance(after[name], dict), \
            f"{name} built before --fix and not after: {after.get(name)} ({run.fixed} fixes)"
        assert _same(state, after[name]), f"{name}: a safe fix changed the initial weights"


# --- the numbers after each rule's fix ------------------------------------------------------

def _fixed(tmp_path: Path, fixture: str, select: str | None = None):
    """The fixture after ``--fix --unsafe-fixes`` (only ``select`` when given), loaded."""
    src = FIXTURES / fixture
    path = tmp_path / src.name
    shutil.copy(src, path)
    config = Config(select=tuple(select.split(","))) if select else \
        parse_header(src.read_text(encoding="utf-8"))[0]
    fix_paths([str(path)], config, unsafe=True, jobs=1)
    return _load(src), _load(path)


def _output_std(model, shape) -> float:
    torch.manual_seed(1)
    model.train()
    with torch.no_grad():
        return float(model(torch.randn(*shape)).std())


def test_ini101_fix_ends_the_collapse(tmp_path: Path):
    before, after = _fixed(tmp_path, "signal/deep_stack_default.py")
    for name, shape, healthy in (("SequentialMLP", (256, 784), 0.5),
                                 ("ForwardMLP", (256, 128), 0.5),
                                 ("ModuleListTanh", (256, 64), 0.2),
                                 ("AppendedLayers", (256, 64), 0.3)):
        torch.manual_seed(0)
        old = _output_std(getattr(before, name)(), shape)
        torch.manual_seed(0)
        new = _output_std(getattr(after, name)(), shape)
        assert new > healthy and new > 2 * old, (name, old, new)


def test_ini101_runtime_fixture_collapse_gone(tmp_path: Path):
    before, after = _fixed(tmp_path, "runtime/deep_relu.py", "INI101")
    cls = next(v for k, v in vars(after).items() if isinstance(v, type)
               and issubclass(v, nn.Module) and v.__module__ == after.__name__)
    width = cls().fc1.in_features
    torch.manual_seed(0)
    old = _output_std(getattr(before, cls.__name__)(), (512, width))
    torch.manual_seed(0)
    new = _output_std(cls(), (512, width))
    assert old < 0.1 and 0.4 < new < 3, (old, new)


def test_ini104_fix_bounds_the_residual_stream(tmp_path: Path):
    before, after = _fixed(tmp_path, "signal/residual_unscaled.py")
    torch.manual_seed(0)
    old = _output_std(before.ResMLP(), (256, 256))
    torch.manual_seed(0)
    new = _output_std(after.ResMLP(), (256, 256))
    assert old > 10 and 0.8 < new < 1.25, (old, new)


def _snippet(tmp_path: Path, code: str, select: str):
    """A model file before and after ``--fix --unsafe-fixes`` restricted to ``select``."""
    before, after = tmp_path / "before.py", tmp_path / "after.py"
    before.write_text(code, encoding="utf-8")
    after.write_text(code, encoding="utf-8")
    run = fix_paths([str(after)], Config(select=(select,)), unsafe=True, jobs=1)
    assert run.fixed >= 1 and not run.errors, run.errors
    return _load(before), _load(after), after.read_text(encoding="utf-8")


DCGAN = """\
import torch.nn as nn


def weights_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    if isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.constant_(m.bias, 0)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 64, 4, 2, 1), nn.BatchNorm2d(64),
                                 nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                                 nn.BatchNorm2d(128))
        self.apply(weights_init)
"""


def test_ini207_fix_draws_gamma_around_one(tmp_path: Path):
    before, after, _ = _snippet(tmp_path, DCGAN, "INI207")
    for module, low, high in ((before, -0.1, 0.1), (after, 0.95, 1.05)):
        torch.manual_seed(0)
        model = module.Discriminator()
        gammas = torch.cat([m.weight.detach() for m in model.modules()
                            if isinstance(m, nn.BatchNorm2d)])
        assert low < gammas.mean().item() < high
        assert gammas.std().item() == pytest.approx(0.02, rel=0.2)
        convs = [m.weight.detach() for m in model.modules() if isinstance(m, nn.Conv2d)]
        assert all(abs(w.mean().item()) < 0.01 for w in convs)  # convs untouched


def test_ini205_fix_keeps_the_padding_row_zero(tmp_path: Path):
    before, after = _fixed(tmp_path, "coverage/padding_idx.py")
    torch.manual_seed(0)
    assert before.SASRec().item_embedding.weight[0].abs().sum() > 0
    torch.manual_seed(0)
    fixed = after.SASRec()
    assert torch.count_nonzero(fixed.item_embedding.weight[0]) == 0
    assert fixed.item_embedding.weight[1:].std().item() == pytest.approx(0.02, rel=0.1)


def test_ini206_fix_guards_modules_without_a_bias(tmp_path: Path):
    """Issue 14: the fix wrote ``m.bias`` on an Embedding branch (AttributeError)."""
    before, after, text = _snippet(tmp_path, """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 128)
        self.fc = nn.Linear(128, 10)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.01)
""", "INI206")
    assert 'if getattr(m, "bias", None) is not None:' in text
    torch.manual_seed(0)
    assert torch.count_nonzero(before.Net().fc.bias) > 0
    torch.manual_seed(0)
    fixed = after.Net()  # builds: the Embedding branch no longer reads m.bias
    assert torch.count_nonzero(fixed.fc.bias) == 0


def test_ini206_has_no_fix_in_a_parameter_loop(tmp_path: Path):
    """Issue 14: the fix wrote ``p.bias`` on a tensor of a named_parameters() loop."""
    path = tmp_path / "m.py"
    path.write_text("""\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 10)
        for name, p in self.named_parameters():
            if name.endswith("weight"):
                nn.init.normal_(p, 0.0, 0.01)
""", encoding="utf-8")
    findings = with_edits_from_files(_lint([path], Config(select=("INI206",))))
    assert [f.code for f in findings] == ["INI206"]
    assert findings[0].fix is None
    run = fix_paths([str(path)], Config(select=("INI206",)), unsafe=True, jobs=1)
    assert run.fixed == 0 and "p.bias" not in path.read_text(encoding="utf-8")


def test_ini202_fix_initializes_the_late_layer(tmp_path: Path):
    before, after = _fixed(tmp_path, "coverage/init_before_layers.py")
    cls = next(v for v in vars(after).values() if isinstance(v, type)
               and issubclass(v, nn.Module) and v.__module__ == after.__name__)
    torch.manual_seed(0)
    old = getattr(before, cls.__name__)()
    torch.manual_seed(0)
    new = cls()
    assert not torch.equal(old.head.weight, new.head.weight)
    assert torch.count_nonzero(new.head.bias) == 0 or new.head.weight.std() != \
        old.head.weight.std()


def test_ini204_fix_keeps_norm_scales_at_one(tmp_path: Path):
    before, after = _fixed(tmp_path, "coverage/name_filter_norm.py")
    for module in (before, after):
        cls = next(v for v in vars(module).values() if isinstance(v, type)
                   and issubclass(v, nn.Module) and v.__module__ == module.__name__)
        torch.manual_seed(0)
        model = cls()
        norms = [m.weight for m in model.modules() if isinstance(m, nn.LayerNorm)]
        if module is before:
            assert any(abs(w.mean().item() - 1) > 0.5 for w in norms)
        else:
            assert all(torch.equal(w, torch.ones_like(w)) for w in norms)


@pytest.mark.parametrize("fixture, model", [
    ("api_misuse/unguarded_bias.py", "Head"),  # INI005: AttributeError on a None bias
    ("api_misuse/fan_of_1d.py", "Seq2Seq"),  # INI004: ValueError on 1-D tensors
])
def test_safe_fixes_stop_the_crash(fixture: str, model: str, tmp_path: Path):
    src = FIXTURES / fixture
    path = tmp_path / src.name
    shutil.copy(src, path)
    assert isinstance(_build_all(path)[model], str)  # crashes before
    fix_paths([str(path)], Config(select=("ALL",)), unsafe=False, jobs=1)
    assert isinstance(_build_all(path)[model], dict)  # builds after --fix


def test_ini101_fix_joins_an_existing_dispatch(tmp_path: Path):
    """The model already dispatches on types in a modules() loop: the fix adds a branch for
    the chain's type there instead of a second init method; the collapse is gone."""
    before, after, text = _snippet(tmp_path, """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.mlp = nn.Sequential(
            nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 256),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    def forward(self, x):
        return self.mlp(self.conv(x).flatten(1))
""", "INI101")
    assert "            elif isinstance(m, nn.Linear):\n" in text
    assert "_init_weights" not in text
    stds = []
    for module in (before, after):
        torch.manual_seed(0)
        mlp = module.Net().mlp
        torch.manual_seed(1)
        with torch.no_grad():
            stds.append(float(mlp(torch.randn(512, 256)).std()))
    assert stds[0] < 0.1 and 0.5 < stds[1] < 2, stds


def test_ini105_fix_makes_every_gate_block_orthogonal(tmp_path: Path):
    before, after, _ = _snippet(tmp_path, """\
import torch.nn as nn


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(64, 64)
        nn.init.orthogonal_(self.lstm.weight_hh_l0)
""", "INI105")
    for module, worst in ((before, 0.3), (after, 1e-4)):
        torch.manual_seed(0)
        weight = module.Policy().lstm.weight_hh_l0.detach()
        errors = [float((b @ b.T - torch.eye(64)).abs().max()) for b in weight.chunk(4, 0)]
        assert (min(errors) > worst) if module is before else (max(errors) < worst), errors


def test_ini102_and_ini103_fixes_restore_the_scale(tmp_path: Path):
    """xavier before ReLU (INI102) and kaiming before tanh (INI103): after the gain fix the
    activations keep their scale through a 6-layer chain."""
    relu, relu_fixed, _ = _snippet(tmp_path, """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
""", "INI102")
    (tmp_path / "tanh").mkdir()
    tanh, tanh_fixed, text = _snippet(tmp_path / "tanh", """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
            nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
            nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
""", "INI103")
    assert "nn.init.xavier_normal_(m.weight)" in text

    def last_std(module) -> float:
        torch.manual_seed(0)
        net = module.Net().net
        torch.manual_seed(1)
        with torch.no_grad():
            return float(net(torch.randn(1024, 256)).std())

    assert last_std(relu) < 0.25 < 0.5 < last_std(relu_fixed)  # ReLU: 0.18 → ~0.8
    def saturated(module) -> float:
        torch.manual_seed(0)
        net = module.Net().net
        torch.manual_seed(1)
        with torch.no_grad():
            return float((net(torch.randn(1024, 256)).abs() > 0.99).float().mean())

    assert saturated(tanh_fixed) < saturated(tanh) / 2  # fewer tanh units pinned at ±1
    assert last_std(tanh_fixed) > 0.2  # and the signal still carries


def test_ini202_offers_no_move_of_a_call_under_a_test():
    """Moving ``self.apply(init)`` out of ``if not pretrained:`` to the end of ``__init__``
    would run it in every construction: the finding stays, without a fix; a call at the top
    level of ``__init__`` keeps its move."""
    branches = lint_paths([str(FIXTURES / "coverage" / "init_before_layers_branches.py")],
                          Config(select=("INI202",))).findings
    plain = lint_paths([str(FIXTURES / "coverage" / "init_before_layers.py")],
                       Config(select=("INI202",))).findings
    assert branches and all(f.fix is None for f in branches)
    assert any(f.fix is not None for f in plain)
