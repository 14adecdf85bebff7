"""Build a fixture's models with torch, before and after a transform, and compare them.

This is what makes a changed finding an evaluator bug: the rewritten program builds the same
parameters (same shapes, same order) drawn from the same distributions. Most transforms give
bit-identical state under the same seed. A tensor left uninitialized (``torch.empty`` never
written: two builds under one seed differ) is not compared. Those that change the order of the draws
(``self.apply`` visits children before parents, ``modules()`` parents first) are compared by
law: a tensor that does not depend on the seed must be identical, a random one must pass a
two-sample Kolmogorov–Smirnov test against the original's, pooled over seeds.
"""

from __future__ import annotations

import importlib
import inspect
import math
import runpy
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

#: Law comparison: pool a tensor over seeds until it has SAMPLES values (at most SEEDS_MAX).
SEEDS_MAX = 16
SAMPLES = 2000


@dataclass(frozen=True)
class Built:
    """One construction: the parameters and buffers in order, or the exception raised."""

    names: tuple[str, ...]
    tensors: tuple[torch.Tensor, ...]
    error: str = ""


def load(root: Path, rel: str, tag: str, seed: int = 0) -> object | None:
    """Import ``root/rel`` under a fresh name (after ``torch.manual_seed(seed)``, for the
    models built at import): a file of a package fixture through its package, any other
    file on its own. None when it needs a package not installed here."""
    torch.manual_seed(seed)
    parts = Path(rel).with_suffix("").parts
    top = next((i for i in range(len(parts) - 1)
                if (root.joinpath(*parts[:i + 1]) / "__init__.py").is_file()), None)
    if top is not None:
        base = root.joinpath(*parts[:top])
        name = ".".join(p for p in parts[top:] if p != "__init__")
        package = parts[top]
        for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
            del sys.modules[key]
        sys.path.insert(0, str(base))
        try:
            with uninitialized_memory_filled():  # models built at import
                return importlib.import_module(name)
        except ImportError:
            return None
        finally:
            sys.path.remove(str(base))
    name = f"_mm_{tag}_{parts[-1]}"
    spec = importlib.util.spec_from_file_location(name, root / rel)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with uninitialized_memory_filled():
            spec.loader.exec_module(module)
    except ImportError:
        return None
    finally:
        sys.modules.pop(name, None)
    return module


def model_classes(module: object) -> list[str]:
    """nn.Module subclasses the file defines that can be built without arguments."""
    out = []
    for name, value in vars(module).items():
        if not (inspect.isclass(value) and issubclass(value, nn.Module)
                and value.__module__ == module.__name__):  # type: ignore[attr-defined]
            continue
        try:
            signature = inspect.signature(value)
        except (TypeError, ValueError):
            continue
        if all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in signature.parameters.values()):
            out.append(name)
    return sorted(out)


_BUILDS: dict[tuple[int, str, int], Built] = {}


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))


def build(module: object, cls: str, seed: int, again: bool = False) -> Built:
    """Build ``cls`` (through ``build_<cls>()`` where the transform made one) under a seed;
    memoized per loaded module (keep the module alive while its builds are used).
    ``again``: a second build under the same seed (to find uninitialized memory)."""
    key = (id(module), cls, seed + 10_000 * again)
    if key not in _BUILDS:
        _BUILDS[key] = _build(module, cls, seed)
    return _BUILDS[key]


def forget(module: object) -> None:
    for key in [k for k in _BUILDS if k[0] == id(module)]:
        del _BUILDS[key]


@contextmanager
def uninitialized_memory_filled():
    """torch.empty & co. return NaN instead of whatever the allocator hands back (torch's
    deterministic mode fills uninitialized memory): garbage could otherwise happen to
    repeat in one build and not in another, and a fixture that never writes a
    ``torch.empty`` parameter would compare at random."""
    was = torch.are_deterministic_algorithms_enabled()
    was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=was_warn)


def _build(module: object, cls: str, seed: int) -> Built:
    return build_with(getattr(module, f"build_{cls}", None) or getattr(module, cls), seed)


def build_with(factory, seed: int) -> Built:
    """What ``factory()`` builds under a seed (a class, a builder function, a script run)."""
    torch.manual_seed(seed)
    try:
        with uninitialized_memory_filled():
            model = factory()
    except Exception as exc:  # the original may raise on purpose (fan_of_1d)
        return Built((), (), type(exc).__name__)
    state = model.state_dict(keep_vars=False)
    return Built(tuple(state), tuple(t.detach().clone() for t in state.values()))


def run_script(path: Path, var: str) -> nn.Module:
    """Run a training script as ``__main__`` and return the model it leaves in ``var``: its
    directory first on ``sys.path``, the modules and packages beside it imported fresh."""
    folder = path.parent
    local = {p.stem for p in folder.iterdir()
             if p.suffix == ".py" or (p / "__init__.py").is_file()} - {path.stem}

    def purge() -> None:
        for key in [k for k in sys.modules if k.split(".")[0] in local]:
            del sys.modules[key]

    purge()
    sys.path.insert(0, str(folder))
    try:
        with uninitialized_memory_filled():
            return runpy.run_path(str(path), run_name="__main__")[var]
    finally:
        sys.path.remove(str(folder))
        purge()


def _ks(a: torch.Tensor, b: torch.Tensor) -> float:
    """Two-sample Kolmogorov–Smirnov statistic."""
    a = a.flatten().double().sort().values
    b = b.flatten().double().sort().values
    grid = torch.cat([a, b])
    cdf_a = torch.searchsorted(a, grid, right=True).double() / len(a)
    cdf_b = torch.searchsorted(b, grid, right=True).double() / len(b)
    return float((cdf_a - cdf_b).abs().max())


def compare(before: object, after: object, cls: str, relabels: bool) -> str:
    """"" when the two builds of class ``cls`` agree, else what differs."""
    return _compare(lambda seed, again=False: build(before, cls, seed, again),
                    lambda seed: build(after, cls, seed), cls, relabels)


def instances(module: object) -> list[str]:
    """Module-level models the file builds when imported (``net = nn.Sequential(...)``)."""
    return sorted(name for name, value in vars(module).items()
                  if isinstance(value, nn.Module) and not name.startswith("_"))


def compare_instance(load_before, load_after, name: str, relabels: bool) -> str:
    """Like compare, for a module-level model: each seed is a fresh import under it
    (``load_*(seed)`` imports the file after ``torch.manual_seed(seed)``)."""

    def state(loader, seed: int) -> Built:
        module = loader(seed)
        value = getattr(module, name, None) if module is not None else None
        if not isinstance(value, nn.Module):
            return Built((), (), "missing")
        items = value.state_dict()
        return Built(tuple(items), tuple(t.detach().clone() for t in items.values()))

    return _compare(lambda seed, again=False: state(load_before, seed),
                    lambda seed: state(load_after, seed), name, relabels)


def _compare(before, after, label: str, relabels: bool) -> str:
    """``before(seed, again)`` / ``after(seed)`` give the builds to compare."""
    first, second = before(0), after(0)
    if first.error or second.error:
        return "" if first.error == second.error else (
            f"{label}: raised {first.error or 'nothing'} vs {second.error or 'nothing'}")
    if len(first.tensors) != len(second.tensors):
        return f"{label}: {len(first.tensors)} vs {len(second.tensors)} tensors"
    if not relabels and first.names != second.names:
        return f"{label}: state names differ: {first.names} vs {second.names}"
    other_seed = before(1)
    repeat = before(0, True)
    for index, (x, y) in enumerate(zip(first.tensors, second.tensors, strict=True)):
        name = f"{label}.{first.names[index]}"
        if x.shape != y.shape or x.dtype != y.dtype:
            return f"{name}: {tuple(x.shape)} vs {tuple(y.shape)}"
        if _same(x, y):
            continue
        if not _same(x, repeat.tensors[index]):
            continue  # torch.empty never written: garbage in both, nothing to compare
        if _same(x, other_seed.tensors[index]):
            return f"{name}: deterministic in the original, different after"
        if not x.is_floating_point():
            return f"{name}: integer tensor differs"
        seeds = min(SEEDS_MAX, max(2, math.ceil(SAMPLES / max(1, x.numel()))))
        xs = torch.cat([x.flatten(), *(before(s).tensors[index].flatten()
                                      for s in range(1, seeds))])
        ys = torch.cat([y.flatten(), *(after(s).tensors[index].flatten()
                                      for s in range(1, seeds))])
        n, m = len(xs), len(ys)
        limit = 1.95 * math.sqrt((n + m) / (n * m))  # alpha ~ 0.001
        stat = _ks(xs, ys)
        if stat > limit:
            return (f"{name}: different law (KS {stat:.3f} > {limit:.3f}; std "
                    f"{xs.std():.4f} vs {ys.std():.4f}, mean {xs.mean():.4f} vs {ys.mean():.4f})")
    return ""


def compare_builds(before, after, label: str, relabels: bool) -> str:
    """Like compare, given the builds: ``before(seed, again)`` and ``after(seed)``."""
    return _compare(before, after, label, relabels)
