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
    """``self`` parameters the body adds 1 to (``1 + self.weight``, ``self.w.float() + 1.0``)."""
    found: list[str] = []
    for node in ast.walk(fn):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
            continue
        for one, other in ((node.left, node.right), (node.right, node.left)):
            if _is_one(one):
                name = _self_param(other)
                if name and name not in found:
                    found.append(name)
    return tuple(found)


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
