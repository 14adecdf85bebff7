"""Raw ``nn.Parameter`` attributes built in ``__init__``: their rank and allocation.

``self.w = nn.Parameter(torch.empty(n, m))``: how many dimensions the tensor has (when the
arguments show it) and whether its memory starts uninitialized (``torch.empty``,
``torch.Tensor(n, m)``), which the coverage rules need to know.
"""

from __future__ import annotations

import ast
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.expr import from_ast
from initlint.extract.facts import UNKNOWN, ParamFact
from initlint.extract.imports import dotted
from initlint.extract.scope import FileScope, Positions


class ParamReader:
    """Reads ``nn.Parameter(...)`` expressions into :class:`ParamFact`."""

    def __init__(self, names: FileScope, pos: Positions):
        self.names = names
        self.pos = pos

    def param_from_expr(self, name: str, expr: ast.expr, env: dict[str, Any],
                        rebound: set[str],
                        arguments: frozenset[str] = frozenset()) -> ParamFact | None:
        """The fact of ``nn.Parameter(...)`` assigned to ``self.<name>``; ``rebound``: the
        locals ``__init__`` assigned so far (a local is not read as a size); ``arguments``:
        the names whose value follows the constructor's arguments."""
        if not (isinstance(expr, ast.Call) and self.names.qualify(expr.func) == api.PARAMETER
                and expr.args):
            return None
        inner = expr.args[0]
        while isinstance(inner, ast.BinOp):
            inner = inner.left
        ndim: Any = UNKNOWN
        if (isinstance(inner, ast.Call)
                and self.names.qualify(inner.func) in api.TENSOR_FACTORIES):
            shape_args = [a for a in inner.args if not isinstance(a, ast.Starred)]
            if len(shape_args) == len(inner.args) and shape_args:
                if len(shape_args) == 1 and isinstance(shape_args[0], (ast.Tuple, ast.List)):
                    ndim = len(shape_args[0].elts)
                elif len(shape_args) == 1 and not _one_dim_size(
                        shape_args[0], _not_rebound(env, rebound),
                        self.names.value(shape_args[0], env)):
                    ndim = UNKNOWN  # one variable may hold a whole shape tuple
                elif not (self.names.qualify(inner.func) or "").endswith(
                        ("_like", "tensor", "Tensor")):
                    ndim = len(shape_args)
        grad = next((self.names.value(k.value, env) for k in expr.keywords
                     if k.arg == "requires_grad"), True)
        if len(expr.args) > 1:
            grad = self.names.value(expr.args[1], env)
        fill = self._fill(expr.args[0])
        return ParamFact(name, ndim, self.pos.span(expr), self._allocation(inner, env, rebound),
                         grad, fill=self.names.value(fill, env) if fill is not None else UNKNOWN,
                         fill_expr=from_ast(fill, self.names.qualify) if fill is not None
                         else None,
                         fill_params=tuple(sorted({text for n in ast.walk(fill)
                                                   if isinstance(n, (ast.Name, ast.Attribute))
                                                   and (text := dotted(n) or "") in arguments}))
                         if fill is not None else ())

    def _fill(self, data: ast.expr) -> ast.expr | None:
        """The expression of the one value every element of ``data`` starts with:
        ``torch.ones(d)`` → ``1.0``, ``v * torch.ones(d)`` / ``torch.ones(d) * v`` → ``v``,
        ``torch.full(shape, v)`` → ``v``, ``torch.tensor(v)`` → ``v``; None otherwise."""
        if isinstance(data, ast.BinOp) and isinstance(data.op, ast.Mult):
            for unit, other in ((data.left, data.right), (data.right, data.left)):
                if self._fill_of_unit(unit):
                    return other
            return None
        if not isinstance(data, ast.Call):
            return None
        factory = self.names.qualify(data.func) or ""
        if factory in api.CONSTANT_FACTORIES:
            return ast.Constant(api.CONSTANT_FACTORIES[factory])
        if factory == "torch.full":
            value = data.args[1] if len(data.args) > 1 else next(
                (k.value for k in data.keywords if k.arg == "fill_value"), None)
            return value
        if factory == "torch.tensor" and len(data.args) == 1:
            value = data.args[0]
            while isinstance(value, (ast.List, ast.Tuple)) and len(value.elts) == 1:
                value = value.elts[0]
            return None if isinstance(value, (ast.List, ast.Tuple)) else value
        return None

    def _fill_of_unit(self, node: ast.expr) -> bool:
        return (isinstance(node, ast.Call)
                and api.CONSTANT_FACTORIES.get(self.names.qualify(node.func) or "") == 1.0)

    def _allocation(self, call: ast.expr, env: dict[str, Any], rebound: set[str]) -> str:
        """"uninit" when ``call`` returns uninitialized memory: ``torch.empty(...)``,
        ``x.new_empty(...)``, or a legacy constructor given sizes (``torch.Tensor(n, m)``;
        ``torch.Tensor([1.0])`` copies data)."""
        if not isinstance(call, ast.Call):
            return ""
        if isinstance(call.func, ast.Attribute) and call.func.attr in api.UNINITIALIZED_METHODS:
            return "uninit"
        qualified = self.names.qualify(call.func)
        if qualified in api.UNINITIALIZED_FACTORIES:
            return "uninit"
        if qualified not in api.LEGACY_CONSTRUCTORS or not call.args or call.keywords:
            return ""
        values = [self.names.value(a, env) for a in call.args]
        if any(isinstance(a, (ast.List, ast.Tuple, ast.Starred, ast.ListComp)) for a in call.args):
            return ""
        sizes = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        one_size = len(call.args) == 1 and _one_dim_size(
            call.args[0], _not_rebound(env, rebound), values[0])
        return "uninit" if sizes or one_size or len(call.args) >= 2 else ""


def _not_rebound(env: dict[str, Any], rebound: set[str]) -> dict[str, Any]:
    """``env`` without the locals ``__init__`` assigned: a name that is a constructor
    parameter is read as a size, a local (``scale = torch.randn(...)``) is not."""
    return {k: v for k, v in env.items() if k not in rebound} if rebound else env


def _one_dim_size(node: ast.AST, env: dict[str, Any], value: Any) -> bool:
    """Is a lone factory argument a size (one dimension) rather than a shape tuple?"""
    if isinstance(value, int):
        return True
    name = dotted(node) or ""
    last = name.rsplit(".", 1)[-1].lower()
    if not name or last.endswith(("shape", "dims")) or last in ("size", "sizes"):
        return False
    return isinstance(node, ast.Attribute) or name in env or isinstance(node, ast.BinOp)
