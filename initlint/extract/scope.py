"""Scopes and constant folding: what one file's names mean and hold.

:class:`FileScope` knows the file's imports, module constants and class attribute defaults,
and folds an expression to the constant it holds (``UNKNOWN`` when that depends on runtime
values). :class:`Scope` is what is known while walking one function body; :class:`Positions`
turns ast's byte columns into code-point columns. Every reader of the file receives these.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.core.text import split_lines
from initlint.core.torch_api import canonical
from initlint.extract.astutil import self_attr
from initlint.extract.expr import Expr
from initlint.extract.facts import UNKNOWN, AttrOf, Condition, LoopBinding
from initlint.extract.imports import Resolver, dotted
from initlint.extract.values import ClassRef, InstanceRef

#: Name prefixes of libraries: calls into them are not project code the linker follows.
LIBRARY_PREFIXES = ("torch.", "math.", "numpy.", "typing.", "collections.", "functools.",
                    "warnings.", "logging.", "os.", "einops.")
_LIBRARY_ROOTS = frozenset(p.rstrip(".") for p in LIBRARY_PREFIXES) | {
    "builtins", "typing_extensions", "dataclasses", "enum", "abc", "pathlib", "np"}


class Located(Protocol):
    """A node with a source position: every ``ast.expr``, ``ast.stmt``, ``ast.arg``..."""

    @property
    def lineno(self) -> int: ...
    @property
    def col_offset(self) -> int: ...
    @property
    def end_lineno(self) -> int | None: ...
    @property
    def end_col_offset(self) -> int | None: ...


class Positions:
    """Converts ast's UTF-8 byte columns into 1-based code-point columns."""

    def __init__(self, text: str):
        self._lines = split_lines(text)

    def column(self, row: int, byte_col: int) -> int:
        if 0 < row <= len(self._lines):
            line = self._lines[row - 1]
            if not line.isascii():
                return len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace")) + 1
        return byte_col + 1

    def span(self, node: Located) -> Span:
        row, end_row = node.lineno, node.end_lineno or node.lineno
        return Span(row, self.column(row, node.col_offset), end_row,
                    self.column(end_row, node.end_col_offset or node.col_offset))

    def indent(self, row: int) -> str:
        if 0 < row <= len(self._lines):
            line = self._lines[row - 1]
            return line[: len(line) - len(line.lstrip())]
        return ""


@dataclass
class Scope:
    """What is known while walking one function body."""

    function: str
    cls: str
    shadowed: frozenset[str]
    env: dict[str, Any]  # constant values of names (parameter defaults, module constants)
    nested: dict[str, str]  # names of nested functions → their qualname
    defs: dict[str, Expr] = field(default_factory=dict)  # local name → what it was assigned
    conditions: tuple[Condition, ...] = ()
    no_grad: bool = False
    loops: dict[str, LoopBinding] = field(default_factory=dict)
    order: int = 0
    # the function's own parameters that hold tensors handed in (not self/cls)
    params: frozenset[str] = frozenset()
    # locals bound to a tensor or module expression (``w = self.fc.weight``,
    # ``data = p.data``): a write through the local is a write of what it names
    aliases: dict[str, ast.expr] = field(default_factory=dict)



class FileScope:
    """What one file's names mean: qualified through its imports, module constants, the
    attribute defaults of its classes; :meth:`value` folds an expression to a constant."""

    def __init__(self, tree: ast.Module, module: str, resolver: Resolver):
        self.module = module
        self.resolver = resolver
        self.registries = _registries(tree, resolver)  # before anything qualifies a name
        self.constants: dict[str, Any] = {}
        self.class_attrs: dict[str, dict[str, Any]] = {}
        self.deferred = False  # an AttrOf value was made: the linker must resolve it
        self.constants = self._module_constants(tree)
        self.class_attrs = {f"{module}.{n.name}" if module else n.name: {}
                            for n in tree.body if isinstance(n, ast.ClassDef)}
        self.class_attrs = self._class_attributes(tree)

    def qualify(self, node: ast.AST, scope: Scope | None = None) -> str | None:
        shadowed = scope.shadowed if scope else frozenset()
        if isinstance(node, ast.Subscript):
            return self._lookup(node, shadowed)
        return self.resolver.qualify(node, shadowed)

    def _lookup(self, node: ast.Subscript, shadowed: frozenset[str]) -> str | None:
        """``INIT_FNS["normal_"]`` on a module-level table of functions or classes that
        nothing changes: what the lookup evaluates to (a key we cannot fold: None)."""
        if not isinstance(node.value, ast.Name) or node.value.id in shadowed:
            return None
        table = self.registries.get(node.value.id)
        key = self.value(node.slice, self.constants) if table is not None else None
        return table.get(key) if table is not None and isinstance(key, str) else None

    def _module_constants(self, tree: ast.Module) -> dict[str, Any]:
        env: dict[str, Any] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    value = self.value(node.value, env)
                    if value is not UNKNOWN:
                        env[target.id] = value
        return env

    def _class_attributes(self, tree: ast.Module) -> dict[str, dict[str, Any]]:
        """Attribute defaults of the file's classes (config objects): class-level constants
        and dataclass fields, and ``self.x = x`` in ``__init__`` with ``x``'s default."""
        out: dict[str, dict[str, Any]] = {}
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            attrs: dict[str, Any] = {}
            for item in node.body:
                if isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            attrs[target.id] = self.value(item.value, self.constants)
                elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    env = self.param_defaults(item)
                    for stmt in item.body:
                        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                            name = self_attr(stmt.targets[0])
                            if name is not None and "." not in name:
                                attrs[name] = self.value(stmt.value, env)
            qualname = f"{self.module}.{node.name}" if self.module else node.name
            out[qualname] = {k: v for k, v in attrs.items() if v is not UNKNOWN}
        return out

    def value(self, node: ast.AST | None, env: dict[str, Any]) -> Any:
        """Constant-fold an expression; UNKNOWN when it depends on runtime values."""
        if node is None:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and f"{node.value.id}.{node.attr}" in env):  # self.with_bias, set earlier
            return env[f"{node.value.id}.{node.attr}"]
        if (isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute))
                and (dotted(node.value) or "").split(".")[0] in env):
            # config.hidden_size / self.config.init_std on objects built with their defaults
            owner = self.value(node.value, env)
            if isinstance(owner, InstanceRef):
                if owner.qualname not in self.class_attrs:  # a config class defined elsewhere
                    self.deferred = True
                    return AttrOf(owner.qualname, node.attr)
                return self.class_attrs[owner.qualname].get(node.attr, UNKNOWN)
            return UNKNOWN
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self._class_value(node)
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            built = self.qualify(node.func)
            if built in self.class_attrs:
                return InstanceRef(built)
        if isinstance(node, ast.JoinedStr):
            parts = [self.value(v.value if isinstance(v, ast.FormattedValue) else v, env)
                     for v in node.values]
            ok = all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in parts)
            return "".join(str(p) for p in parts) if ok else UNKNOWN
        if (isinstance(node, ast.Call) and dotted(node.func) == "getattr"
                and len(node.args) == 2):  # getattr(nn, f"BatchNorm{n}d")
            owner = self.qualify(node.args[0])
            attr = self.value(node.args[1], env)
            if owner and isinstance(attr, str) and attr.isidentifier():
                return _class_ref(canonical(f"{owner}.{attr}"))
        if isinstance(node, ast.BoolOp):  # ``norm_layer or nn.BatchNorm2d``: Python's rule
            result: Any = UNKNOWN
            for item in node.values:
                result = self.value(item, env)
                if result is UNKNOWN or isinstance(result, (AttrOf, InstanceRef)):
                    return UNKNOWN
                if bool(result) == isinstance(node.op, ast.Or):
                    return result
            return result
        if (isinstance(node, ast.Compare) and len(node.ops) == 1
                and type(node.ops[0]) in _IDENTITY_TESTS):  # ``norm_layer is None``
            left, right = self.value(node.left, env), self.value(node.comparators[0], env)
            if left is UNKNOWN or right is UNKNOWN or not (is_plain(left) and is_plain(right)):
                return UNKNOWN
            if type(node.ops[0]) in (ast.Is, ast.IsNot) and None not in (left, right):
                return UNKNOWN  # identity of two equal non-None values is CPython's choice
            return _IDENTITY_TESTS[type(node.ops[0])](left, right)
        if isinstance(node, ast.IfExp):
            test = self.value(node.test, env)
            if test is UNKNOWN or isinstance(test, (AttrOf, InstanceRef)):
                return UNKNOWN
            return self.value(node.body if test else node.orelse, env)
        if (isinstance(node, ast.Call) and node.args and
                self.qualify(node.func) == "functools.partial"):
            held = self.value(node.args[0], env)  # partial(nn.GroupNorm, 32)
            if (isinstance(held, ClassRef) and not held.args and not held.kwargs
                    and not any(isinstance(a, ast.Starred) for a in node.args)
                    and all(k.arg for k in node.keywords)):
                return ClassRef(held.qualname,
                                tuple(self.value(a, env) for a in node.args[1:]),
                                # every k.arg is set (tested above): the filter drops none
                                tuple((k.arg, self.value(k.value, env))
                                      for k in node.keywords if k.arg))
            return UNKNOWN
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, env)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                if isinstance(node.op, ast.USub):
                    return -operand
                if isinstance(node.op, ast.UAdd):
                    return operand
            if isinstance(node.op, ast.Not) and isinstance(operand, bool):
                return not operand
            return UNKNOWN
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left, env), self.value(node.right, env)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in (left, right)):
                return UNKNOWN
            try:
                return _BINOPS[type(node.op)](left, right)
            except (KeyError, ArithmeticError, ValueError, OverflowError):
                return UNKNOWN
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(e, env) for e in node.elts)
        if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1:
            name = dotted(node.func)
            arg = self.value(node.args[0], env)
            if name in ("math.sqrt", "np.sqrt", "numpy.sqrt") and isinstance(arg, (int, float)):
                return math.sqrt(arg) if arg >= 0 else UNKNOWN
            if name in ("math.log", "np.log", "numpy.log") and isinstance(arg, (int, float)):
                return math.log(arg) if arg > 0 else UNKNOWN  # CLIP's log(1 / 0.07)
            if self.qualify(node.func) == api.CALCULATE_GAIN and isinstance(arg, str):
                return api.GAINS.get(arg, UNKNOWN)
        if (isinstance(node, ast.Call) and self.qualify(node.func) == api.CALCULATE_GAIN
                and node.args and isinstance(self.value(node.args[0], env), str)):
            name = self.value(node.args[0], env)
            if name == "leaky_relu" and len(node.args) > 1:
                slope = self.value(node.args[1], env)
                if isinstance(slope, (int, float)):
                    return api.leaky_relu_gain(slope)
            return api.GAINS.get(name, UNKNOWN)
        return UNKNOWN

    def _class_value(self, node: ast.AST) -> Any:
        """A class named by a global (``nn.BatchNorm2d``, an imported block) as a value."""
        qualified = self.qualify(node)
        return _class_ref(qualified) if qualified else UNKNOWN

    def param_defaults(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
        env = dict(self.constants)
        args = fn.args
        positional = args.posonlyargs + args.args
        defaulted = positional[len(positional) - len(args.defaults):]
        for arg, default in zip(defaulted, args.defaults, strict=True):
            env[arg.arg] = self.value(default, self.constants)
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                env[arg.arg] = self.value(kw_default, self.constants)
        for arg in positional + args.kwonlyargs:
            annotated = self.qualify(arg.annotation) if arg.annotation is not None else None
            env.setdefault(arg.arg, InstanceRef(annotated) if annotated is not None and (
                annotated in self.class_attrs or _project_class(annotated)) else UNKNOWN)
        return env

    # --- layers built in __init__ ----------------------------------------------------



_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Pow: lambda a, b: a**b if abs(b) < 64 else math.nan,
}
_IDENTITY_TESTS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}


def is_plain(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(is_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool, ClassRef))


def _class_ref(qualified: str) -> Any:
    """Names that denote classes by convention (CapWords) become class values."""
    last = qualified.rsplit(".", 1)[-1]
    return ClassRef(qualified) if last[:1].isupper() else UNKNOWN



def _project_class(qualname: str | None) -> bool:
    """Could an annotation name a class of the project (a config class in another file)?
    Library types (``torch``, ``typing``, builtins) cannot; the linker decides the rest."""
    if not qualname or "." not in qualname:
        return False
    return qualname.split(".", 1)[0] not in _LIBRARY_ROOTS


#: Methods that change a dict in place: a table they are called on is not a registry.
_MUTATORS = frozenset({"update", "pop", "popitem", "setdefault", "clear", "__setitem__",
                       "__delitem__", "__ior__"})


def _registries(tree: ast.Module, resolver: Resolver) -> dict[str, dict[str, str]]:
    """Module-level tables of globals by constant key (``INITS = {"xavier":
    nn.init.xavier_uniform_}``, ``dict(normal_=nn.init.normal_)``) that the file never
    changes, assigns twice or rebinds in a function: key → qualified name of each value."""
    tables: dict[str, dict[str, str]] = {}
    assigned: dict[str, int] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        assigned[name] = assigned.get(name, 0) + 1
        pairs: list[tuple[ast.expr | None, ast.expr]] = []
        value = node.value
        if isinstance(value, ast.Dict):
            pairs = list(zip(value.keys, value.values, strict=True))
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
              and value.func.id == "dict" and not value.args):
            pairs = [(ast.Constant(k.arg) if k.arg else None, k.value) for k in value.keywords]
        table: dict[str, str] = {}
        for key, item in pairs:
            qualified = resolver.qualify(item)
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and qualified):
                break
            table[key.value] = qualified
        else:
            if pairs:
                tables[name] = table
    for each in ast.walk(tree):
        changed: str | None = None
        written = isinstance(each, ast.Subscript) and not isinstance(each.ctx, ast.Load)
        mutated = isinstance(each, ast.Attribute) and each.attr in _MUTATORS
        if (written or mutated) and isinstance(getattr(each, "value", None), ast.Name):
            changed = each.value.id  # type: ignore[attr-defined]
        elif isinstance(each, ast.AugAssign) and isinstance(each.target, ast.Name):
            changed = each.target.id
        elif isinstance(each, (ast.Global, ast.Nonlocal)):
            for name in each.names:
                tables.pop(name, None)
        if changed is not None:
            tables.pop(changed, None)
    return {name: table for name, table in tables.items() if assigned.get(name) == 1}

