"""The abstract evaluator: what an expression means for an abstract module or parameter.

Init code decides which layers it touches with ordinary Python (``isinstance``,
``type(m).__name__``, ``'bias' in name``, ``p.dim() > 1``, ``hasattr``...). Instead of
recognizing spellings, we evaluate the expression (an :class:`~initlint.extract.expr.Expr`) on
abstract values with Python's own semantics wherever the operands are known, and
three-valued logic (yes / no / unknown) where they are not. Unknown stays local: it is the
value of exactly the sub-expressions that depend on something we cannot see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.expr import Expr, free_names
from initlint.extract.facts import (
    UNKNOWN,
    ClassFacts,
    Condition,
    Construction,
    InitSite,
    LayerFact,
)
from initlint.extract.values import (
    MISSING,
    Bound,
    Builtin,
    ClassRef,
    Closure,
    ModuleVal,
    OneOf,
    ParamVal,
    Pattern,
    ShapeVal,
    Tri,
)
from initlint.semantic.classes import ClassIndex
from initlint.semantic.records import Placed

_BUILTINS = frozenset({"isinstance", "issubclass", "hasattr", "getattr", "type", "len", "any",
                       "all", "str", "bool", "int", "float", "tuple", "list", "set", "sorted",
                       "callable", "max", "min", "abs", "repr", "dict"})
_STR_METHODS = frozenset({"lower", "upper", "casefold", "startswith", "endswith", "find",
                          "rfind", "split", "rsplit", "strip", "lstrip", "rstrip", "replace",
                          "count", "partition", "rpartition", "isdigit", "isnumeric",
                          "title", "removeprefix", "removesuffix", "join", "format"})
_PY_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "tuple": tuple,
             "list": tuple, "dict": dict}
_PARAM_METHODS_NDIM = frozenset({"dim", "ndimension"})
#: Names bound while an expression is evaluated (the module, the parameter, ``self``...).
Env = dict[str, Any]
#: How deep calls of project functions nest while one expression is evaluated.
MAX_CALL_DEPTH = 8
#: How many expression nodes one bounded evaluation (:meth:`Evaluator.bounded`) may visit.
MAX_STEPS = 2000
#: The longest string or tuple the evaluator builds.
MAX_SIZE = 4096
#: The key under which a run of a project function keeps its qualname in the environment (no
#: program can spell it): its nested functions are looked up there.
_RUNNING = "<running>"


def _hashable(env: Env) -> tuple[tuple[str, Any], ...]:
    """The bindings a closure keeps: the ones that can key a memo (dicts are left out)."""
    out = []
    for key, value in sorted(env.items()):
        if key == _RUNNING:
            continue
        try:
            hash(value)
        except TypeError:
            continue
        out.append((key, value))
    return tuple(out)


def missing_param(cls: str, args: LayerFact | Construction | None, attr: str) -> str:
    """Why ``<layer>.<attr>`` is None for this construction, or "" when it exists (or may)."""
    kind = api.LAYERS.get(cls)
    if kind is None or args is None:
        return ""
    if kind.family in api.WEIGHT_LAYER_FAMILIES and attr == "bias":
        value = args.literal("bias", api.POSITIONAL_BIAS_INDEX.get(kind.family), True)
        return "bias=False" if value is False else ""
    if kind.family == "norm" and kind.affine_param and attr in ("weight", "bias"):
        value = args.literal(kind.affine_param, api.POSITIONAL_AFFINE_INDEX.get(cls),
                             kind.affine_default)
        if value is False:
            explicit = any(k == kind.affine_param for k, _ in args.kwargs)
            return f"{kind.affine_param}=False" + ("" if explicit else " (its default)")
    return ""


class World:
    """What the evaluator asks of the project: classes, their ancestry and their members."""

    def __init__(self, index: ClassIndex,
                 placed_by_path: Callable[[ClassFacts], Mapping[str, Placed]]):
        self.index = index
        self.placed_by_path = placed_by_path
        self._subclass: dict[tuple[str, str], Tri] = {}

    def built(self, qualname: str) -> ModuleVal | None:
        """What calling the project class ``qualname`` gives, when it is a module."""
        klass = self.index.resolve_class(qualname)
        if klass is not None and self.index.is_module(klass):
            return ModuleVal(klass.qualname)
        return None

    @cached_property
    def registries(self) -> dict[str, Expr]:
        """Module-level dicts by qualified name (``MODELS = dict(a=ModelA)``,
        ``INITS = {"xavier": nn.init.xavier_uniform_}``): what a lookup in one gives."""
        return {f"{facts.module}.{name}": expr for facts in self.index.files
                if facts.script is not None for name, expr in facts.script.instances
                if expr.op == "dict" or expr.args[0] == Expr("name", ("dict",))}

    # --- classes ------------------------------------------------------------------------

    def known(self, name: str) -> bool:
        return name.startswith("torch.") or self.index.resolve_class(name) is not None

    def same_class(self, a: str, b: str) -> Tri:
        if not a or not b:
            return None
        if a == b:
            return True
        ka, kb = self.index.resolve_class(a), self.index.resolve_class(b)
        if ka is not None and kb is not None:
            return ka is kb
        if self.known(a) and self.known(b):
            return False
        return None

    def is_subclass(self, cls: str, base: str) -> Tri:
        key = (cls, base)
        if key not in self._subclass:
            self._subclass[key] = self._is_subclass(cls, base)
        return self._subclass[key]

    def _is_subclass(self, cls: str, base: str) -> Tri:
        if not cls or not base:
            return None
        if cls == base or base in (api.MODULE_BASE, "builtins.object", "object"):
            return True
        resolve = self.index.resolve_class
        klass = resolve(cls)
        if klass is not None:
            target = resolve(base)
            unknown = False
            for ancestor in self.index.mro(klass):
                if ancestor is target:
                    return True
                for b in ancestor.bases:
                    if resolve(b) is not None:
                        continue
                    if b == base:
                        return True
                    if b.startswith("torch."):
                        inner = self._is_subclass(b, base)
                        if inner:
                            return True
                        unknown = unknown or inner is None
                    elif b not in ("object", "?") and not b.startswith(("typing.", "abc.")):
                        unknown = True  # a base we cannot see may derive from anything
            return None if unknown else False
        if cls.startswith("torch."):
            short, short_base = cls.rsplit(".", 1)[-1], base.rsplit(".", 1)[-1]
            if base.startswith("torch."):
                family = api.TORCH_BASE_FAMILIES.get(short_base)
                if family is not None:
                    return short.startswith(family)
                if short == "Lazy" + short_base:
                    return True  # LazyLinear is a Linear
                return False if base.startswith(api.NN) or base in api.TENSOR_TYPES else None
            return False if resolve(base) is not None else None
        return None

    def class_name(self, cls: str) -> Any:
        return cls.rsplit(".", 1)[-1] if cls else UNKNOWN

    # --- members ------------------------------------------------------------------------

    def attribute(self, module: ModuleVal, name: str) -> Any:
        if name == "__class__":
            return ClassRef(module.cls) if module.cls else UNKNOWN
        kind = api.LAYERS.get(module.cls)
        if kind is not None:
            return self._torch_attribute(module, kind, name)
        klass = self.index.resolve_class(module.cls) if module.cls else None
        if klass is None:
            return UNKNOWN
        for ancestor in self.index.mro(klass):
            for param in ancestor.params:
                if param.name == name:
                    return ParamVal(name, param.ndim, param.requires_grad)
        placed = self.placed_by_path(klass).get(name)
        if placed is not None:
            return ModuleVal(placed.layer.cls, placed.layer)
        for ancestor in self.index.mro(klass):
            for key, value in ancestor.attrs:
                if key == name:
                    return value
        for ancestor in self.index.mro(klass):
            for base in ancestor.bases:
                if base in api.LAYERS:  # class NoisyLinear(nn.Linear): its weight and bias
                    return self._torch_attribute(ModuleVal(base), api.LAYERS[base], name)
        return UNKNOWN

    def _torch_attribute(self, module: ModuleVal, kind: api.LayerKind, name: str) -> Any:
        """A torch layer's member; ``module.layer`` None means built with the defaults."""
        layer = module.layer
        if name in ("weight", "bias"):
            if kind.weight_ndim is None:
                return UNKNOWN
            if name == "bias" and kind.family == "embedding":
                return MISSING
            if missing_param(module.cls, layer, name):
                return None
            if layer is not None and kind.family == "norm" and kind.affine_param:
                value = layer.literal(kind.affine_param, api.POSITIONAL_AFFINE_INDEX.get(
                    module.cls), kind.affine_default)
                if value is not True:
                    return UNKNOWN
            elif layer is not None and name == "bias" and kind.has_bias_param:
                value = layer.literal("bias", api.POSITIONAL_BIAS_INDEX.get(kind.family),
                                      kind.bias_default)
                if value is not True:
                    return UNKNOWN
            elif layer is None and kind.family == "norm" and not kind.affine_default:
                return None
            return ParamVal(name, kind.weight_ndim if name == "weight" else 1)
        if name == kind.affine_param:
            if layer is None:
                return kind.affine_default
            return layer.literal(name, api.POSITIONAL_AFFINE_INDEX.get(module.cls),
                                 kind.affine_default)
        if layer is None:
            return UNKNOWN
        if name == "padding_idx" and kind.family == "embedding":
            return layer.literal("padding_idx", 2, None)
        for key, value in layer.kwargs:
            if key == name and name not in layer.from_params:
                return value
        return UNKNOWN

    def has_attribute(self, module: ModuleVal, name: str) -> Tri:
        value = self.attribute(module, name)
        if value is MISSING:
            return False
        if value is not UNKNOWN:
            return True
        if module.cls in api.LAYERS:
            kind = api.LAYERS[module.cls]
            if name in ("weight", "bias"):
                return None if kind.weight_ndim is None else True
            return None
        if (module.cls in api.ACTIVATION_CALLABLES or module.cls in api.TRANSPARENT_MODULES or
                module.cls in (api.SEQUENTIAL, api.MODULE_LIST, api.MODULE_DICT)):
            return False if name in ("weight", "bias") else None
        return None


# --- evaluation ---------------------------------------------------------------------------


class Evaluator:
    """Evaluates :class:`Expr` trees against an environment of abstract values."""

    def __init__(self, world: World):
        self.world = world
        self.free_memo: dict[int, tuple[Expr, frozenset[str]]] = {}
        self._depth = 0  # project functions being run, nested (bounded: MAX_CALL_DEPTH)
        self._steps: int | None = None  # nodes a bounded evaluation may still visit

    def bounded(self, expr: Expr, env: dict[str, Any], steps: int = MAX_STEPS) -> Any:
        """``value`` with at most ``steps`` nodes visited, for code the linker runs across
        functions (an expression that inlines its locals can share subtrees, and a run of a
        project function adds its body): past the bound, unknown."""
        saved = self._steps
        self._steps = steps if saved is None else min(saved, steps)
        try:
            return self.value(expr, env)
        finally:
            self._steps = saved

    def value(self, expr: Expr, env: dict[str, Any]) -> Any:
        if self._steps is not None:
            self._steps -= 1
            if self._steps < 0:
                return UNKNOWN
        method = getattr(self, "_" + expr.op, None)
        if method is None:
            return UNKNOWN
        try:
            return method(expr.args, env)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, re.error,
                ArithmeticError, RecursionError):
            return UNKNOWN

    def truth(self, expr: Expr, env: dict[str, Any]) -> Tri:
        return truth(self.value(expr, env))

    # --- nodes --------------------------------------------------------------------------

    def _const(self, args: tuple[Any, ...], env: Env) -> Any:
        return args[0]

    def _unknown(self, args: tuple[Any, ...], env: Env) -> Any:
        return UNKNOWN

    def _name(self, args: tuple[Any, ...], env: Env) -> Any:
        name = args[0]
        if name in env:
            return env[name]
        enclosing = env.get(_RUNNING)
        if isinstance(enclosing, str):
            # a function defined inside the one being run: it keeps that run's bindings
            nested = self.world.index.functions.get(f"{enclosing}.{name}")
            if nested is not None:
                return Closure(nested.qualname, _hashable(env))
        if name in _BUILTINS or name in _PY_TYPES:
            return Builtin(name)
        return UNKNOWN

    def _global(self, args: tuple[Any, ...], env: Env) -> Any:
        registry = self.world.registries.get(args[0])
        if registry is not None and self._depth < MAX_CALL_DEPTH:
            self._depth += 1
            try:
                return self.value(registry, {})
            finally:
                self._depth -= 1
        return ClassRef(args[0])

    def _attr(self, args: tuple[Any, ...], env: Env) -> Any:
        return self.attribute(self.value(args[0], env), args[1])

    def attribute(self, obj: Any, name: str) -> Any:
        if obj is UNKNOWN or obj is MISSING:
            return UNKNOWN
        if isinstance(obj, ModuleVal):
            value = self.world.attribute(obj, name)
            if value is UNKNOWN and (name in ("modules", "named_modules", "children",
                                              "parameters", "named_parameters", "apply")
                                     or name in api.MODULE_RETURNS_SELF):
                return Bound(obj, name)
            return value
        if isinstance(obj, ClassRef):
            if name in ("__name__", "__qualname__"):
                return self.world.class_name(obj.qualname)
            return (ClassRef(f"{obj.qualname}.{name}") if obj.qualname in ("re", "torch")
                else UNKNOWN)
        if isinstance(obj, ParamVal):
            if name == "data":
                return obj
            if name == "ndim":
                return obj.ndim
            if name == "shape":
                return ShapeVal(obj.ndim)
            if name == "requires_grad":
                return obj.requires_grad
            return Bound(obj, name)
        if isinstance(obj, str) and name in _STR_METHODS:
            return Bound(obj, name)
        if isinstance(obj, Pattern) and name in ("search", "match", "fullmatch"):
            return Bound(obj, name)
        return UNKNOWN

    def _call(self, args: tuple[Any, ...], env: Env) -> Any:
        func = self.value(args[0], env)
        if isinstance(func, ClassRef) and not func.args and not func.kwargs and (
                func.qualname not in self.world.index.functions):
            built = self.world.built(func.qualname)
            if built is not None:
                return built  # a model class: its arguments are the construction's business
        if any(a.op == "star" for a in args[1]) or any(k == "**" for k, _ in args[2]):
            return UNKNOWN
        values = [self.value(a, env) for a in args[1]]
        kwargs = {k: self.value(v, env) for k, v in args[2]}
        if isinstance(func, Builtin):
            return self._builtin(func.name, values, kwargs)
        if isinstance(func, Bound):
            return self._method(func.obj, func.name, values, kwargs)
        if isinstance(func, ClassRef) and func.qualname.startswith("re."):
            return _regex(func.qualname[3:], values)
        if isinstance(func, ClassRef) and func.qualname in api.PARTIAL and values:
            return self.partial(values[0], values[1:], kwargs)
        if isinstance(func, OneOf):
            results = tuple(self._call_value(f, values, kwargs) for f in func.values)
            return UNKNOWN if any(r is UNKNOWN for r in results) else OneOf(results)
        return self._call_value(func, values, kwargs)

    def _call_value(self, func: Any, values: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(func, ClassRef) and not func.args and not func.kwargs:
            return self.call_project(func.qualname, values, kwargs)
        if isinstance(func, Closure):
            return self.call_project(func.qualname, values, kwargs, dict(func.env))
        return UNKNOWN

    def partial(self, func: Any, values: list[Any] | tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        """``functools.partial(fn, *values, **kwargs)`` of a project function: a closure
        with those parameters bound (unknown for anything else)."""
        qualname = func.qualname if isinstance(func, (ClassRef, Closure)) else ""
        fn = self.world.index.functions.get(qualname)
        if fn is None or (isinstance(func, ClassRef) and (func.args or func.kwargs)):
            return UNKNOWN
        env = dict(func.env) if isinstance(func, Closure) else {}
        params = [p for p in fn.params if p not in env]
        env.update(zip(params, values, strict=False))
        env.update(kwargs)
        return Closure(fn.qualname, _hashable(env))

    def call_project(self, qualname: str, values: list[Any], kwargs: dict[str, Any],
                     bound: Env | None = None) -> Any:
        """A call of the project's own code: a model class builds a module of that class
        (with its default tree: the arguments are the construction's business); a function
        with one ``return`` gives that value, run with the call's arguments bound (bounded
        depth: beyond it, and for any argument it cannot bind, unknown)."""
        index = self.world.index
        fn = index.functions.get(qualname)
        if fn is None:
            built = self.world.built(qualname)
            return UNKNOWN if built is None else built
        if fn.returns is None or fn.cls or self._depth >= MAX_CALL_DEPTH:
            return UNKNOWN
        env: Env = {**dict.fromkeys(fn.params, UNKNOWN), **(bound or {})}
        free = [p for p in fn.params if bound is None or p not in bound]
        if len(values) > len(free) or any(k not in fn.params for k in kwargs):
            return UNKNOWN
        env.update(zip(free, values, strict=False))
        env.update(kwargs)
        env[_RUNNING] = fn.qualname
        self._depth += 1
        try:
            return self.value(fn.returns, env)
        finally:
            self._depth -= 1

    def _builtin(self, name: str, values: list[Any], kwargs: dict[str, Any]) -> Any:
        if name == "isinstance" and len(values) == 2:
            return self.isinstance(values[0], values[1])
        if name == "issubclass" and len(values) == 2 and isinstance(values[0], ClassRef):
            return self.isinstance(ModuleVal(values[0].qualname), values[1])
        if name == "type" and len(values) == 1:
            obj = values[0]
            if isinstance(obj, ModuleVal):
                return ClassRef(obj.cls) if obj.cls else UNKNOWN
            if isinstance(obj, ParamVal):
                return ClassRef("torch.nn.Parameter")
            if isinstance(obj, (str, int, float, bool)):
                return Builtin(type(obj).__name__)
            return UNKNOWN
        if name == "dict" and not values:
            return kwargs
        if (name == "getattr" and len(values) == 2 and isinstance(values[1], str)
                and isinstance(values[0], ClassRef) and values[0].qualname in api.NAMESPACES):
            # ``getattr(nn.init, spec.init)``: a member of a torch namespace, by name
            return ClassRef(f"{values[0].qualname}.{values[1]}")
        if name in ("hasattr", "getattr") and len(values) >= 2 and isinstance(values[1], str):
            obj = values[0]
            if isinstance(obj, ModuleVal):
                has = self.world.has_attribute(obj, values[1])
            elif isinstance(obj, ParamVal):
                has = values[1] in ("data", "shape", "ndim", "requires_grad", "grad") or None
            else:
                has = None
            if name == "hasattr":
                return UNKNOWN if has is None else has
            if has is False:
                return values[2] if len(values) > 2 else UNKNOWN
            if has is None:
                return UNKNOWN
            return self.attribute(obj, values[1])
        if name == "len" and len(values) == 1:
            obj = values[0]
            if isinstance(obj, ShapeVal):
                return obj.ndim
            return len(obj) if isinstance(obj, (str, tuple)) else UNKNOWN
        if name in ("any", "all") and len(values) == 1 and isinstance(values[0], tuple):
            truths = [truth(v) for v in values[0]]
            if name == "any":
                return True if True in truths else (None if None in truths else False)
            return False if False in truths else (None if None in truths else True)
        if name == "bool" and len(values) == 1:
            result = truth(values[0])
            return UNKNOWN if result is None else result
        if name == "str" and len(values) == 1 and isinstance(values[0], (str, int, float)):
            return str(values[0])
        if (name in ("tuple", "list", "sorted", "set") and len(values) == 1
                and isinstance(values[0], (tuple, str))):
            return tuple(sorted(values[0]) if name == "sorted" else values[0])
        if name in ("int", "float", "abs") and len(values) == 1 and _known(values[0]):
            convert: dict[str, Callable[[Any], Any]] = {"int": int, "float": float, "abs": abs}
            return convert[name](values[0])
        return UNKNOWN

    def isinstance(self, obj: Any, spec: Any) -> Any:
        if isinstance(spec, tuple):
            truths = [self.isinstance(obj, s) for s in spec]
            if True in truths:
                return True
            return UNKNOWN if any(t is UNKNOWN for t in truths) else False
        if obj is UNKNOWN or obj is MISSING:
            return UNKNOWN
        if isinstance(spec, Builtin) and spec.name in _PY_TYPES:
            if isinstance(obj, (ModuleVal, ParamVal, ClassRef)):
                return False
            return isinstance(obj, _PY_TYPES[spec.name])
        if not isinstance(spec, ClassRef):
            return UNKNOWN
        if isinstance(obj, ModuleVal):
            if spec.qualname in api.TENSOR_TYPES:
                return False
            result = self.world.is_subclass(obj.cls, spec.qualname)
            return UNKNOWN if result is None else result
        if isinstance(obj, ParamVal):
            if spec.qualname in api.TENSOR_TYPES:
                return True
            return False if spec.qualname.startswith(api.NN) else UNKNOWN
        if obj is None or isinstance(obj, (str, int, float, bool, tuple)):
            return False if self.world.known(spec.qualname) else UNKNOWN
        return UNKNOWN

    def _method(self, obj: Any, name: str, values: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(obj, str):
            if not all(_known(v) for v in values) or kwargs:
                return UNKNOWN
            result = getattr(obj, name)(*[tuple(v) if isinstance(v, tuple) else v
                                          for v in values])
            return tuple(result) if isinstance(result, list) else result
        if isinstance(obj, Pattern):
            return _regex(name, [obj.pattern, *values])
        if isinstance(obj, ModuleVal) and name in api.MODULE_RETURNS_SELF:
            return obj
        if isinstance(obj, ParamVal):
            if name in _PARAM_METHODS_NDIM:
                return obj.ndim
            if name == "size" and not values:
                return ShapeVal(obj.ndim)
            if name == "is_floating_point":
                return True
            return UNKNOWN
        return UNKNOWN

    def _cmp(self, args: tuple[Any, ...], env: Env) -> Any:
        left = self.value(args[0], env)
        result: Tri = True
        for op, right_expr in zip(args[1], args[2], strict=False):
            right = self.value(right_expr, env)
            step = compare(self.world, op, left, right)
            if step is False:
                return False
            if step is None:
                result = None
            left = right
        return UNKNOWN if result is None else True

    def _and(self, args: tuple[Any, ...], env: Env) -> Any:
        truths = [self.truth(a, env) for a in args]
        if False in truths:
            return False
        return UNKNOWN if None in truths else True

    def _or(self, args: tuple[Any, ...], env: Env) -> Any:
        truths = [self.truth(a, env) for a in args]
        if True in truths:
            return True
        return UNKNOWN if None in truths else False

    def _not(self, args: tuple[Any, ...], env: Env) -> Any:
        value = self.truth(args[0], env)
        return UNKNOWN if value is None else not value

    def _neg(self, args: tuple[Any, ...], env: Env) -> Any:
        value = self.value(args[0], env)
        return (-value if isinstance(value, (int, float)) and not isinstance(value, bool)
            else UNKNOWN)

    def _bin(self, args: tuple[Any, ...], env: Env) -> Any:
        op, left, right = args[0], self.value(args[1], env), self.value(args[2], env)
        if not (_known(left) and _known(right)):
            return UNKNOWN
        if op == "+":
            joined = left + right
            # a string or tuple that keeps growing (a loop, a recursion): past a size, unknown
            return UNKNOWN if isinstance(joined, (str, tuple)) and len(joined) > MAX_SIZE \
                else joined
        if op == "%" and isinstance(left, str):
            return UNKNOWN
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            if op == "**" and abs(right) > 64:
                return UNKNOWN
            arithmetic: dict[str, Callable[[], Any]] = {
                "-": lambda: left - right, "*": lambda: left * right,
                "/": lambda: left / right, "//": lambda: left // right,
                "%": lambda: left % right, "**": lambda: left ** right}
            return arithmetic[op]()
        return UNKNOWN

    def _tuple(self, args: tuple[Any, ...], env: Env) -> Any:
        return tuple(self.value(a, env) for a in args)

    def _dict(self, args: tuple[Any, ...], env: Env) -> Any:
        keys = [self.value(k, env) for k in args[0]]
        if not all(_known(k) and not isinstance(k, tuple) for k in keys):
            return UNKNOWN  # a key we cannot know may shadow any other
        return dict(zip(keys, (self.value(v, env) for v in args[1]), strict=True))

    def _sub(self, args: tuple[Any, ...], env: Env) -> Any:
        base, index = self.value(args[0], env), self.value(args[1], env)
        if isinstance(base, dict) and _known(index) and not isinstance(index, tuple):
            return base[index]  # a missing key raises KeyError: unknown
        if isinstance(base, dict) and index is UNKNOWN and base:
            # a registry looked up by a key we cannot know: one of its values
            if all(v is not UNKNOWN for v in base.values()):
                return OneOf(tuple(base.values()))
            return UNKNOWN
        if (isinstance(base, (str, tuple)) and isinstance(index, (int, slice))
                and not isinstance(index, bool)):
            return base[index]
        return UNKNOWN

    def _slice(self, args: tuple[Any, ...], env: Env) -> Any:
        parts = [None if a.op == "unknown" else self.value(a, env) for a in args]
        if all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            return slice(*parts)
        return UNKNOWN

    def _ifexp(self, args: tuple[Any, ...], env: Env) -> Any:
        test = self.truth(args[0], env)
        if test is None:
            return UNKNOWN
        return self.value(args[1] if test else args[2], env)

    def _comp(self, args: tuple[Any, ...], env: Env) -> Any:
        elt, target, iter_expr, ifs = args
        items = self.value(iter_expr, env)
        if not isinstance(items, (tuple, str)) or len(items) > 256:
            return UNKNOWN
        out = []
        for item in items:
            inner = {**env, target: item}
            keep = [self.truth(i, inner) for i in ifs]
            if False in keep:
                continue
            if None in keep:
                return UNKNOWN
            out.append(self.value(elt, inner))
        return tuple(out)

    def _fstr(self, args: tuple[Any, ...], env: Env) -> Any:
        parts = [self.value(a, env) for a in args]
        if all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in parts):
            return "".join(str(p) for p in parts)
        return UNKNOWN


def truth(value: Any) -> Tri:
    """Python truthiness of an abstract value; None when it cannot be known."""
    if value is UNKNOWN or value is MISSING:
        return None
    if value is None:
        return False
    if isinstance(value, (bool, int, float, str, tuple, dict)):
        return bool(value)
    if isinstance(value, (ModuleVal, ClassRef, Builtin, Bound, Pattern)):
        return True
    return None  # a tensor: truthiness depends on its values


def _known(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_known(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def equal(world: World, left: Any, right: Any) -> Tri:
    if left is UNKNOWN or right is UNKNOWN or left is MISSING or right is MISSING:
        return None
    if _known(left) and _known(right):
        return bool(left == right)
    if isinstance(left, ClassRef) and isinstance(right, ClassRef):
        return world.same_class(left.qualname, right.qualname)
    if isinstance(left, tuple) or isinstance(right, tuple):
        return None if not (isinstance(left, tuple) and isinstance(right, tuple)) else (
            None if len(left) == len(right) else False)
    kinds = {type(left), type(right)}
    if len(kinds) == 2 and not kinds - {ModuleVal, ParamVal, ClassRef, str, int, float, bool,
                                        type(None), Builtin}:
        return False  # a module is never equal to a string
    return None


def compare(world: World, op: str, left: Any, right: Any) -> Tri:
    if op in ("is", "is not"):
        if right is None or left is None:
            other = left if right is None else right
            if other is UNKNOWN or other is MISSING:
                return None
            same: Tri = other is None
        elif isinstance(left, ClassRef) and isinstance(right, ClassRef):
            same = world.same_class(left.qualname, right.qualname)
            if same is None:
                return None
        else:
            return None
        return same if op == "is" else not same
    if op in ("==", "!="):
        same = equal(world, left, right)
        return None if same is None else (same if op == "==" else not same)
    if op in ("in", "not in"):
        contained = member(world, left, right)
        return None if contained is None else (contained if op == "in" else not contained)
    if (isinstance(left, (int, float)) and isinstance(right, (int, float)) and
            not isinstance(left, bool) and not isinstance(right, bool)):
        return {"<": left < right, "<=": left <= right, ">": left > right,
                ">=": left >= right}[op]
    if isinstance(left, str) and isinstance(right, str):
        return {"<": left < right, "<=": left <= right, ">": left > right,
                ">=": left >= right}[op]
    return None


def member(world: World, item: Any, container: Any) -> Tri:
    if isinstance(container, str):
        return item in container if isinstance(item, str) else None
    if isinstance(container, tuple):
        truths = [equal(world, item, c) for c in container]
        if True in truths:
            return True
        return None if None in truths else False
    return None


def _regex(name: str, values: list[Any]) -> Any:
    if name == "compile" and values and isinstance(values[0], str):
        return Pattern(values[0])
    if name not in ("search", "match", "fullmatch", "findall") or len(values) < 2:
        return UNKNOWN
    pattern, string = values[0], values[1]
    if (not isinstance(pattern, str) or not isinstance(string, str) or len(pattern) > 200
            or len(string) > 500):
        return UNKNOWN
    found = getattr(re, name)(pattern, string)
    if name == "findall":
        return tuple(found)
    return True if found is not None else None


# --- what rules ask -------------------------------------------------------------------------


def free_names_of(evaluator: Evaluator, expr: Expr) -> frozenset[str]:
    """free_names, memoized per expression object for the project's lifetime."""
    memo = evaluator.free_memo
    found = memo.get(id(expr))
    if found is None or found[0] is not expr:
        found = (expr, free_names(expr))
        memo[id(expr)] = found
    return found[1]


def conditions_hold(evaluator: Evaluator, conditions: Iterable[Condition],
                    env: dict[str, Any], relevant: frozenset[str]) -> Tri:
    """Do all the tests on the path to a site pass? A test we cannot decide only counts
    (as unknown) when it reads one of the ``relevant`` names: a configuration flag
    (``if self.zero_init:``) is the author's choice, the code path exists."""
    verdict: Tri = True
    for cond in conditions:
        value = evaluator.truth(cond.test, env)
        if value is None:
            if free_names_of(evaluator, cond.test) & relevant:
                verdict = None
            continue
        if value != cond.positive:
            return False
    return verdict


def tests_on(site: InitSite, names: Iterable[str]) -> bool:
    """Does some test on the path to ``site`` read one of ``names``?"""
    wanted = frozenset(n for n in names if n)
    return any(free_names(c.test) & wanted for c in site.conditions)


def layer_params(kind_cls: str, klass: ClassFacts | None = None) -> tuple[str, ...]:
    """The parameter names a torch layer class holds (for synthetic parameter loops)."""
    kind = api.LAYERS.get(kind_cls)
    if kind is None or kind.weight_ndim is None:
        return ()
    return ("weight", "bias")
