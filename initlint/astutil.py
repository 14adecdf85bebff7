"""Small questions about ``ast`` nodes that several extractors ask."""

from __future__ import annotations

import ast

from initlint.imports import dotted


def self_attr(node: ast.AST) -> str | None:
    """``self.a.b`` → "a.b"; anything else → None."""
    name = dotted(node)
    if name and name.startswith("self.") and name.count(".") >= 1:
        return name[len("self."):]
    return None


def flat_statements(stmt: ast.stmt):
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
