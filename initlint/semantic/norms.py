"""Which modules normalize: torch's norm layers, classes derived from them, and a project's
own norm classes — vector γ/β-style parameters only, and a ``forward`` that divides by the
spread (``rsqrt``, ``std``, ``F.layer_norm``...). Signal chains, INI204 and INI207 treat all
three alike."""

from __future__ import annotations

from dataclasses import dataclass

from initlint.core import torch_api as api
from initlint.extract.facts import UNKNOWN, ClassFacts
from initlint.semantic.project import ProjectFacts


@dataclass(frozen=True)
class NormInfo:
    """A norm layer class and the names of its scale γ and shift β (None when absent)."""

    cls: str
    scale: str | None
    shift: str | None
    torch_kind: api.LayerKind | None = None  # the torch norm it is (or derives from)


def norm_info(project: ProjectFacts, cls: str) -> NormInfo | None:
    """How ``cls`` (a qualified class name) normalizes, or None when it does not (or we
    cannot tell)."""
    kind = api.LAYERS.get(cls)
    if kind is not None:
        return NormInfo(cls, "weight", "bias", kind) if kind.family == "norm" else None
    klass = project.resolve_class(cls) if cls else None
    return _project_norm(project, klass) if klass is not None else None


def _project_norm(project: ProjectFacts, klass: ClassFacts) -> NormInfo | None:
    # memoized on the project: it lives as long as its answers stay true
    cache: dict[str, NormInfo | None] = project.__dict__.setdefault("_norm_info", {})
    if klass.qualname not in cache:
        cache[klass.qualname] = _read_norm(project, klass)
    return cache[klass.qualname]


def _read_norm(project: ProjectFacts, klass: ClassFacts) -> NormInfo | None:
    chain = project.mro(klass)
    for k in chain:
        for base in k.bases:
            kind = api.LAYERS.get(api.canonical(base))
            if kind is not None and kind.family == "norm":
                return NormInfo(klass.qualname, "weight", "bias", kind)
    if any(layer.cls != api.PARAMETER for k in chain for layer in k.layers):
        return None  # holds submodules: a block, not a norm layer
    params = [p for k in chain for p in k.params]
    names = {p.name for p in params}
    if (not params or not names <= set(api.NORM_SCALE_NAMES + api.NORM_SHIFT_NAMES)
            or any(p.ndim not in (1, UNKNOWN) for p in params)):
        return None
    normalizes = any(step.kind == "opaque" and step.ref in api.NORMALIZING_CALLS
                     for k in chain for c in k.chains for step in c.steps)
    if not normalizes:
        return None
    scale = next((n for n in api.NORM_SCALE_NAMES if n in names), None)
    shift = next((n for n in api.NORM_SHIFT_NAMES if n in names), None)
    return NormInfo(klass.qualname, scale, shift)
