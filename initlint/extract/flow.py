"""The signal paths of ``forward``, by data flow.

Each returned value's path is the chain of module calls and activations that produced it
from the inputs; two joined paths (``a + b``, ``cat``) end a plain chain. Names are qualified
and constants folded by the file's :class:`~initlint.extract.scope.FileScope`.
"""

from __future__ import annotations

import ast

from initlint.core import torch_api as api
from initlint.extract.astutil import names_in, self_attr
from initlint.extract.facts import FlowStep, LayerFact
from initlint.extract.imports import dotted
from initlint.extract.layers import step_for_layer
from initlint.extract.scope import FileScope
from initlint.extract.tree_index import TreeIndex

#: Tensor operations that pass the signal through without a learned scale.
TRANSPARENT_CALLS = frozenset({
    "view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze",
    "unsqueeze", "size", "dim", "dropout", "dropout2d", "interpolate", "len", "range",
    "isinstance", "print", "int", "float", "pad", "type_as", "to",
    "clone", "detach", "chunk", "split", "expand", "expand_as", "view_as",
})


class FlowReader:
    """Reads the signal paths of one file's ``forward`` methods."""

    def __init__(self, names: FileScope, index: TreeIndex):
        self.names = names
        self.index = index

    def forward_flow(self, fn: ast.FunctionDef | ast.AsyncFunctionDef,
                     layers: list[LayerFact]) -> tuple[list[list[FlowStep]], bool]:
        """Signal paths of ``forward`` by data flow: each returned value's path is the chain
        of steps that produced it from the inputs (statement order alone would join
        parallel branches into one false chain)."""
        by_name = {layer.name: layer for layer in layers}
        inputs = {a.arg for a in fn.args.args[1:]}
        residual = any(_is_residual_add(node) for node in self.index.function(fn).adds)
        env: dict[str, list[FlowStep]] = {name: [] for name in inputs}
        outputs: list[list[FlowStep]] = []
        self._flow_block(fn.body, env, {}, by_name, outputs)
        return outputs, residual

    def _flow_block(self, body: list[ast.stmt], env: dict[str, list[FlowStep]],
                    aliases: dict[str, str], by_name: dict[str, LayerFact],
                    outputs: list[list[FlowStep]]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                path = self._path(stmt.value, env, aliases, by_name)
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        env[target.id] = path
                    elif isinstance(target, (ast.Tuple, ast.List)):
                        for name in names_in(target):
                            env[name] = [*path, FlowStep("opaque", "unpack")]
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                other = self._path(stmt.value, env, aliases, by_name)
                env[stmt.target.id] = _merge_paths([env.get(stmt.target.id, []), other])
            elif isinstance(stmt, ast.Return) and stmt.value is not None:
                value = stmt.value
                elts = (value.elts if isinstance(value, (ast.Tuple, ast.List)) else
                        [v for v in value.values if v is not None] if isinstance(value, ast.Dict)
                        else [value])
                outputs += [self._path(e, env, aliases, by_name) for e in elts]
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                self._flow_loop(stmt, env, aliases, by_name, outputs)
            elif isinstance(stmt, ast.If):
                self._flow_block(stmt.body, env, aliases, by_name, outputs)
                self._flow_block(stmt.orelse, env, aliases, by_name, outputs)
            elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.While, ast.Try)):
                self._flow_block(stmt.body, env, aliases, by_name, outputs)

    def _flow_loop(self, stmt: ast.For | ast.AsyncFor, env: dict[str, list[FlowStep]],
                   aliases: dict[str, str], by_name: dict[str, LayerFact],
                   outputs: list[list[FlowStep]]) -> None:
        """``for layer in self.layers: x = act(layer(x))`` repeats the body once per layer."""
        source = self_attr(stmt.iter)
        layer = by_name.get(f"{source}.*") if source else None
        if (isinstance(stmt.target, ast.Name) and layer is not None
                and isinstance(layer.count, int) and 0 < layer.count <= 64):
            inner = {**aliases, stmt.target.id: layer.name}
            for _ in range(layer.count):
                self._flow_block(stmt.body, env, inner, by_name, outputs)
            return
        assigned = {n.id for s in stmt.body for n in ast.walk(s)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self._flow_block(stmt.body, env, aliases, by_name, outputs)
        for name in assigned:
            env[name] = [*env.get(name, []), FlowStep("opaque", "loop")]

    def _path(self, node: ast.AST, env: dict[str, list[FlowStep]], aliases: dict[str, str],
              by_name: dict[str, LayerFact]) -> list[FlowStep]:
        """The steps that produced the value of ``node``."""
        if isinstance(node, ast.Name):
            return list(env.get(node.id, []))
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and self_attr(func) is None
                    and self.names.qualify(func) is None):
                base = self._path(func.value, env, aliases, by_name)  # x.relu(), x.view(...)
            else:
                positional = [a for a in node.args if not isinstance(a, ast.Starred)]
                base = self._path(positional[0], env, aliases, by_name) if positional else []
            if isinstance(func, ast.Name) and func.id in aliases:
                step = by_name.get(aliases[func.id])
                return [*base, step_for_layer(step, [])] if step else [*base,
                                                                         FlowStep("opaque", "?")]
            return [*base, *self._call_step(node, by_name)]
        if isinstance(node, ast.BinOp):
            return _merge_paths([self._path(node.left, env, aliases, by_name),
                                 self._path(node.right, env, aliases, by_name)])
        if isinstance(node, (ast.Tuple, ast.List)):
            return _merge_paths([self._path(e, env, aliases, by_name) for e in node.elts])
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            return self._path(node.value, env, aliases, by_name)
        if isinstance(node, ast.UnaryOp):
            return self._path(node.operand, env, aliases, by_name)
        if isinstance(node, ast.IfExp):
            return self._path(node.body, env, aliases, by_name)
        return []

    def _call_step(self, call: ast.Call, by_name: dict[str, LayerFact]) -> list[FlowStep]:
        attr = self_attr(call.func)
        if attr is not None:
            if attr in by_name:
                return [step_for_layer(by_name[attr], [])]
            return [FlowStep("opaque", attr)]
        if isinstance(call.func, ast.Name) and not self.names.qualify(call.func):
            return [FlowStep("module", call.func.id)]  # a loop variable over a ModuleList
        qualified = self.names.qualify(call.func)
        if qualified in api.SIGNAL_FACTORS:  # pooling, dropout, interpolate: a factor
            return [FlowStep("factor", qualified, params=self._factor_params(call))]
        if qualified in api.ACTIVATION_CALLABLES:
            slope = None
            if api.ACTIVATION_CALLABLES[qualified] == "leaky_relu":
                constants = self.names.constants
                slope = (self.names.value(call.args[1], constants) if len(call.args) > 1
                         else 0.01)
                for k in call.keywords:
                    if k.arg == "negative_slope":
                        slope = self.names.value(k.value, constants)
            return [FlowStep("act", api.ACTIVATION_CALLABLES[qualified], slope)]
        if isinstance(call.func, ast.Attribute):
            method = call.func.attr
            if method in api.ACTIVATION_METHODS and not call.args:
                return [FlowStep("act", api.ACTIVATION_METHODS[method])]
            if method in TRANSPARENT_CALLS:
                return []
        name = (qualified or dotted(call.func) or "").rsplit(".", 1)[-1]
        if name in TRANSPARENT_CALLS or (qualified or "").startswith(("torch.", "math.")):
            return [] if name in TRANSPARENT_CALLS else [FlowStep("opaque", name)]
        return [FlowStep("opaque", name or "call")]

    def _factor_params(self, call: ast.Call) -> tuple[tuple[str, object], ...]:
        """Literal arguments of a factor call: keywords, and the second positional as "1"."""
        constants = self.names.constants
        items = [(k.arg, self.names.value(k.value, constants)) for k in call.keywords if k.arg]
        if len(call.args) > 1 and not isinstance(call.args[1], ast.Starred):
            items.append(("1", self.names.value(call.args[1], constants)))
        return tuple(items)


def _merge_paths(paths: list[list[FlowStep]]) -> list[FlowStep]:
    """Two signal paths joined (``a + b``, ``cat``): not a plain chain any more."""
    live = [p for p in paths if p]
    if len(live) > 1:
        return [*max(live, key=len), FlowStep("opaque", "merge")]
    return list(live[0]) if live else []


def _is_residual_add(node: ast.BinOp | ast.AugAssign) -> bool:
    """``x = x + f(x)``, ``out += identity``, ``return x + self.block(x)``: one ``+`` of a
    forward's body, as the tree index lists them."""
    if isinstance(node, ast.BinOp):
        sides = (node.left, node.right)
        if any(isinstance(s, ast.Name) for s in sides) and any(
                any(isinstance(n, ast.Call) for n in ast.walk(s)) for s in sides):
            return True
        return all(isinstance(s, ast.Name) for s in sides)
    return isinstance(node.target, ast.Name) and isinstance(node.value, (ast.Name, ast.Call))
