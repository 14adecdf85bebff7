"""One walk of a module's syntax tree, shared by every reader of it.

Extraction used to walk each tree about four times (imports, references, each function's
stored names and nested defs, each function's used names), and each function again for every
function it is nested in. This walks the tree once, breadth first (the order ``ast.walk``
gives, so "last one wins" lookups keep their meaning), and keeps what those readers asked.
Lookups are by node identity; a node built after the walk (a lambda wrapped as a def) is
not indexed, and readers fall back to walking it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from initlint.extract.imports import dotted

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# fields that never hold a node worth visiting: load/store markers, operators, strings
_INERT_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "asname", "module",
                           "level", "type_comment", "kind", "is_async", "conversion"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type[ast.AST]) -> tuple[str, ...]:
    found = _CHILD_FIELDS.get(kind)
    if found is None:
        found = _CHILD_FIELDS[kind] = tuple(
            f for f in kind._fields if f not in _INERT_FIELDS
            and not (f == "value" and kind is ast.Constant)
            and not (f == "name" and kind is not ast.MatchAs and kind is not ast.MatchStar))
    return found


def children(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.iter_child_nodes`` without its per-field generator (it is the hot loop)."""
    for name in _fields(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    yield item
        elif isinstance(value, ast.AST):
            yield value


@dataclass
class FunctionIndex:
    """What lies anywhere below one ``def`` (nested defs included)."""

    stored: set[str] = field(default_factory=set)  # names bound (``ast.Name`` in Store)
    inner_defs: list[ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=list)
    body_names: set[str] = field(default_factory=set)  # names read or written in the body
    returns: list[ast.Return] = field(default_factory=list)
    # ``a + b`` and ``x += y`` in the body (a forward's residual adds)
    adds: list[ast.BinOp | ast.AugAssign] = field(default_factory=list)


@dataclass
class TreeIndex:
    imports: list[ast.Import | ast.ImportFrom]
    functions: dict[int, FunctionIndex]  # by id() of the def node
    references: set[tuple[str, str]]  # init-like names mentioned, with the mentioning owner

    def function(self, node: ast.AST) -> FunctionIndex:
        """The index of ``node``; a def built after the walk is walked now."""
        found = self.functions.get(id(node))
        if found is not None:
            return found
        return _walk_one(node)


def _walk_one(node: ast.AST) -> FunctionIndex:
    index = FunctionIndex()
    for item in ast.walk(node):
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
            index.stored.add(item.id)
        elif item is not node and isinstance(item, _DEFS):
            index.inner_defs.append(item)
        elif isinstance(item, ast.Return):
            index.returns.append(item)
    for stmt in getattr(node, "body", []):
        for item in ast.walk(stmt):
            if isinstance(item, ast.Name):
                index.body_names.add(item.id)
            elif isinstance(item, (ast.BinOp, ast.AugAssign)) and isinstance(item.op, ast.Add):
                index.adds.append(item)
    return index


def _is_init_like(ref: str) -> bool:
    lowered = ref.lower()
    return "init" in lowered or "reset" in lowered or "weight" in lowered


def _attribute_reference(child: ast.Attribute, parent: ast.AST) -> str:
    """How INI201 matches a mentioned attribute: "self.x", ".x", or "@self.a.x" for a
    method of an object the instance holds (resolved through its class by the linker)."""
    receiver = dotted(child.value) or ""
    if receiver.startswith("self.") and isinstance(parent, ast.Call) and parent.func is child:
        return f"@{receiver}.{child.attr}"
    on_self = receiver == "self" or (
        isinstance(child.value, ast.Call) and dotted(child.value.func) == "super")
    return ("self." if on_self else ".") + child.attr


def build_index(tree: ast.Module, prefix: str) -> TreeIndex:
    """Walk ``tree`` once; ``prefix`` is the module's name (the owner of top-level code)."""
    imports: list[ast.Import | ast.ImportFrom] = []
    functions: dict[int, FunctionIndex] = {}
    references: set[tuple[str, str]] = set()
    # (node, owner of what it mentions, defs it lies in, defs whose body it lies in)
    queue: list[tuple[ast.AST, str, tuple[FunctionIndex, ...], tuple[FunctionIndex, ...]]] = [
        (tree, prefix, (), ())]
    position = 0
    name_kind, attribute_kind, constant_kind, return_kind = (ast.Name, ast.Attribute,
                                                             ast.Constant, ast.Return)
    imports_kinds = (ast.Import, ast.ImportFrom)
    store = ast.Store
    while position < len(queue):
        node, owner, within, in_body = queue[position]
        position += 1
        own = None
        if isinstance(node, _DEFS):
            own = functions[id(node)] = FunctionIndex()
            for outer in within:
                outer.inner_defs.append(node)
        for name in _fields(type(node)):
            value = getattr(node, name, None)
            if value is None:
                continue
            if own is None:
                inner_within, body = within, in_body
            elif name == "body":
                inner_within, body = (*within, own), (*in_body, own)
            else:
                inner_within, body = (*within, own), in_body
            for child in value if isinstance(value, list) else (value,):
                kind = type(child)
                if kind is name_kind:
                    if isinstance(child.ctx, store):
                        for outer in inner_within:
                            outer.stored.add(child.id)
                    for outer in body:
                        outer.body_names.add(child.id)
                    if isinstance(child.ctx, ast.Load) and _is_init_like(child.id):
                        references.add((child.id, owner))
                    continue  # nothing below a name
                if kind is constant_kind:
                    if (isinstance(child.value, str) and child.value.isidentifier()
                            and _is_init_like(child.value)):
                        references.add(("." + child.value, owner))
                    continue
                if kind is attribute_kind:
                    if _is_init_like(child.attr) or (type(node) is ast.Call
                                                     and node.func is child):
                        ref = _attribute_reference(child, node)
                        if _is_init_like(ref):
                            references.add((ref, owner))
                elif kind is return_kind:
                    for outer in inner_within:
                        outer.returns.append(child)
                elif (kind is ast.BinOp or kind is ast.AugAssign) and type(child.op) is ast.Add:
                    for outer in body:
                        outer.adds.append(child)
                elif kind in imports_kinds:
                    imports.append(child)
                elif not isinstance(child, ast.AST):
                    continue
                if isinstance(child, _SCOPES):
                    queue.append((child, f"{owner}.{child.name}" if owner else child.name,
                                  inner_within, body))
                else:
                    queue.append((child, owner, inner_within, body))
    return TreeIndex(imports, functions, references)
