"""Small questions about ``ast`` nodes that several extractors ask."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from initlint.extract.imports import dotted


def self_attr(node: ast.AST) -> str | None:
    """``self.a.b`` → "a.b"; anything else → None."""
    name = dotted(node)
    if name and name.startswith("self.") and name.count(".") >= 1:
        return name[len("self."):]
    return None


def flat_statements(stmt: ast.stmt) -> Iterator[ast.stmt]:
    """A statement and those nested in its if/for/with/try blocks (not in nested defs)."""
    yield stmt
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for name in ("body", "orelse", "finalbody"):
        for child in getattr(stmt, name, []) or []:
            if isinstance(child, ast.stmt):
                yield from flat_statements(child)
    for handler in getattr(stmt, "handlers", []) or []:
        for child in handler.body:
            yield from flat_statements(child)


def names_in(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def canonical_self(tree: ast.Module) -> dict[tuple[int, int], str]:
    """Name every method's instance parameter ``self`` (``def forward(this, x)``): what the
    code means does not depend on that name, and every reader can then ask about ``self``.
    Returns the original names of the renamed methods, by (row, column) of their ``def``."""
    renamed: dict[tuple[int, int], str] = {}
    for node in _class_defs(tree.body):
        for item in node.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            positional = item.args.posonlyargs + item.args.args
            if not positional or positional[0].arg == "self" or any(
                    dotted(d) in ("staticmethod", "classmethod") for d in item.decorator_list):
                continue
            old = positional[0].arg
            if any(isinstance(n, ast.Name) and n.id == "self" for n in ast.walk(item)):
                continue  # ``self`` already means something else here
            positional[0].arg = "self"
            renamed[(item.lineno, item.col_offset)] = old
            for inner in ast.walk(item):
                if isinstance(inner, ast.Name) and inner.id == old:
                    inner.id = "self"
    return renamed


def _class_defs(body: list[ast.stmt]) -> Iterator[ast.ClassDef]:
    """Class definitions among statements, nested ones included (statements only: far
    cheaper than walking every expression of the file)."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            yield stmt
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield from _class_defs(inner)
        for handler in getattr(stmt, "handlers", ()) or ():
            yield from _class_defs(handler.body)
