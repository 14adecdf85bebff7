"""Where a statement sits in a function body, read from the syntax alone.

The blocks from a compound statement down to a statement inside it, the innermost ``for``
around it, how often the ``range(n)`` loops around it run, and a comprehension over a
literal unrolled into one element per item.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from typing import Any

from initlint.extract.facts import UNKNOWN
from initlint.extract.imports import dotted

#: folds an expression to the constant it holds in an environment (``FileScope.value``)
Fold = Callable[[ast.AST, dict[str, Any]], Any]


def loop_count(fn: ast.FunctionDef | ast.AsyncFunctionDef, stmt: ast.stmt, fold: Fold,
                env: dict[str, Any]) -> Any:
    """How often ``stmt`` runs: the product of the ``range(n)`` loops around it in ``fn``."""
    result = _count_to(fn.body, 1, stmt, fold, env)
    return UNKNOWN if result is None else result


def _count_to(body: list[ast.stmt], count: Any, stmt: ast.stmt, fold: Fold,
              env: dict[str, Any]) -> Any:
    # module-level and recursive by name: a recursive closure is a reference cycle that
    # keeps the syntax tree alive until the cycle collector runs
    for node in body:
        if node is stmt:
            return count
        if isinstance(node, ast.For):
            inner: Any = UNKNOWN
            if (isinstance(node.iter, ast.Call) and dotted(node.iter.func) == "range"
                    and len(node.iter.args) == 1):
                n = fold(node.iter.args[0], env)
                inner = (n * count if isinstance(n, int) and isinstance(count, int)
                         else UNKNOWN)
            found = _count_to(node.body, inner, stmt, fold, env)
            if found is not None:
                return found
        for name in ("body", "orelse", "finalbody"):
            if not isinstance(node, ast.For) and isinstance(getattr(node, name, None), list):
                found = _count_to(getattr(node, name), count, stmt, fold, env)
                if found is not None:
                    return found
    return None


def blocks_to(node: ast.stmt, target: ast.stmt) -> list[tuple[ast.stmt, str]] | None:
    """The (compound statement, block name) pairs from ``node`` down to ``target``; None when
    ``target`` is not inside it (nested defs are not entered)."""
    if node is target:
        return []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return None
    blocks = [(name, getattr(node, name, None) or []) for name in ("body", "orelse", "finalbody")]
    blocks += [("handler", handler.body) for handler in getattr(node, "handlers", []) or []]
    for name, body in blocks:
        for child in body:
            if isinstance(child, ast.stmt):
                found = blocks_to(child, target)
                if found is not None:
                    return [(node, name), *found]
    return None


def enclosing_for(fn: ast.FunctionDef | ast.AsyncFunctionDef, stmt: ast.stmt) -> ast.For | None:
    """The innermost ``for`` loop of ``fn`` whose body holds ``stmt``."""
    found: list[ast.For] = []
    _find_loop(fn.body, None, stmt, found)
    return found[0] if found else None


def _find_loop(body: list[ast.stmt], loop: ast.For | None, stmt: ast.stmt,
               found: list[ast.For]) -> bool:
    for node in body:
        if node is stmt:
            if loop is not None:
                found.append(loop)
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        inner = node if isinstance(node, ast.For) else loop
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and _find_loop(
                    block, inner if field == "body" else loop, stmt, found):
                return True
    return False


class _Substitute(ast.NodeTransformer):
    def __init__(self, name: str, value: ast.expr):
        self.name, self.value = name, value

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.value if node.id == self.name else node


def unrolled(comp: ast.ListComp | ast.GeneratorExp) -> ast.List:
    """``[f(x) for x in (a, b)]`` → ``[f(a), f(b)]``: one element per literal item."""
    gen = comp.generators[0]
    assert isinstance(gen.target, ast.Name) and isinstance(gen.iter, (ast.List, ast.Tuple))
    elts = []
    for item in gen.iter.elts:
        elt = _Substitute(gen.target.id, item).visit(copy.deepcopy(comp.elt))
        elts.append(ast.copy_location(elt, item) if not hasattr(elt, "lineno") else elt)
    return ast.copy_location(ast.List(elts=elts, ctx=ast.Load()), comp)

