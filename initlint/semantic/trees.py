"""Module trees: every layer a model class builds, at its path, with the ``__init__``
arguments a container passes bound (``Block(64, norm_layer=nn.InstanceNorm2d)``)."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

from initlint.core.torch_api import canonical
from initlint.extract.facts import UNKNOWN, ClassFacts, LayerFact
from initlint.extract.values import ClassRef
from initlint.semantic.classes import ClassIndex
from initlint.semantic.records import Placed

MAX_DEPTH = 6
_DEFAULT = object()



class ModuleTrees:
    """The module tree of each class (memoized per class and per binding of its arguments)."""

    def __init__(self, index: ClassIndex):
        self.index = index
        self._placed_cache: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Placed]] = {}
        self._placed_paths: dict[str, dict[str, Placed]] = {}
        self._composed: dict[str, set[str]] = {}

    def placed_layers(self, cls: ClassFacts) -> list[Placed]:
        """Every layer in the module tree of ``cls``, with its path (memoized)."""
        return self._placed(cls.qualname, frozenset())

    def _placed(self, qualname: str, seen: frozenset[str],
                bound: tuple[tuple[str, Any], ...] = ()) -> list[Placed]:
        """The tree ``qualname`` builds with its ``__init__`` parameters bound to ``bound``
        (a construction's arguments) and to their defaults otherwise (memoized per binding)."""
        key = (qualname, bound)
        cached = self._placed_cache.get(key)
        if cached is not None:
            return cached
        cls = self.index.classes[qualname]
        out: list[Placed] = []
        if len(seen) > MAX_DEPTH or qualname in seen:
            return out
        seen = seen | {qualname}
        env = dict(bound)
        init = self.index.method(cls, "__init__")
        for klass in self.index.mro(cls):
            own = init is not None and init.cls == klass.qualname
            for layer in klass.layers:
                layer = self._through_factory(_bind_layer(layer, env if own else {}))
                out.append(Placed(layer.name, layer, klass.qualname))
                child = self.index.resolve_class(layer.cls) if layer.cls else None
                if child is not None and child.qualname not in seen:
                    inner = self._call_binding(child, layer)
                    out += [Placed(f"{layer.name}.{p.path}", p.layer, p.owner)
                            for p in self._placed(child.qualname, seen, inner)]
        if len(seen) == 1 or bound:
            self._placed_cache[key] = out
        return out

    def _through_factory(self, layer: LayerFact) -> LayerFact:
        """``self.conv = WNConv1d(64, 64, 3)`` where another file's ``WNConv1d`` returns a
        wrapped layer: the layer it returns, built with the call's arguments."""
        factory = self.index.resolve_factory(layer.cls) if layer.cls else None
        if factory is None or self.index.resolve_class(layer.cls) is not None:
            return layer
        made = factory.layer
        if factory.forwards:
            return replace(layer, cls=made.cls, reparam=made.reparam,
                           reparam_name=made.reparam_name)
        env: dict[str, Any] = {}
        if not layer.star:
            env.update((p, v) for p, v in zip(factory.params, layer.args, strict=False))
        env.update((k, v) for k, v in layer.kwargs if k in factory.params)
        bound = _bind_layer(made, env)
        return replace(bound, name=layer.name, span=layer.span, count=layer.count,
                       star=bound.star or layer.star)

    def _call_binding(self, cls: ClassFacts, layer: LayerFact) -> tuple[tuple[str, Any], ...]:
        """``Block(64, norm_layer=nn.InstanceNorm2d)``: the known values it passes to the
        parameters of ``Block.__init__``."""
        init = self.index.method(cls, "__init__")
        if init is None:
            return ()
        params = [p for p in init.params if p != "self"]
        pending = set(layer.from_params)  # slots whose value is still not known
        out: dict[str, Any] = {}
        if not layer.star:
            for index, value in enumerate(layer.args):
                if index < len(params) and str(index) not in pending and _concrete(value):
                    out[params[index]] = value
        for key, value in layer.kwargs:
            if key in params and key not in pending and _concrete(value):
                out[key] = value
        return tuple(sorted(out.items(), key=lambda kv: kv[0]))

    def placed_by_path(self, cls: ClassFacts) -> dict[str, Placed]:
        cached = self._placed_paths.get(cls.qualname)
        if cached is None:
            cached = {p.path: p for p in self.placed_layers(cls)}
            self._placed_paths[cls.qualname] = cached
        return cached

    @cached_property
    def containers(self) -> dict[str, list[tuple[str, str]]]:
        """class qualname → [(container qualname, path of the class inside it)]."""
        out: dict[str, list[tuple[str, str]]] = {}
        for cls in self.index.classes.values():
            for klass in self.index.mro(cls):
                for layer in klass.layers:
                    child = self.index.resolve_class(layer.cls) if layer.cls else None
                    if child is not None and child is not cls:
                        out.setdefault(child.qualname, []).append((cls.qualname, layer.name))
        return out

    def composed_of(self, cls: ClassFacts) -> set[str]:
        """Classes that may be part of a ``cls`` model: its own, its submodules' and the ones
        its methods construct (``Block(...)`` inside ``_make_layer``), transitively."""
        cached = self._composed.get(cls.qualname)
        if cached is not None:
            return cached
        seen: set[str] = set()
        todo = [cls]
        while todo:
            current = todo.pop()
            if current.qualname in seen:
                continue
            seen.add(current.qualname)
            for klass in self.index.mro(current):
                names = [layer.cls for layer in klass.layers if layer.cls]
                for method in klass.methods:
                    fn = self.index.functions.get(method)
                    names += [c.name for c in fn.calls if c.kind == "function"] if fn else []
                for name in names:
                    child = self.index.resolve_class(name)
                    if child is not None and child.qualname not in seen:
                        todo.append(child)
        self._composed[cls.qualname] = seen
        return seen


def _concrete(value: Any) -> bool:
    """A value worth binding (known, and hashable for the memo)."""
    if isinstance(value, tuple):
        return all(_concrete(v) for v in value)
    return value is not UNKNOWN and isinstance(value, (str, int, float, bool, type(None),
                                                       ClassRef))



def _bind_layer(layer: LayerFact, env: dict[str, Any]) -> LayerFact:
    """The layer as this construction builds it: arguments read from ``__init__`` parameters
    take the bound values (else the defaults already folded in), the class a parameter holds
    (``norm_layer(c)``) becomes the bound class."""
    if not layer.param_args and not layer.cls_param:
        return layer
    args = list(layer.args)
    kwargs = dict(layer.kwargs)
    fixed = set()
    for slot, param in layer.param_args:
        value = env.get(param, _DEFAULT)
        if value is _DEFAULT:
            current = kwargs.get(slot) if not slot.isdigit() else (
                args[int(slot)] if int(slot) < len(args) else UNKNOWN)
            if current is not UNKNOWN:
                fixed.add(slot)  # the parameter's default
            continue
        fixed.add(slot)
        if slot.isdigit():
            if int(slot) < len(args):
                args[int(slot)] = value
        else:
            kwargs[slot] = value
    cls = layer.cls
    held = env.get(layer.cls_param) if layer.cls_param else None
    if isinstance(held, ClassRef):
        cls = canonical(held.qualname)
    return replace(layer, cls=cls, args=tuple(args), kwargs=tuple(kwargs.items()),
                   from_params=tuple(s for s in layer.from_params if s not in fixed))
