"""The abstract values facts hold and the evaluator computes with: classes and instances as
values, abstract modules and parameters, and the two markers (:data:`UNKNOWN`: nothing can be
known; :data:`MISSING`: known not to exist)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from initlint.core.frozen import fast_state
from initlint.extract.facts import UNKNOWN, Construction, LayerFact

__all__ = ["MISSING", "UNKNOWN", "Bound", "Builtin", "ClassRef", "Closure", "InstanceRef",
           "ModuleVal", "OneOf", "ParamVal", "Pattern", "ShapeVal", "Tri"]

Tri = bool | None  # yes / no / unknown


@fast_state
@dataclass(frozen=True, slots=True)
class ClassRef:
    """A class (or any global) as a value: ``nn.Linear``, ``type(m)``; with the arguments a
    ``partial(nn.GroupNorm, 32)`` binds ahead of the call's own."""

    qualname: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@fast_state
@dataclass(frozen=True, slots=True)
class Closure:
    """A project function with some of its names bound: the function a factory returns (its
    free names hold the factory's arguments), a ``functools.partial`` of one."""

    qualname: str
    env: tuple[tuple[str, Any], ...] = ()


@fast_state
@dataclass(frozen=True, slots=True)
class OneOf:
    """One of several known values, which one not known: ``MODELS[name]`` of a registry."""

    values: tuple[Any, ...]


@fast_state
@dataclass(frozen=True, slots=True)
class InstanceRef:
    """An instance of a project class built with its defaults (a config object)."""

    qualname: str


@fast_state
@dataclass(frozen=True, slots=True)
class ModuleVal:
    """An abstract module: its class, and the construction that built it when known."""

    cls: str
    layer: LayerFact | Construction | None = None


@fast_state
@dataclass(frozen=True, slots=True)
class ParamVal:
    """An abstract parameter tensor."""

    attr: str
    ndim: Any = UNKNOWN
    requires_grad: Any = True


@fast_state
@dataclass(frozen=True, slots=True)
class ShapeVal:
    ndim: Any


@fast_state
@dataclass(frozen=True, slots=True)
class Builtin:
    name: str


@fast_state
@dataclass(frozen=True, slots=True)
class Bound:
    """A method looked up on a value, not yet called."""

    obj: Any
    name: str


@fast_state
@dataclass(frozen=True, slots=True)
class Pattern:
    """``re.compile(p)``."""

    pattern: str


class _Missing:
    """The attribute does not exist (``m.bias`` of an Embedding)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
