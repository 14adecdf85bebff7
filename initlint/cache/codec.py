"""A data-only codec for initlint's values (cache entries): JSON that can describe nothing
but data, so reading a planted or corrupted entry can never run code.

What it stores: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``complex``,
``...``, tuples, string-keyed dicts, sets, frozensets, enums, and dataclasses — the last two
only when they are defined in an ``initlint`` module. A class is written as its qualified
name and read back only from a module that is already imported (nothing is imported on
load) and only if it still is a dataclass (or enum) with the same number of fields;
anything else — an unknown tag, a foreign class, a field count that differs, a field
whose value is not of its declared type (``"3"`` or ``null`` for an ``int``), malformed
JSON, nesting too deep — makes :func:`loads` raise :class:`DecodeError`, which the cache
treats as a miss.

Layout: a header line (the class table, so each class name is stored once), then the value
as JSON. Sequences are JSON arrays and come back as tuples (facts are frozen: lists come
back as tuples too); every other non-JSON value is a one-key object whose key starts with
NUL (``{"\\u00003": [fields]}`` is an instance of class 3 of the table). The C JSON
encoder and parser do nearly all the work, one small hook per dataclass does the rest: this
is the cache's hot path (timm's 278 entries: 264 ms, pickle 121 ms).

Why not pickle or marshal, which are faster: pickle runs whatever callable the bytes name,
and marshal (the .pyc format) builds code objects and is documented as unsafe on erroneous
or malicious data; a cache entry must stay harmless whoever wrote it. Most of the remaining
cost is building ~135k objects in Python, which any data-only format pays.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Callable
from enum import Enum
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any

PACKAGE = "initlint"
_MARK = "\0"
_ELLIPSIS, _BYTES, _COMPLEX, _SET, _FROZENSET, _ENUM = (
    _MARK + kind for kind in ("...", "b", "j", "s", "f", "e"))


class DecodeError(ValueError):
    """The document is not a value this codec wrote (for this build's classes)."""


class EncodeError(TypeError):
    """The value holds something the codec does not store (e.g. a foreign object)."""


def _owned(cls: type) -> bool:
    module = getattr(cls, "__module__", "") or ""
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_PLAIN = (str, int, float, bool, type(None))
_UNIONS = (typing.Union, types.UnionType)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How to rebuild one dataclass: which fields may hold arrays (to make tuples of) and
    which are declared as an enum (JSON keeps a str/int enum as its plain value)."""

    cls: type
    names: tuple[str, ...]
    sequences: tuple[int, ...]
    enums: tuple[tuple[int, type], ...]
    slots: bool
    #: fields declared as exactly one initlint dataclass (``span: Span``): stored as the
    #: bare array of its fields, no tag (a third of all objects in facts are such Spans)
    inline: tuple[tuple[int, type], ...] = ()
    #: what each typed field may hold once decoded (``Any`` fields are not checked): see
    #: :func:`_check_of`; :func:`_typed` compiles them into one function per class
    checks: tuple[tuple[int, Any], ...] = ()


def _never_array(hint: Any) -> bool:
    """Can a field of this annotation never be a sequence (a scalar, an enum, a dataclass,
    or an optional of those)?"""
    if typing.get_origin(hint) in _UNIONS:
        return all(_never_array(arg) for arg in typing.get_args(hint))
    return isinstance(hint, type) and (hint in _PLAIN or issubclass(hint, Enum)
                                       or dataclasses.is_dataclass(hint))


def _one_class(hint: Any) -> type | None:
    """The initlint dataclass a field holds when declared ``D`` or ``D | None``."""
    if typing.get_origin(hint) in _UNIONS:
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = args[0] if len(args) == 1 else None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and _owned(hint):
        return hint
    return None


#: What a decoded JSON value of each declared scalar type may be (an int is a valid float).
_SCALARS: dict[Any, frozenset[type]] = {
    str: frozenset({str}), int: frozenset({int}), float: frozenset({float, int}),
    bool: frozenset({bool}), type(None): frozenset({type(None)}),
    bytes: frozenset({bytes}), complex: frozenset({complex})}
_Check = frozenset[type] | Callable[[Any], bool] | None


def _predicate(check: frozenset[type] | Callable[[Any], bool]) -> Callable[[Any], bool]:
    if isinstance(check, frozenset):
        return lambda value: type(value) in check
    return check


def _exact_types(cls: type) -> frozenset[type]:
    """``cls`` and its subclasses: a field declared ``cls`` holds one of these exactly."""
    found: set[type] = {cls}
    todo: list[type] = [cls]
    while todo:
        subclasses: list[type] = todo.pop().__subclasses__()
        for sub in subclasses:
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return frozenset(found)


def _check_of(hint: Any) -> _Check:
    """What a decoded field declared ``hint`` may hold: a set of exact types (one lookup:
    a scalar, an enum, a dataclass), a predicate, or None for anything (``Any``, an
    annotation this does not read). Nested values were checked when they were built."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in _UNIONS:
        parts = [part for arg in args if (part := _check_of(arg)) is not None]
        if len(parts) < len(args):
            return None  # one alternative holds anything: so does the union
        exact = [part for part in parts if isinstance(part, frozenset)]
        if len(exact) == len(parts):
            return frozenset().union(*exact)
        alternatives = [_predicate(part) for part in parts]
        return lambda value: any(ok(value) for ok in alternatives)
    if origin in (tuple, list) and args:
        return _sequence_check(args)
    if origin in (frozenset, set, dict):
        return _container_check(origin, args)
    if origin is typing.Literal:
        return lambda value: value in args
    if not isinstance(hint, type):
        return None
    if hint in _SCALARS:
        return _SCALARS[hint]
    if issubclass(hint, Enum) or dataclasses.is_dataclass(hint):
        return _exact_types(hint)
    if hint in (tuple, list):  # arrays come back as tuples
        return frozenset({tuple})
    if hint in (frozenset, set, dict):
        return lambda value: isinstance(value, hint)
    return None


def _sequence_check(args: tuple[Any, ...]) -> _Check:
    """``tuple[X, ...]`` (the items' types gathered in C: this runs for most objects) or
    ``tuple[A, B]``."""
    if len(args) == 2 and args[1] is Ellipsis:
        item = _check_of(args[0])
        if item is None:
            return frozenset({tuple})
        if isinstance(item, frozenset):
            return lambda value: type(value) is tuple and set(map(type, value)) <= item
        return lambda value: type(value) is tuple and all(map(item, value))
    items = [_check_of(arg) for arg in args]
    oks = [None if item is None else _predicate(item) for item in items]
    return lambda value: (type(value) is tuple and len(value) == len(oks)
                          and all(ok is None or ok(x) for ok, x in zip(oks, value,
                                                                        strict=True)))


def _columns(hint: Any) -> tuple[int, tuple[tuple[int, frozenset[type]], ...]] | None:
    """``tuple[A, B]`` with A and B each Any or a set of types (keyword arguments,
    name/value pairs): its size and the typed columns, to check a tuple of them column by
    column, in C."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is not tuple or not args or args[-1] is Ellipsis:
        return None
    columns = [(i, _check_of(arg)) for i, arg in enumerate(args)]
    if not all(check is None or isinstance(check, frozenset) for _, check in columns):
        return None
    return len(args), tuple((i, check) for i, check in columns if isinstance(check, frozenset))


def _container_check(origin: type, args: tuple[Any, ...]) -> _Check:
    kinds = (frozenset, set) if origin is not dict else (dict,)
    checks = [_check_of(arg) for arg in args]
    if not args or all(check is None for check in checks):
        return lambda value: isinstance(value, kinds)
    oks = [_predicate(check) if check is not None else (lambda _: True) for check in checks]
    if origin is dict:
        key_ok, value_ok = oks if len(oks) == 2 else (oks[0], lambda _: True)
        return lambda value: isinstance(value, dict) and all(
            key_ok(k) and value_ok(v) for k, v in value.items())
    return lambda value: isinstance(value, kinds) and all(map(oks[0], value))


def _field_checks(names: tuple[str, ...], hints: dict[str, Any]) -> tuple[tuple[int, Any],
                                                                           ...]:
    """(index, check) of each field whose annotation says something; ``tuple[X, ...]`` of
    a set of types stays recognisable (("items", types)) so it can be checked inline."""
    out: list[tuple[int, Any]] = []
    for i, name in enumerate(names):
        hint = hints.get(name)
        args = typing.get_args(hint)
        if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = _check_of(args[0])
            if isinstance(item, frozenset):
                out.append((i, ("items", item)))
                continue
            columns = _columns(args[0])
            if columns is not None:
                out.append((i, ("pairs", *columns)))
                continue
        check = _check_of(hint) if name in hints else None
        if check is not None:
            out.append((i, check))
    return tuple(out)


def _type_test(plan: _Plan, namespace: dict[str, Any]) -> str:
    """The source of one expression testing every typed field of ``plan``'s class (a type
    check per field, inline), binding the sets and predicates it names in ``namespace``."""
    terms = []
    for index, check in plan.checks:
        value = f"b[{index}]"
        if isinstance(check, tuple) and check[0] == "items":  # a tuple of items of types
            namespace[f"s{index}"] = check[1]
            terms.append(f"(type({value}) is tuple and (not {value} or "
                         f"set(map(type, {value})) <= s{index}))")
        elif isinstance(check, tuple):  # ("pairs", size, columns): a tuple of tuples
            _, size, columns = check
            inner = [f"set(map(type, {value})) <= TUPLE", f"set(map(len, {value})) == {{{size}}}"]
            for column, types in columns:
                namespace[f"s{index}_{column}"] = types
                namespace[f"g{index}_{column}"] = itemgetter(column)
                inner.append(f"set(map(type, map(g{index}_{column}, {value}))) "
                             f"<= s{index}_{column}")
            terms.append(f"(type({value}) is tuple and (not {value} or ({' and '.join(inner)})))")
        elif isinstance(check, frozenset) and len(check) == 1:
            namespace[f"t{index}"] = next(iter(check))
            terms.append(f"type({value}) is t{index}")
        elif isinstance(check, frozenset):
            namespace[f"s{index}"] = check
            terms.append(f"type({value}) in s{index}")
        else:
            namespace[f"p{index}"] = check
            terms.append(f"p{index}({value})")
    return " and ".join(terms)


@cache
def _plan(cls: type) -> _Plan:
    names = _fields(cls)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: check every field
        hints = {}
    sequences = tuple(i for i, name in enumerate(names)
                      if name not in hints or not _never_array(hints[name]))
    enums = tuple((i, hints[name]) for i, name in enumerate(names)
                  if isinstance(hints.get(name), type) and issubclass(hints[name], Enum))
    inline = tuple((i, kind) for i, kind in ((i, _one_class(hints.get(name)))
                                             for i, name in enumerate(names))
                   if kind is not None and kind is not cls)
    return _Plan(cls, names, sequences, enums, not hasattr(cls, "__dict__") or
                 "__slots__" in cls.__dict__, inline, _field_checks(names, hints))


@cache
def _fields_of(cls: type) -> Any:
    """``obj -> its field values`` for JSON (a tuple, or a list with inline fields already
    replaced by their own field values)."""
    names = _fields(cls)
    getter = (attrgetter(*names) if len(names) > 1
              else (lambda obj, n=names[0]: (getattr(obj, n),)) if names else (lambda obj: ()))
    inline = [(index, kind, _fields_of(kind)) for index, kind in _plan(cls).inline]
    if not inline:
        return getter

    def values(obj: Any) -> Any:
        out = list(getter(obj))
        for index, kind, of in inline:
            if type(out[index]) is kind:
                out[index] = of(out[index])
        return out

    return values


class _Encoder:
    """``json.dumps``'s ``default``: called only for what JSON has no type for."""

    def __init__(self) -> None:
        self.classes: dict[type, tuple[str, Any]] = {}  # cls → (tag, getter of its fields)
        self.names: list[str] = []

    def _class(self, cls: type) -> tuple[str, Any]:
        if not _owned(cls):
            raise EncodeError(f"cannot store {cls.__module__}.{cls.__qualname__}")
        enum = issubclass(cls, Enum)  # (a test mypy would narrow ``cls`` to ``object`` by)
        getter = None if enum else _fields_of(cls)
        known = self.classes[cls] = (_MARK + str(len(self.names)), getter)
        self.names.append(_name(cls))
        return known

    def default(self, value: Any) -> Any:
        kind = type(value)
        if isinstance(value, Enum):  # before the dataclass path: an enum's tag names its class
            return {_ENUM: [(self.classes.get(kind) or self._class(kind))[0], value.value]}
        known = self.classes.get(kind)
        if known is not None or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            tag, getter = known or self._class(kind)
            return {tag: getter(value) if getter is not None else ()}
        if value is Ellipsis:
            return {_ELLIPSIS: 0}
        if kind is frozenset or kind is set:
            return {_FROZENSET if kind is frozenset else _SET: list(value)}
        if kind is bytes:
            return {_BYTES: value.hex()}
        if kind is complex:
            return {_COMPLEX: [value.real, value.imag]}
        raise EncodeError(f"cannot store a {kind.__module__}.{kind.__qualname__}")


def dumps(value: Any) -> bytes:
    """``value`` as two lines of ASCII JSON (lone surrogates survive as ``\\udcxx``)."""
    encoder = _Encoder()
    try:
        body = json.dumps(value, default=encoder.default, ensure_ascii=True,
                          separators=(",", ":"), allow_nan=True)
    except (RecursionError, ValueError) as exc:  # ValueError: a reference cycle
        raise EncodeError(f"cannot store this value: {exc}") from exc
    return (json.dumps(encoder.names, ensure_ascii=True) + "\n" + body).encode("ascii")


def _resolve(name: Any) -> _Plan | type:
    """A class of an already-imported initlint module: its :class:`_Plan` for a dataclass,
    the class itself for an enum. Never imports anything."""
    if not isinstance(name, str) or name.count(":") != 1:
        raise DecodeError(f"bad class name {name!r}")
    module_name, _, qualname = name.partition(":")
    if not (module_name == PACKAGE or module_name.startswith(PACKAGE + ".")):
        raise DecodeError(f"class outside {PACKAGE}: {name!r}")
    obj: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part, None) if obj is not None and part.isidentifier() else None
    if not isinstance(obj, type) or not _owned(obj) or _name(obj) != name:
        raise DecodeError(f"unknown class {name!r}")
    if issubclass(obj, Enum):
        return obj
    if dataclasses.is_dataclass(obj):
        return _plan(obj)
    raise DecodeError(f"{name!r} is neither a dataclass nor an enum")


def _tuples(items: list[Any]) -> tuple[Any, ...]:
    if not items:
        return ()
    if list not in map(type, items):  # the common case, checked in C: a flat sequence
        return tuple(items)
    return tuple([_tuples(x) if type(x) is list else x for x in items])


@cache
def _builder(plan: _Plan) -> Any:
    """The rebuild of one dataclass from its decoded field list: a function generated per
    class (as :mod:`dataclasses` generates ``__init__``) that converts the fields (inline
    dataclasses, arrays to tuples, enums), tests each field's type and makes the object.
    This runs once per stored object: straight-line code, no loops over the fields. The
    source holds only indices and names made here; classes and checks are bound in its
    namespace."""
    cls = plan.cls
    inline = {index: _builder(_plan(kind)) for index, kind in plan.inline}
    namespace: dict[str, Any] = {
        "cls": cls, "new": object.__new__, "setter": object.__setattr__, "names": plan.names,
        "count": len(plan.names), "DecodeError": DecodeError, "tuples": _tuples,
        "TUPLE": frozenset({tuple}), "shape": f"not the fields of {cls.__qualname__}",
        "wrong": f"a field of {cls.__qualname__} of the wrong type"}
    lines = ["def build(b):", "    if type(b) is not list or len(b) != count:",
             "        raise DecodeError(shape)"]
    for index, make in inline.items():
        namespace[f"make{index}"] = make
        lines += [f"    if type(b[{index}]) is list:",
                  f"        b[{index}] = make{index}(b[{index}])"]
    for index in (i for i in plan.sequences if i not in inline):
        lines += [f"    v = b[{index}]", "    if type(v) is list:",  # flat: checked in C
                  f"        b[{index}] = tuple(v) if list not in map(type, v) else tuples(v)"]
    for index, enum in plan.enums:
        namespace[f"enum{index}"] = enum
        lines.append(f"    b[{index}] = enum{index}(b[{index}])")
    test = _type_test(plan, namespace)
    if test:
        lines += [f"    if not ({test}):", "        raise DecodeError(wrong)"]
    lines.append("    obj = new(cls)")
    if plan.slots:
        lines += ["    for name, item in zip(names, b):", "        setter(obj, name, item)"]
    else:  # lengths checked above
        lines.append("    obj.__dict__.update(zip(names, b))")
    lines.append("    return obj")
    exec("\n".join(lines) + "\n", namespace)
    return namespace["build"]


def _hook(table: dict[str, _Plan | type]) -> Any:
    """``object_pairs_hook``: builds each tagged object (what is inside is already built)."""
    builders = {key: _builder(plan) for key, plan in table.items() if isinstance(plan, _Plan)}

    def build(pairs: list[tuple[str, Any]]) -> Any:
        if len(pairs) == 1:  # a dataclass, the hot path: straight to its builder
            key, body = pairs[0]
            builder = builders.get(key)
            if builder is not None:
                return builder(body)
        return other(pairs)

    def other(pairs: list[tuple[str, Any]]) -> Any:
        key, body = pairs[0] if len(pairs) == 1 else ("", None)
        if not key.startswith(_MARK):
            if any(k.startswith(_MARK) for k, _ in pairs):
                raise DecodeError("a tagged object with other keys")
            return {k: _tuples(v) if type(v) is list else v for k, v in pairs}
        if key == _ELLIPSIS and body == 0:
            return ...
        if key == _ENUM and type(body) is list and len(body) == 2:
            enum = table.get(body[0])
            if not isinstance(enum, type):
                raise DecodeError("bad enum")
            return enum(body[1])
        if key in (_SET, _FROZENSET) and type(body) is list:
            items = [_tuples(x) if type(x) is list else x for x in body]
            return frozenset(items) if key == _FROZENSET else set(items)
        if key == _BYTES and type(body) is str:
            return bytes.fromhex(body)
        if key == _COMPLEX and type(body) is list and len(body) == 2:
            return complex(*body)
        raise DecodeError(f"bad tag {key!r}")

    return build


def loads(data: bytes) -> Any:
    """The value :func:`dumps` wrote; :class:`DecodeError` for anything else (never another
    exception, never code)."""
    try:
        header, newline, body = data.partition(b"\n")
        names = json.loads(header)
        if not newline or type(names) is not list:
            raise DecodeError("not a codec document")
        table = {_MARK + str(index): _resolve(name) for index, name in enumerate(names)}
        value = json.loads(body, object_pairs_hook=_hook(table))
        return _tuples(value) if type(value) is list else value
    except DecodeError:
        raise
    except (ValueError, TypeError, RecursionError, MemoryError, AttributeError,
            LookupError) as exc:  # malformed JSON, unhashable items, bad enum values, ...
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None
