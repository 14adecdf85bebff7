"""Init sites: the writes of a parameter's values that one statement or call makes.

``nn.init.*`` calls, in-place tensor methods (``w.normal_()``), item and augmented
assignments (``w.data[0] = 0``, ``w *= 2``), a parameter replaced outside ``__init__``, and
helpers handed a parameter (``trunc_normal_(m.weight)``). Each becomes an
:class:`~initlint.extract.facts.InitSite` with the tests, ``no_grad`` and loop bindings of
the :class:`~initlint.extract.scope.Scope` it runs in; the statement reader records it.
"""

from __future__ import annotations

import ast
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.extract.facts import InitSite, LoopBinding, SiteStyle, Target
from initlint.extract.imports import dotted
from initlint.extract.scope import FileScope, Positions, Scope


class SiteReader:
    """Builds the init sites of one file's statements and calls."""

    def __init__(self, names: FileScope, pos: Positions):
        self.names = names
        self.pos = pos

    def helper_site(self, call: ast.Call, ref: str, scope: Scope, stmt: ast.stmt,
                    parent: ast.AST | None) -> InitSite | None:
        """``trunc_normal_(m.weight, std=.02)`` with a helper we cannot see into (timm's,
        a project's own): it writes that parameter somehow (style "helper", kind unknown)."""
        target = self.target(call.args[0], scope)
        if (target.base and target.attr in ("weight", "bias") and not target.copy
                and ref.rsplit(".", 1)[-1] not in ("isinstance", "hasattr", "getattr", "len")):
            return self.init_site(call, ref.rsplit(".", 1)[-1], "helper", scope, stmt, parent,
                                  target)
        return None

    def init_site(self, call: ast.Call, func: str, style: SiteStyle, scope: Scope, stmt: ast.stmt,
                  parent: ast.AST | None, target: Target | None = None) -> InitSite:
        """The site of an init ``call`` (``style`` "init", "alias", "inplace", "helper");
        ``target`` is read from its first argument unless given."""
        if style == "helper":
            params: tuple[str, ...] = ()
            arg_nodes: list[ast.expr] = []
        elif style == "inplace":
            params = _INPLACE_PARAMS.get(func, ())
            arg_nodes = list(call.args)
        else:
            base_name = api.DEPRECATED_ALIASES.get(func, func)
            params = api.INIT_FUNCTIONS[base_name].params
            arg_nodes = list(call.args[1:])
            tensor = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg == "tensor"), None)
            target = self.target(tensor, scope) if tensor is not None else Target("", "", "")
        args: list[tuple[str, Any]] = []
        arg_spans: list[tuple[str, Span]] = []
        literal: list[str] = []
        for name, node in zip(params, arg_nodes, strict=False):  # extra args: TypeError anyway
            args.append((name, self.names.value(node, scope.env)))
            arg_spans.append((name, self.pos.span(node)))
            if _constant(node, scope):
                literal.append(name)
        for keyword in call.keywords:
            if keyword.arg and keyword.arg != "tensor":
                key = (_INPLACE_ALIASES.get(keyword.arg, keyword.arg) if style == "inplace"
                       else keyword.arg)
                args.append((key, self.names.value(keyword.value, scope.env)))
                arg_spans.append((key, self.pos.span(keyword.value)))
                if _constant(keyword.value, scope):
                    literal.append(key)
                if keyword.arg == "gain":
                    gain_name = _gain_name(keyword.value, self.names, scope)
                    if gain_name:
                        args.append(("gain_name", gain_name))
        for name, node in zip(params, arg_nodes, strict=False):
            if name == "gain":
                gain_name = _gain_name(node, self.names, scope)
                if gain_name:
                    args.append(("gain_name", gain_name))
        assigned = ""
        wrapped = False
        if isinstance(parent, ast.Call) and self.names.qualify(parent.func, scope) == api.PARAMETER:
            wrapped = True
        if isinstance(stmt, ast.Assign) and stmt.value is call:
            assigned = ",".join(dotted(t) or "" for t in stmt.targets)
        func_node = call.func
        name_span = self.pos.span(func_node)
        if isinstance(func_node, ast.Attribute) and func_node.end_col_offset is not None:
            start = func_node.end_col_offset - len(func_node.attr)
            row = func_node.end_lineno or func_node.lineno
            name_span = _Span(row, self.pos.column(row, start), row,
                              self.pos.column(row, func_node.end_col_offset))
        assert target is not None
        return InitSite(
            func=func,
            style=style,
            target=target,
            args=tuple(args),
            span=self.pos.span(call),
            name_span=name_span,
            conditions=scope.conditions,
            no_grad=scope.no_grad,
            function=scope.function,
            statement_span=self.pos.span(stmt),
            discarded=isinstance(stmt, ast.Expr) and stmt.value is call,
            assigned_to=assigned,
            wrapped=wrapped,
            indent=self.pos.indent(stmt.lineno),
            arg_spans=tuple(arg_spans),
            bindings=_bindings(scope),
            literal_args=tuple(literal),
        )

    def item_assignment(self, stmt: ast.Assign, target_node: ast.Subscript,
                        scope: Scope) -> InitSite | None:
        """``emb.weight.data[pad] = 0`` writes part of a tensor, as ``[pad].fill_(0)`` does
        (``copy_`` when the value is not a number)."""
        target = self.target(target_node, scope)
        if not target.base or not target.index or not (target.attr or target.base in
                                                      scope.loops or target.via_data):
            return None
        value = self.names.value(stmt.value, scope.env)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        span = self.pos.span(stmt)
        return InitSite("fill_" if number else "copy_", "inplace", target,
                        (("val" if number else "src", value),), span, span,
                        scope.conditions, scope.no_grad, scope.function, span, False,
                        indent=self.pos.indent(stmt.lineno),
                        bindings=_bindings(scope))

    def param_assignment(self, stmt: ast.Assign, target_node: ast.expr,
                         scope: Scope) -> InitSite | None:
        """``layer.bias = nn.Parameter(...)`` replaces a parameter (in ``__init__``, of a
        submodule: ``self.gate.bias = ...``), and ``p.data = ...`` its values: a write of it
        (style "assign") that coverage rules must see."""
        if not isinstance(target_node, ast.Attribute):
            return None
        if target_node.attr == "data":
            return self._data_assignment(stmt, target_node, scope)
        if target_node.attr not in ("weight", "bias"):
            return None
        target = self.target(target_node, scope)
        if not target.base or (target.base == "self" and not target.path):
            return None
        if scope.function.endswith(".__init__") and target.base != "self":
            return None  # a local layer being built: its parameter, not a write of ours
        span = self.pos.span(stmt)
        return InitSite("assign", "assign", target, (), span, span, scope.conditions,
                        scope.no_grad, scope.function, span, False,
                        indent=self.pos.indent(stmt.lineno),
                        bindings=_bindings(scope))

    def _data_assignment(self, stmt: ast.Assign, target_node: ast.Attribute,
                         scope: Scope) -> InitSite | None:
        """``self.freq.data = torch.pow(...)``, ``p.data = ...``: the tensor's values are
        replaced (style "assign", through ``.data``)."""
        target = self.target(target_node, scope)
        if not target.base or not (target.attr or target.base in scope.loops
                                   or target.base in scope.params):
            return None
        if (scope.function.endswith(".__init__") and target.base != "self"
                and target.base not in scope.loops):
            return None  # a local layer being built
        span = self.pos.span(stmt)
        return InitSite("data", "assign", target, (), span, span, scope.conditions,
                        scope.no_grad, scope.function, span, False,
                        indent=self.pos.indent(stmt.lineno), bindings=_bindings(scope))

    def registration(self, call: ast.Call, scope: Scope, stmt: ast.stmt) -> InitSite | None:
        """``m.register_parameter("bias", nn.Parameter(...))`` and ``setattr(m, "bias",
        nn.Parameter(...))`` replace a parameter as ``m.bias = nn.Parameter(...)`` does: a
        write of it (style "assign"). ``self``'s own (``self.register_parameter(...)`` in
        ``__init__``) are parameters the layer reader records; ``None`` writes nothing."""
        func = call.func
        if (isinstance(func, ast.Attribute) and func.attr == "register_parameter"
                and len(call.args) == 2):
            owner, name, value = func.value, call.args[0], call.args[1]
        elif dotted(func) == "setattr" and len(call.args) == 3:
            owner, name, value = call.args
            if not (isinstance(value, ast.Call)
                    and self.names.qualify(value.func, scope) == api.PARAMETER):
                return None  # setattr of anything else: a module, a flag
        else:
            return None
        attr = self.names.value(name, scope.env)
        owner_name = dotted(owner) or ""
        if (not isinstance(attr, str) or not owner_name or owner_name == "self"
                or (isinstance(value, ast.Constant) and value.value is None)):
            return None
        if scope.function.endswith(".__init__") and not owner_name.startswith("self."):
            return None  # a local layer being built
        base, _, path = owner_name.partition(".")
        target = Target(base, path, attr, text=f"{owner_name}.{attr}")
        span = self.pos.span(stmt)
        return InitSite("assign", "assign", target, (), span, span, scope.conditions,
                        scope.no_grad, scope.function, span, False,
                        indent=self.pos.indent(stmt.lineno), bindings=_bindings(scope))

    def augassign(self, stmt: ast.AugAssign, scope: Scope) -> InitSite | None:
        """``w *= 2``: an in-place write, as ``w.mul_(2)`` is."""
        target = self.target(stmt.target, scope)
        if target.base and (target.attr or target.base in scope.loops):
            op = {ast.Add: "add_", ast.Sub: "sub_", ast.Mult: "mul_", ast.Div: "div_"}.get(
                type(stmt.op))
            if op:
                span = self.pos.span(stmt)
                return InitSite(op, "inplace", target,
                                (("value", self.names.value(stmt.value, scope.env)),),
                                span, span, scope.conditions, scope.no_grad,
                                scope.function, span, True,
                                indent=self.pos.indent(stmt.lineno),
                                bindings=_bindings(scope))
        return None

    def target(self, node: ast.AST, scope: Scope) -> Target:
        """Understand the tensor expression an init call writes to."""
        via_data = index = reshaped = False
        copy = ""
        text = ast.unparse(node) if isinstance(node, ast.AST) else ""
        hops = 0
        while True:
            if isinstance(node, ast.Name) and node.id in scope.aliases and hops < 8:
                node = scope.aliases[node.id]  # ``w = self.fc.weight``: what the local names
                hops += 1
                continue
            out = out_argument(node)
            if out is not None:  # ``torch.f(..., out=t)`` returns ``t``
                node = out
                text = ast.unparse(node)
                continue
            if isinstance(node, ast.Call) and isinstance(func := node.func, ast.Attribute):
                method = func.attr
                if method in api.INPLACE_INIT_METHODS:  # ``t.normal_()`` returns ``t``
                    node = func.value
                    text = ast.unparse(node)
                    continue
                if method in api.COPYING_METHODS:
                    copy = copy or method
                    node = func.value
                    continue
                if method == "detach":
                    via_data = True  # shares storage, no autograd: like ``.data``
                    node = func.value
                    continue
                if method in api.VIEW_METHODS:
                    reshaped = True
                    node = func.value
                    continue
                break
            if isinstance(node, ast.Attribute) and node.attr == "data":
                via_data = True
                node = node.value
                continue
            if isinstance(node, ast.Subscript):
                entry = _state_dict_entry(node, scope)
                if entry is not None:  # ``m.state_dict()[k]``: the tensor, detached
                    return Target(entry, "", "", True, index or reshaped, copy, text)
                index = True
                node = node.value
                continue
            break
        index = index or reshaped  # a view or slice: its shape is not the parameter's
        if isinstance(node, ast.Call):
            qualified = self.names.qualify(node.func, scope)
            if qualified in api.TENSOR_FACTORIES:
                return Target("", "", "", via_data, index, qualified, text)
            if dotted(node.func) == "getattr" and len(node.args) >= 2:
                attr = self.names.value(node.args[1], scope.env)
                owner = dotted(node.args[0])
                if isinstance(attr, str) and owner:
                    base, _, path = owner.partition(".")
                    return Target(base, path, attr, via_data, index, copy, text)
            return Target("", "", "", via_data, index, copy, text)
        name = dotted(node) or _indexed_dotted(node)
        if name is None:
            return Target("", "", "", via_data, index, copy, text)
        parts = name.split(".")
        if len(parts) == 1:
            return Target(parts[0], "", "", via_data, index, copy, text)
        return Target(parts[0], ".".join(parts[1:-1]), parts[-1], via_data, index, copy, text)



_INPLACE_PARAMS = {"normal_": ("mean", "std"), "uniform_": ("a", "b"), "fill_": ("val",),
                   "copy_": ("src",), "mul_": ("value",), "div_": ("value",),
                   "add_": ("value",), "sub_": ("value",)}
_INPLACE_ALIASES = {"from": "a", "to": "b", "value": "val"}


def _Span(row: int, col: int, end_row: int, end_col: int) -> Span:  # noqa: N802
    return Span(row, col, end_row, end_col)


def _gain_name(node: ast.AST, names: FileScope, scope: Scope) -> str:
    if (isinstance(node, ast.Call) and names.qualify(node.func, scope) == api.CALCULATE_GAIN
            and node.args):
        value = names.value(node.args[0], scope.env)
        return value if isinstance(value, str) else ""
    return ""


def _indexed_dotted(node: ast.AST) -> str | None:
    """``self.layers[-1].weight`` → "self.layers.-1.weight"; an index that is not a literal
    int becomes "*" (every element: ``self.layers[i]`` in a loop over them)."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if (isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub)
                    and isinstance(key.operand, ast.Constant)):
                parts.append(f"-{key.operand.value!s}")  # !s: what format() gave
            elif isinstance(key, ast.Constant) and isinstance(key.value, (int, str)):
                parts.append(str(key.value))
            else:
                parts.append("*")
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return None


def _bindings(scope: Scope) -> tuple[LoopBinding, ...]:
    return tuple(dict.fromkeys(scope.loops.values()))


def state_dict_walk(node: ast.AST) -> tuple[str, str] | None:
    """``m.state_dict()`` (its keys), ``.keys()``, ``.items()``, ``.values()`` → (``m``,
    which)."""
    kind = "keys"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args
            and node.func.attr in ("keys", "items", "values")):
        kind, node = node.func.attr, node.func.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "state_dict" and not node.args):
        owner = dotted(node.func.value)
        return (owner, kind) if owner else None
    return None


def _state_dict_entry(node: ast.Subscript, scope: Scope) -> str | None:
    """``m.state_dict()[k]`` with ``k`` a name of a loop over ``m.state_dict()``: that loop's
    tensor variable."""
    walked = state_dict_walk(node.value)
    if walked is None or walked[1] != "keys" or not isinstance(node.slice, ast.Name):
        return None
    key = node.slice.id
    for binding in scope.loops.values():
        if (binding.source == "state_dict" and binding.name_var == key
                and binding.var != key and binding.receiver == walked[0]):
            return binding.var
    return None


def out_argument(node: ast.AST) -> ast.expr | None:
    """The ``out=`` tensor of a call: the call writes it and returns it."""
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "out":
                return keyword.value
    return None



def _constant(node: ast.expr, scope: Scope) -> bool:
    """An argument written as a constant: it reads no name of the function (parameters,
    locals, ``self``), only literals and module-level names (``math.log(1 / 0.07)``)."""
    return not any(isinstance(n, ast.Name) and (n.id in scope.shadowed or n.id in (
        "self", "cls")) for n in ast.walk(node))
