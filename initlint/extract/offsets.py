"""Parameters ``forward`` uses with a unit offset: ``x * (1 + self.weight)`` (Gemma-style
RMSNorm, adaptive norms): the layer scales by 1 + the parameter, so the parameter's neutral
value is 0, not 1 (INI107)."""

from __future__ import annotations

import ast

from initlint.extract.astutil import self_attr

#: Methods that change a tensor's dtype, device or shape, not its values.
_SAME_VALUES = frozenset({"float", "half", "bfloat16", "double", "to", "type_as", "view",
                          "reshape", "unsqueeze", "squeeze", "expand", "expand_as",
                          "contiguous", "flatten", "detach", "type"})


def unit_offsets(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """``self`` parameters the body scales by with 1 added: ``x * (1 + self.weight)``,
    ``F.layer_norm(x, shape, self.weight + 1.0, ...)`` (a product, or a norm's weight)."""
    found: list[str] = []
    for parent in ast.walk(fn):
        for node in _scaling_operands(parent):
            if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
                continue
            for one, other in ((node.left, node.right), (node.right, node.left)):
                name = _self_param(other) if _is_one(one) else None
                if name and name not in found:
                    found.append(name)
    return tuple(found)


def _scaling_operands(node: ast.AST) -> list[ast.expr]:
    """What ``node`` scales by: both factors of a product, the arguments of a norm call."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(
            func, ast.Name) else ""
        if name.endswith("norm"):
            return [*node.args, *(k.value for k in node.keywords)]
    return []


def _is_one(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and not isinstance(node.value, bool)
            and isinstance(node.value, (int, float)) and node.value == 1)


def _self_param(node: ast.expr) -> str | None:
    """``self.weight`` through value-keeping calls (``self.weight.float()``)."""
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
           and node.func.attr in _SAME_VALUES):
        node = node.func.value
    name = self_attr(node)
    return name if name is not None and "." not in name else None
