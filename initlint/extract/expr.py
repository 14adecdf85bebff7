"""A compact, serializable copy of an expression: what the evaluator runs at link time.

The extractor turns each ``if`` test (and the local definitions it uses) into an
:class:`Expr` tree of primitives, with global names already qualified through the file's
imports, so facts stay plain data (no ``ast`` nodes) and :mod:`initlint.semantic.evaluate` can
compute what the test means for any abstract module or parameter.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from initlint.core.frozen import fast_state


@fast_state
@dataclass(frozen=True, slots=True)
class Expr:
    """One node: ``op`` names the construct, ``args`` holds primitives and child nodes.

    ops: const(value) name(id) global(qualname) attr(base, name) call(func, args, kwargs)
    star(value) cmp(left, ops, rights) and(values) or(values) not(value) neg(value)
    bin(op, left, right) tuple(items) sub(base, index) slice(lo, hi, step)
    ifexp(test, body, orelse) comp(elt, target, iter, ifs) fstr(parts) dict(keys, values)
    unknown()
    """

    op: str
    args: tuple[Any, ...] = ()


UNKNOWN_EXPR = Expr("unknown")
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
        ast.Mod: "%", ast.Pow: "**"}
_PRIMITIVE = (str, int, float, bool, type(None))
MAX_NODES = 400  # a test longer than this is not a dispatch: unknown


def from_ast(node: ast.AST | None, qualify: Callable[[ast.AST], str | None],
             local: Callable[[str], Expr | None] = lambda _name: None,
             limit: int = MAX_NODES,
             fold: Callable[[ast.AST], Expr | None] | None = None) -> Expr:
    """Convert an expression; ``qualify`` names globals, ``local`` inlines local definitions
    (``classname = m.__class__.__name__`` before ``if classname.find('Conv') != -1``),
    ``fold`` gives the constant a name or attribute is known to hold (a module constant, a
    parameter's default, a config default); an expression of more than ``limit`` nodes is
    unknown."""
    budget = [limit]
    converted = _convert(node, qualify, local, budget, fold)
    if budget[0] < 0 or not _within(converted, limit):
        return UNKNOWN_EXPR
    return converted


def _within(expr: Expr, limit: int) -> bool:
    """Is the tree at most ``limit`` nodes, counting an inlined local each time it is read
    (``x = f(x, x)`` twice over shares subtrees: facts are stored as trees, and the
    evaluator walks them as trees)?"""
    return all(count <= limit for count, _node in enumerate(walk(expr), 1))


def substitute(expr: Expr, values: Callable[[str], Expr | None]) -> Expr:
    """``expr`` with the plain names ``values`` knows replaced (a function's code run with
    the arguments of one call: ``isinstance(m, module)`` with ``module=nn.Conv2d``)."""
    if expr.op == "name":
        found = values(expr.args[0])
        return found if found is not None else expr
    if expr.op == "comp":  # its target is a local of the comprehension
        elt, target, iter_, ifs = expr.args

        def inner(name: str) -> Expr | None:
            return None if name == target else values(name)

        return Expr("comp", (substitute(elt, inner), target, substitute(iter_, values),
                             tuple(substitute(i, inner) for i in ifs)))
    return Expr(expr.op, tuple(_substitute_arg(a, values) for a in expr.args))


def _substitute_arg(arg: Any, values: Callable[[str], Expr | None]) -> Any:
    if isinstance(arg, Expr):
        return substitute(arg, values)
    if isinstance(arg, tuple):
        return tuple(_substitute_arg(a, values) for a in arg)
    return arg


def _convert(node: ast.AST | None, qualify: Callable[[ast.AST], str | None],
             local: Callable[[str], Expr | None], budget: list[int],
             fold: Callable[[ast.AST], Expr | None] | None = None) -> Expr:
    budget[0] -= 1
    if node is None or budget[0] < 0:
        return UNKNOWN_EXPR

    def conv(child: ast.AST | None) -> Expr:
        return _convert(child, qualify, local, budget, fold)

    if fold is not None and isinstance(node, (ast.Name, ast.Attribute)) and (
            not isinstance(node, ast.Name) or local(node.id) is None):
        folded = fold(node)
        if folded is not None:
            return folded

    if isinstance(node, ast.Constant):
        value = node.value
        return Expr("const", (value,)) if isinstance(value, _PRIMITIVE) else UNKNOWN_EXPR
    if isinstance(node, ast.Name):
        inlined = local(node.id)
        if inlined is not None:
            return inlined
        qualified = qualify(node)
        return Expr("global", (qualified,)) if qualified else Expr("name", (node.id,))
    if isinstance(node, ast.Attribute):
        qualified = qualify(node)
        if qualified:
            return Expr("global", (qualified,))
        return Expr("attr", (conv(node.value), node.attr))
    if isinstance(node, ast.Call):
        args = tuple(Expr("star", (conv(a.value),)) if isinstance(a, ast.Starred) else conv(a)
                     for a in node.args)
        kwargs = tuple((k.arg or "**", conv(k.value)) for k in node.keywords)
        return Expr("call", (conv(node.func), args, kwargs))
    if isinstance(node, ast.Compare):
        ops = tuple(_CMP[type(op)] for op in node.ops)
        return Expr("cmp", (conv(node.left), ops, tuple(conv(c) for c in node.comparators)))
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return Expr(op, tuple(conv(v) for v in node.values))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return Expr("not", (conv(node.operand),))
        if isinstance(node.op, ast.USub):
            return Expr("neg", (conv(node.operand),))
        if isinstance(node.op, ast.UAdd):
            return conv(node.operand)
        return UNKNOWN_EXPR
    if isinstance(node, ast.BinOp):
        symbol = _BIN.get(type(node.op))
        return (Expr("bin", (symbol, conv(node.left), conv(node.right))) if symbol
                else UNKNOWN_EXPR)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return Expr("tuple", tuple(conv(e) for e in node.elts))
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return Expr("dict", (tuple(conv(k) for k in node.keys),
                             tuple(conv(v) for v in node.values)))
    if isinstance(node, ast.Subscript):
        return Expr("sub", (conv(node.value), conv(node.slice)))
    if isinstance(node, ast.Slice):
        return Expr("slice", (conv(node.lower), conv(node.upper), conv(node.step)))
    if isinstance(node, ast.IfExp):
        return Expr("ifexp", (conv(node.test), conv(node.body), conv(node.orelse)))
    if (isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp))
            and len(node.generators) == 1
            and isinstance(target := node.generators[0].target, ast.Name)):
        gen = node.generators[0]
        return Expr("comp", (conv(node.elt), target.id, conv(gen.iter),
                             tuple(conv(i) for i in gen.ifs)))
    if isinstance(node, ast.JoinedStr):
        parts = tuple(conv(v.value) if isinstance(v, ast.FormattedValue) else conv(v)
                      for v in node.values)
        return Expr("fstr", parts)
    if isinstance(node, ast.NamedExpr):
        return conv(node.value)
    return UNKNOWN_EXPR


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, itself first."""
    todo = [expr]
    while todo:
        current = todo.pop()
        yield current
        for arg in current.args:
            if isinstance(arg, Expr):
                todo.append(arg)
            elif isinstance(arg, tuple):
                for item in arg:
                    if isinstance(item, Expr):
                        todo.append(item)
                    elif isinstance(item, tuple):
                        todo += [x for x in item if isinstance(x, Expr)]


def free_names(expr: Expr) -> frozenset[str]:
    """The plain names an expression reads (comprehension targets included)."""
    return frozenset(e.args[0] for e in walk(expr) if e.op == "name")


def text(expr: Expr) -> str:
    """A short readable rendering, for messages."""
    op, args = expr.op, expr.args
    if op == "const":
        return repr(args[0])
    if op in ("name", "global"):
        return str(args[0]).rsplit(".", 1)[-1] if op == "global" else args[0]
    if op == "attr":
        return f"{text(args[0])}.{args[1]}"
    if op == "call":
        inner = ", ".join([text(a) for a in args[1]] + [f"{k}={text(v)}" for k, v in args[2]])
        return f"{text(args[0])}({inner})"
    if op == "cmp":
        parts = [text(args[0])]
        for o, r in zip(args[1], args[2], strict=False):
            parts += [o, text(r)]
        return " ".join(parts)
    if op in ("and", "or"):
        return f" {op} ".join(text(a) for a in args)
    if op == "not":
        return f"not {text(args[0])}"
    if op == "tuple":
        return "(" + ", ".join(text(a) for a in args) + ")"
    if op == "sub":
        return f"{text(args[0])}[{text(args[1])}]"
    return "…"
