"""Extract :class:`~initlint.facts.FileFacts` from one parsed file in a single pass per scope.

The walk keeps a small context (enclosing ``if`` tests, loop bindings, ``no_grad``) so that
every init site records the conditions under which it runs. Positions come free with the
tree; columns are converted to code points only for the nodes that become facts.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from initlint import torch_api as api
from initlint.facts import (
    UNKNOWN,
    CallRef,
    Chain,
    ClassFacts,
    Condition,
    Construction,
    FileFacts,
    FlowStep,
    FunctionFacts,
    InitSite,
    LayerFact,
    LoopBinding,
    ParamFact,
    Target,
)
from initlint.findings import Span
from initlint.imports import Resolver, build_import_table, dotted
from initlint.text import split_lines

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
FILE_NOQA = re.compile(r"#\s*initlint:\s*noqa\b", re.I)
NO_GRAD = {"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
           "torch.autograd.grad_mode.no_grad"}
LOOP_SOURCES = {"modules", "named_modules", "children", "named_children", "parameters",
                "named_parameters"}
#: Tensor operations that pass the signal through without a learned scale.
TRANSPARENT_CALLS = frozenset({
    "view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze",
    "unsqueeze", "size", "dim", "dropout", "dropout2d", "interpolate", "len", "range",
    "isinstance", "print", "int", "float", "pad", "type_as", "to",
    "clone", "detach", "chunk", "split", "expand", "expand_as", "view_as",
})


class Positions:
    """Converts ast's UTF-8 byte columns into 1-based code-point columns."""

    def __init__(self, text: str):
        self._lines = split_lines(text)

    def column(self, row: int, byte_col: int) -> int:
        if 0 < row <= len(self._lines):
            line = self._lines[row - 1]
            if not line.isascii():
                return len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace")) + 1
        return byte_col + 1

    def span(self, node: ast.AST) -> Span:
        row, end_row = node.lineno, node.end_lineno or node.lineno
        return Span(row, self.column(row, node.col_offset), end_row,
                    self.column(end_row, node.end_col_offset or node.col_offset))

    def indent(self, row: int) -> str:
        if 0 < row <= len(self._lines):
            line = self._lines[row - 1]
            return line[: len(line) - len(line.lstrip())]
        return ""


@dataclass
class Scope:
    """What is known while walking one function body."""

    function: str
    cls: str
    shadowed: frozenset[str]
    env: dict[str, Any]  # constant values of names (parameter defaults, module constants)
    nested: dict[str, str]  # names of nested functions → their qualname
    locals_built: dict[str, ast.expr] = field(default_factory=dict)  # var = nn.Linear(...)
    conditions: tuple[Condition, ...] = ()
    no_grad: bool = False
    loops: dict[str, LoopBinding] = field(default_factory=dict)
    order: int = 0


class Extractor:
    """Walks one module and collects its facts."""

    def __init__(self, path: str, text: str, tree: ast.Module, module: str, is_package: bool):
        self.path = path
        self.text = text
        self.tree = tree
        self.module = module
        self.pos = Positions(text)
        self.imports = build_import_table(tree, module, is_package)
        top_defs = {
            n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef,
                                                         ast.AsyncFunctionDef))
        }
        self.resolver = Resolver(self.imports, frozenset(top_defs))
        self.constants = self._module_constants()
        self.helpers = self._layer_helpers()
        self.sites: list[InitSite] = []
        self.functions: list[FunctionFacts] = []
        self.constructions: list[Construction] = []
        self.gain_calls: list[tuple[str, Any, Span]] = []
        self.references: set[tuple[str, str]] = set()
        self._calls: list[CallRef] = []
        self._loops: list[LoopBinding] = []
        self._has_init = False
        self._inits_only = True

    # --- names and values ----------------------------------------------------------

    def qualify(self, node: ast.AST, scope: Scope | None = None) -> str | None:
        return self.resolver.qualify(node, scope.shadowed if scope else frozenset())

    def _module_constants(self) -> dict[str, Any]:
        env: dict[str, Any] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    value = self.value(node.value, env)
                    if value is not UNKNOWN:
                        env[target.id] = value
        return env

    def value(self, node: ast.AST | None, env: dict[str, Any]) -> Any:
        """Constant-fold an expression; UNKNOWN when it depends on runtime values."""
        if node is None:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env.get(node.id, UNKNOWN)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, env)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                if isinstance(node.op, ast.USub):
                    return -operand
                if isinstance(node.op, ast.UAdd):
                    return operand
            if isinstance(node.op, ast.Not) and isinstance(operand, bool):
                return not operand
            return UNKNOWN
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left, env), self.value(node.right, env)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in (left, right)):
                return UNKNOWN
            try:
                return _BINOPS[type(node.op)](left, right)
            except (KeyError, ArithmeticError, ValueError, OverflowError):
                return UNKNOWN
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(e, env) for e in node.elts)
        if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1:
            name = dotted(node.func)
            arg = self.value(node.args[0], env)
            if name in ("math.sqrt", "np.sqrt", "numpy.sqrt") and isinstance(arg, (int, float)):
                return math.sqrt(arg) if arg >= 0 else UNKNOWN
            if self.qualify(node.func) == api.CALCULATE_GAIN and isinstance(arg, str):
                return api.GAINS.get(arg, UNKNOWN)
        if isinstance(node, ast.Call) and self.qualify(node.func) == api.CALCULATE_GAIN \
                and node.args and isinstance(self.value(node.args[0], env), str):
            name = self.value(node.args[0], env)
            if name == "leaky_relu" and len(node.args) > 1:
                slope = self.value(node.args[1], env)
                if isinstance(slope, (int, float)):
                    return api.leaky_relu_gain(slope)
            return api.GAINS.get(name, UNKNOWN)
        return UNKNOWN

    # --- module level ----------------------------------------------------------------

    def run(self) -> FileFacts:
        classes = []
        module_scope = Scope("", "", frozenset(), dict(self.constants), {})
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                classes.append(self._class(node, self.module))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node, self.module, "", {})
        # module-level statements (scripts: model.apply(fn), direct fills)
        self._calls, self._loops = [], []
        body = [n for n in self.tree.body
                if not isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        self._walk_body(body, module_scope)
        module_calls = tuple(self._calls)
        self._collect_references()
        noqa, file_noqa = self._noqa()
        return FileFacts(
            path=self.path,
            module=self.module,
            imports=self.imports,
            classes=tuple(classes),
            functions=tuple(self.functions),
            sites=tuple(self.sites),
            constructions=tuple(self.constructions),
            references=tuple(sorted(self.references)),
            calls_at_module_level=module_calls,
            gain_calls=tuple(self.gain_calls),
            noqa=noqa,
            file_noqa=file_noqa,
        )

    def _noqa(self) -> tuple[tuple[tuple[int, tuple[str, ...]], ...], bool]:
        rows = []
        file_noqa = False
        if not re.search("noqa", self.text, re.I):  # `# NOQA` counts too
            return (), False
        for row, line in enumerate(split_lines(self.text), 1):
            if "#" not in line or "noqa" not in line.lower():
                continue
            if FILE_NOQA.search(line):
                file_noqa = True
                continue
            match = NOQA.search(line)
            if match:
                codes = match.group("codes")
                rows.append((row, tuple(sorted(re.findall(r"[A-Z]+[0-9]+", codes.upper())))
                             if codes else ()))
        return tuple(rows), file_noqa

    def _collect_references(self) -> None:
        """Init-like names the file mentions, with the function that mentions them.

        Only names that could be init functions are kept (they contain "init", "reset" or
        "weight"): INI201 asks whether anything other than the function itself refers to it.
        """
        prefix = self.module

        def visit(node: ast.AST, owner: str) -> None:
            for child in ast.iter_child_nodes(node):
                inner = owner
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    inner = f"{owner}.{child.name}" if owner else child.name
                elif isinstance(child, ast.Attribute):
                    on_self = dotted(child.value) == "self" or (
                        isinstance(child.value, ast.Call) and dotted(child.value.func) == "super")
                    self._reference(("self." if on_self else ".") + child.attr, owner)
                elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                    self._reference(child.id, owner)
                elif isinstance(child, ast.Constant) and isinstance(child.value, str) \
                        and child.value.isidentifier():
                    self._reference("." + child.value, owner)
                visit(child, inner)

        visit(self.tree, prefix)

    def _reference(self, ref: str, owner: str) -> None:
        lowered = ref.lower()
        if "init" in lowered or "reset" in lowered or "weight" in lowered:
            self.references.add((ref, owner))

    def _layer_helpers(self) -> dict[str, ast.Call]:
        """Module-level functions that just return a layer.

        ``def conv3x3(...): return nn.Conv2d(...)`` builds a Conv2d wherever it is called.
        """
        helpers: dict[str, ast.Call] = {}
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
                if len(returns) == 1 and isinstance(returns[0].value, ast.Call):
                    helpers[node.name] = returns[0].value
        return helpers

    # --- classes ---------------------------------------------------------------------

    def _class(self, node: ast.ClassDef, prefix: str) -> ClassFacts:
        qualname = f"{prefix}.{node.name}" if prefix else node.name
        bases = tuple(self.qualify(b) or dotted(b) or "?" for b in node.bases)
        methods = []
        layers: list[LayerFact] = []
        params: list[ParamFact] = []
        chains: list[Chain] = []
        residual = False
        order: list[tuple[str, int]] = []
        for item in node.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            env = self._param_defaults(item)
            fn = self._function(item, qualname, qualname, env)
            methods.append(fn.qualname)
            if item.name == "__init__":
                found = self._init_layers(item, env)
                layers += found[0]
                params += found[1]
                chains += found[2]
                order += found[3]
            elif item.name in ("forward", "__call__"):
                paths, residual = self._forward_flow(item, layers)
                for steps in dict.fromkeys(tuple(p) for p in paths if p):
                    chains.append(Chain("forward", steps, self.pos.span(item)))
        is_seq_subclass = any(b == api.SEQUENTIAL for b in bases)
        if is_seq_subclass:
            init = next((i for i in node.body if isinstance(i, ast.FunctionDef)
                         and i.name == "__init__"), None)
            if init is not None:
                chains += self._sequential_super_chain(init, layers)
        return ClassFacts(
            name=node.name,
            qualname=qualname,
            bases=bases,
            span=self.pos.span(node),
            layers=tuple(layers),
            params=tuple(params),
            chains=tuple(chains),
            residual=residual,
            methods=tuple(methods),
            init_layer_order=tuple(order),
            sequential_subclass=is_seq_subclass,
        )

    def _param_defaults(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
        env = dict(self.constants)
        args = fn.args
        positional = args.posonlyargs + args.args
        defaulted = positional[len(positional) - len(args.defaults):]
        for arg, default in zip(defaulted, args.defaults, strict=True):
            env[arg.arg] = self.value(default, self.constants)
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                env[arg.arg] = self.value(kw_default, self.constants)
        for arg in positional + args.kwonlyargs:
            env.setdefault(arg.arg, UNKNOWN)
        return env

    # --- layers built in __init__ ----------------------------------------------------

    def _init_layers(self, fn: ast.FunctionDef, env: dict[str, Any]):
        layers: list[LayerFact] = []
        params: list[ParamFact] = []
        chains: list[Chain] = []
        order: list[tuple[str, int]] = []
        local_calls: dict[str, ast.expr] = {}
        for index, stmt in enumerate(fn.body):
            for sub in _flat_statements(stmt):
                if isinstance(sub, ast.Assign):
                    for target in sub.targets:
                        name = _self_attr(target)
                        if name is not None:
                            found = self._layer_from_expr(name, sub.value, env, local_calls)
                            layers += found[0]
                            chains += found[1]
                            order += [(layer.name, index) for layer in found[0]]
                            param = self._param_from_expr(name, sub.value, env)
                            if param is not None:
                                params.append(param)
                        elif isinstance(target, ast.Name):
                            local_calls[target.id] = sub.value
                            if isinstance(sub.value, (ast.List, ast.Tuple)):
                                _remember_list(local_calls, target.id, sub.value.elts, False)
                elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name) \
                        and isinstance(sub.value, (ast.List, ast.Tuple)):
                    _remember_list(local_calls, sub.target.id, sub.value.elts, True)
                elif isinstance(sub, ast.AnnAssign) and sub.value is not None:
                    name = _self_attr(sub.target)
                    if name is not None:
                        found = self._layer_from_expr(name, sub.value, env, local_calls)
                        layers += found[0]
                        chains += found[1]
                        order += [(layer.name, index) for layer in found[0]]
                elif isinstance(sub, ast.Expr) and isinstance(sub.value, ast.Call):
                    call = sub.value
                    func = dotted(call.func)
                    if isinstance(call.func, ast.Attribute) and isinstance(
                            call.func.value, ast.Name) and call.args and \
                            call.func.attr in ("append", "extend"):
                        items = call.args[0].elts if call.func.attr == "extend" and \
                            isinstance(call.args[0], (ast.List, ast.Tuple)) else call.args[:1]
                        _remember_list(local_calls, call.func.value.id, list(items), True)
                    container = _self_attr(call.func.value) if isinstance(
                        call.func, ast.Attribute) else None
                    if container is not None and call.func.attr == "append" and call.args:
                        # ``self.layers.append(nn.Linear(...))`` in a loop over range(n)
                        found = self._layer_from_expr(f"{container}.*", call.args[0], env,
                                                      local_calls)
                        count = _loop_count(fn, sub, self, env)
                        found = [replace(f, count=count) if f.name == f"{container}.*" else f
                                 for f in found[0]], found[1]
                        layers += found[0]
                        chains += found[1]
                        order += [(layer.name, index) for layer in found[0]]
                    if func == "self.add_module" and len(call.args) == 2:
                        key = self.value(call.args[0], env)
                        name = key if isinstance(key, str) else "?"
                        found = self._layer_from_expr(name, call.args[1], env, local_calls)
                        layers += found[0]
                        chains += found[1]
                        order += [(layer.name, index) for layer in found[0]]
        return layers, params, chains, order

    def _layer_from_expr(self, name: str, expr: ast.expr, env: dict[str, Any],
                         local_calls: dict[str, ast.expr]) -> tuple[list[LayerFact], list[Chain]]:
        if isinstance(expr, ast.Name) and expr.id in local_calls:
            # ``x = nn.Sequential(x, ...)`` refers to the earlier x: never loop on ourselves
            name_id = expr.id
            expr = local_calls[name_id]
            local_calls = {k: v for k, v in local_calls.items() if k != name_id}
        if isinstance(expr, ast.IfExp):
            a = self._layer_from_expr(name, expr.body, env, local_calls)
            b = self._layer_from_expr(name, expr.orelse, env, local_calls)
            return a[0] + b[0], a[1] + b[1]
        if not isinstance(expr, ast.Call):
            return [], []
        cls = self._class_of_call(expr)
        if cls is None:
            return [], []
        layer = self._layer_fact(name, cls, expr, env)
        layers = [layer]
        chains: list[Chain] = []
        if cls == api.SEQUENTIAL:
            children, steps, inner_chains = self._sequential_children(name, expr, env,
                                                                      local_calls)
            layers += children
            chains += inner_chains
            if steps:
                chains.append(Chain(name, tuple(steps), self.pos.span(expr)))
        elif cls in (api.MODULE_LIST, api.MODULE_DICT) and expr.args:
            layers += self._list_children(name, expr.args[0], env, local_calls)
        return layers, chains

    def _class_of_call(self, call: ast.Call) -> str | None:
        func = call.func
        qualified = self.qualify(func)
        if qualified is None:
            return None
        name = dotted(func) or ""
        if name in self.helpers and "." not in name:
            inner = self.helpers[name]
            inner_cls = self.qualify(inner.func)
            if inner_cls in api.LAYERS:
                return inner_cls
        return qualified

    def _layer_fact(self, name: str, cls: str, call: ast.Call, env: dict[str, Any],
                    count: Any = 1) -> LayerFact:
        args = tuple(self.value(a, env) for a in call.args if not isinstance(a, ast.Starred))
        star = any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords)
        kwargs = tuple((k.arg, self.value(k.value, env)) for k in call.keywords if k.arg)
        from_params = tuple(k.arg for k in call.keywords if k.arg and isinstance(k.value, ast.Name)
                            and k.value.id not in self.constants)
        from_params += tuple(str(i) for i, a in enumerate(call.args)
                             if isinstance(a, ast.Name) and a.id not in self.constants)
        name_ = dotted(call.func) or ""
        if name_ in self.helpers and "." not in name_:
            # a helper like conv3x3(): its own keywords are what the layer gets
            inner = self.helpers[name_]
            inner_kwargs = tuple((k.arg, self.value(k.value, self.constants))
                                 for k in inner.keywords if k.arg)
            kwargs = inner_kwargs + kwargs
            args, star = (), True
        fact = LayerFact(name, cls, args, kwargs, self.pos.span(call), count, star, from_params)
        return fact

    def _sequential_children(self, name: str, call: ast.Call, env: dict[str, Any],
                             local_calls: dict[str, ast.expr]):
        """Children of ``nn.Sequential(...)`` in order: (layers, steps, nested chains)."""
        layers: list[LayerFact] = []
        steps: list[FlowStep] = []
        chains: list[Chain] = []
        items: list[tuple[str, ast.expr]] = []
        if len(call.args) == 1 and isinstance(call.args[0], ast.Call) and (
                dotted(call.args[0].func) or "").endswith("OrderedDict"):
            inner = call.args[0].args[0] if call.args[0].args else None
            if isinstance(inner, (ast.List, ast.Tuple)):
                for elt in inner.elts:
                    if isinstance(elt, ast.Tuple) and len(elt.elts) == 2:
                        key = self.value(elt.elts[0], env)
                        items.append((_join(name, key), elt.elts[1]))
            else:
                steps.append(FlowStep("opaque", "OrderedDict"))
        else:
            for index, arg in enumerate(call.args):
                if isinstance(arg, ast.Starred):
                    star_steps = self._starred_children(name, arg.value, env, local_calls,
                                                        layers, chains)
                    steps += star_steps
                    if not star_steps or star_steps[-1].kind == "opaque":
                        break
                    continue
                items.append((_join(name, index), arg))
        for child_name, expr in items:
            found, inner_chains = self._layer_from_expr(child_name, expr, env, local_calls)
            if not found:
                steps.append(FlowStep("opaque", child_name))
                continue
            layers += found
            chains += inner_chains
            steps.append(_step_for_layer(found[0], inner_chains))
        return layers, steps, chains

    def _starred_children(self, name: str, value: ast.expr, env: dict[str, Any],
                          local_calls: dict[str, ast.expr], layers: list[LayerFact],
                          chains: list[Chain]) -> list[FlowStep]:
        """``*[Block() for _ in range(n)]`` repeats a child n times; ``*layers`` (a local
        list) adds layers whose order and repetition are not known."""
        if isinstance(value, (ast.ListComp, ast.GeneratorExp)) and isinstance(value.elt,
                                                                              ast.Call):
            gen = value.generators[0]
            count: Any = UNKNOWN
            if isinstance(gen.iter, ast.Call) and dotted(gen.iter.func) == "range" \
                    and len(gen.iter.args) == 1:
                count = self.value(gen.iter.args[0], env)
            found, inner = self._layer_from_expr(_join(name, "*"), value.elt, env, local_calls)
            if found:
                found[0] = replace(found[0], count=count)
                layers += found
                chains += inner
                if isinstance(count, int) and 0 < count <= 64:
                    return [_step_for_layer(found[0], inner)] * count
            return [FlowStep("opaque", "*comprehension")]
        listed = local_calls.get("*" + (dotted(value) or ""))
        if isinstance(listed, ast.List):
            for position, elt in enumerate(listed.elts):
                layers += self._layer_from_expr(_join(name, f"?{position}"), elt, env,
                                                local_calls)[0]
        return [FlowStep("opaque", "*args")]

    def _list_children(self, name: str, expr: ast.expr, env: dict[str, Any],
                       local_calls: dict[str, ast.expr]) -> list[LayerFact]:
        if isinstance(expr, (ast.List, ast.Tuple)):
            layers: list[LayerFact] = []
            for index, elt in enumerate(expr.elts):
                layers += self._layer_from_expr(f"{name}.{index}", elt, env, local_calls)[0]
            return layers
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)) and isinstance(expr.elt, ast.Call):
            count: Any = UNKNOWN
            gen = expr.generators[0]
            if isinstance(gen.iter, ast.Call) and dotted(gen.iter.func) == "range" \
                    and len(gen.iter.args) == 1:
                count = self.value(gen.iter.args[0], env)
            cls = self._class_of_call(expr.elt)
            if cls is not None:
                return [self._layer_fact(f"{name}.*", cls, expr.elt, env, count)]
        return []

    def _sequential_super_chain(self, init: ast.FunctionDef, layers: list[LayerFact]):
        """``class Block(nn.Sequential): def __init__(...): super().__init__(a, b, c)``."""
        for node in ast.walk(init):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "__init__" and isinstance(node.func.value, ast.Call) \
                    and dotted(node.func.value.func) == "super":
                fake = ast.Call(func=ast.Name("Sequential"), args=node.args, keywords=[])
                ast.copy_location(fake, node)
                env = self._param_defaults(init)
                children, steps, _ = self._sequential_children("", fake, env, {})
                layers += children
                if steps:
                    return [Chain("Sequential", tuple(steps), self.pos.span(node))]
        return []

    def _param_from_expr(self, name: str, expr: ast.expr, env: dict[str, Any]) -> ParamFact | None:
        if not (isinstance(expr, ast.Call) and self.qualify(expr.func) == api.PARAMETER
                and expr.args):
            return None
        inner = expr.args[0]
        while isinstance(inner, ast.BinOp):
            inner = inner.left
        ndim: Any = UNKNOWN
        if isinstance(inner, ast.Call) and self.qualify(inner.func) in api.TENSOR_FACTORIES:
            shape_args = [a for a in inner.args if not isinstance(a, ast.Starred)]
            if len(shape_args) == len(inner.args) and shape_args:
                if len(shape_args) == 1 and isinstance(shape_args[0], (ast.Tuple, ast.List)):
                    ndim = len(shape_args[0].elts)
                elif len(shape_args) == 1 and not _one_dim_size(shape_args[0], env,
                                                                self.value(shape_args[0], env)):
                    ndim = UNKNOWN  # one variable may hold a whole shape tuple
                elif not (self.qualify(inner.func) or "").endswith(("_like", "tensor", "Tensor")):
                    ndim = len(shape_args)
        return ParamFact(name, ndim, self.pos.span(expr))

    # --- forward: the signal path ----------------------------------------------------

    def _forward_flow(self, fn: ast.FunctionDef, layers: list[LayerFact]):
        """Signal paths of ``forward`` by data flow: each returned value's path is the chain
        of steps that produced it from the inputs (statement order alone would join
        parallel branches into one false chain)."""
        by_name = {layer.name: layer for layer in layers}
        inputs = {a.arg for a in fn.args.args[1:]}
        residual = any(_is_residual(stmt, inputs) for stmt in fn.body)
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
                        for name in _names_in(target):
                            env[name] = [*path, FlowStep("opaque", "unpack")]
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                other = self._path(stmt.value, env, aliases, by_name)
                env[stmt.target.id] = _merge_paths([env.get(stmt.target.id, []), other])
            elif isinstance(stmt, ast.Return) and stmt.value is not None:
                value = stmt.value
                elts = value.elts if isinstance(value, (ast.Tuple, ast.List)) else \
                    [v for v in value.values if v is not None] if isinstance(value, ast.Dict) \
                    else [value]
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
        source = _self_attr(stmt.iter)
        layer = by_name.get(f"{source}.*") if source else None
        if isinstance(stmt.target, ast.Name) and layer is not None \
                and isinstance(layer.count, int) and 0 < layer.count <= 64:
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
            if isinstance(func, ast.Attribute) and _self_attr(func) is None \
                    and self.qualify(func) is None:
                base = self._path(func.value, env, aliases, by_name)  # x.relu(), x.view(...)
            else:
                positional = [a for a in node.args if not isinstance(a, ast.Starred)]
                base = self._path(positional[0], env, aliases, by_name) if positional else []
            if isinstance(func, ast.Name) and func.id in aliases:
                step = by_name.get(aliases[func.id])
                return [*base, _step_for_layer(step, [])] if step else [*base,
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
        attr = _self_attr(call.func)
        if attr is not None:
            if attr in by_name:
                return [_step_for_layer(by_name[attr], [])]
            return [FlowStep("opaque", attr)]
        if isinstance(call.func, ast.Name) and not self.qualify(call.func):
            return [FlowStep("module", call.func.id)]  # a loop variable over a ModuleList
        qualified = self.qualify(call.func)
        if qualified in api.ACTIVATION_CALLABLES:
            slope = None
            if api.ACTIVATION_CALLABLES[qualified] == "leaky_relu":
                slope = self.value(call.args[1], self.constants) if len(call.args) > 1 else 0.01
                for k in call.keywords:
                    if k.arg == "negative_slope":
                        slope = self.value(k.value, self.constants)
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

    # --- functions and init sites ----------------------------------------------------

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, cls: str,
                  env: dict[str, Any], outer: Scope | None = None) -> FunctionFacts:
        qualname = f"{prefix}.{node.name}" if prefix else node.name
        params = tuple(a.arg for a in node.args.posonlyargs + node.args.args
                       + node.args.kwonlyargs)
        assigned = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)}
        shadowed = frozenset(params) | frozenset(assigned) | (outer.shadowed if outer else
                                                              frozenset())
        decorators = [self.qualify(d.func if isinstance(d, ast.Call) else d)
                      for d in node.decorator_list]
        no_grad = any(d in NO_GRAD for d in decorators) or bool(outer and outer.no_grad)
        static = any(dotted(d) == "staticmethod" for d in node.decorator_list)
        nested = dict(outer.nested) if outer else {}
        for item in ast.walk(node):
            if item is not node and isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                nested[item.name] = f"{qualname}.{item.name}"
        scope = Scope(qualname, cls, shadowed, {**self.constants, **self._param_defaults(node)},
                      nested, no_grad=no_grad)
        if outer is not None:
            scope.loops = dict(outer.loops)
        saved = (self._calls, self._loops, self._has_init, self._inits_only)
        self._calls, self._loops, self._has_init, self._inits_only = [], [], False, True
        for index, stmt in enumerate(node.body):
            scope.order = index  # calls are ordered by their top-level statement
            self._walk_body([stmt], scope)
        facts = FunctionFacts(
            name=node.name,
            qualname=qualname,
            cls=cls,
            params=params,
            span=self.pos.span(node),
            no_grad=no_grad,
            static=static,
            calls=tuple(self._calls),
            inits_only=self._has_init and self._inits_only,
            has_init_code=self._has_init,
            loops=tuple(self._loops),
        )
        self._calls, self._loops, self._has_init, self._inits_only = saved
        self.functions.append(facts)
        return facts

    def _walk_body(self, body: list[ast.stmt], scope: Scope) -> None:
        conditions = scope.conditions
        for stmt in body:
            sites_before = len(self.sites)
            self._statement(stmt, scope)
            if not _is_compound(stmt) and len(self.sites) == sites_before \
                    and not _is_inert(stmt):
                self._inits_only = False
            # ``if m.bias is None: return`` guards everything after it
            if isinstance(stmt, ast.If) and _exits(stmt.body) and not stmt.orelse:
                scope.conditions = scope.conditions + self._conditions(stmt.test, scope, False)
        scope.conditions = conditions

    def _statement(self, stmt: ast.stmt, scope: Scope) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if scope.function:
                self._function(stmt, scope.function, scope.cls, {}, outer=scope)
            return
        if isinstance(stmt, ast.ClassDef):
            return
        if isinstance(stmt, ast.If):
            self._expressions(stmt.test, scope, stmt)
            saved = scope.conditions
            scope.conditions = saved + self._conditions(stmt.test, scope, True)
            self._walk_body(stmt.body, scope)
            scope.conditions = saved + self._conditions(stmt.test, scope, False)
            self._walk_body(stmt.orelse, scope)
            scope.conditions = saved
            return
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self._expressions(stmt.iter, scope, stmt)
            binding = self._loop_binding(stmt, scope)
            saved_loops = dict(scope.loops)
            if binding is not None:
                scope.loops[binding.var] = binding
                if binding.name_var:
                    scope.loops[binding.name_var] = replace(binding, var=binding.name_var)
                self._loops.append(binding)
            else:
                for name in _names_in(stmt.target):
                    scope.loops.pop(name, None)
            self._walk_body(stmt.body, scope)
            scope.loops = saved_loops
            self._walk_body(stmt.orelse, scope)
            return
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            saved = scope.no_grad
            for item in stmt.items:
                expr = item.context_expr
                func = expr.func if isinstance(expr, ast.Call) else expr
                if self.qualify(func) in NO_GRAD:
                    scope.no_grad = True
                else:
                    self._expressions(expr, scope, stmt)
            self._walk_body(stmt.body, scope)
            scope.no_grad = saved
            return
        if isinstance(stmt, (ast.While,)):
            self._expressions(stmt.test, scope, stmt)
            self._walk_body(stmt.body, scope)
            self._walk_body(stmt.orelse, scope)
            return
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, *[h.body for h in stmt.handlers], stmt.orelse,
                          stmt.finalbody):
                self._walk_body(block, scope)
            return
        if isinstance(stmt, ast.Match):
            for case in stmt.cases:
                self._walk_body(case.body, scope)
            return
        if isinstance(stmt, ast.AugAssign):
            self._augassign(stmt, scope)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name) and isinstance(stmt.value, ast.Call):
                scope.locals_built[target.id] = stmt.value
            self._param_assignment(stmt, target, scope)
        self._expressions(stmt, scope, stmt)

    def _loop_binding(self, stmt: ast.For | ast.AsyncFor, scope: Scope) -> LoopBinding | None:
        iter_ = stmt.iter
        target = stmt.target
        if isinstance(iter_, ast.Call) and isinstance(iter_.func, ast.Attribute) \
                and iter_.func.attr in LOOP_SOURCES:
            receiver = dotted(iter_.func.value) or ""
            source = iter_.func.attr
            if isinstance(target, ast.Name):
                return LoopBinding(target.id, source, receiver, function=scope.function)
            if isinstance(target, ast.Tuple) and len(target.elts) == 2 \
                    and all(isinstance(e, ast.Name) for e in target.elts):
                name_var, var = target.elts[0].id, target.elts[1].id
                return LoopBinding(var, source, receiver, name_var, function=scope.function)
        receiver = _self_attr(iter_)
        if receiver is not None and isinstance(target, ast.Name):
            # ``for layer in self.layers:`` walks the container's children
            return LoopBinding(target.id, "iter", f"self.{receiver}", function=scope.function)
        if isinstance(iter_, (ast.List, ast.Tuple)) and isinstance(target, ast.Name):
            members = tuple(_self_attr(e) or "?" for e in iter_.elts)
            if "?" not in members:
                return LoopBinding(target.id, "list", "self", members=members,
                                   function=scope.function)
        return None

    def _conditions(self, test: ast.expr, scope: Scope, positive: bool) -> tuple[Condition, ...]:
        """Turn an ``if`` test into conditions; a negated conjunction becomes "other"."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._conditions(test.operand, scope, not positive)
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            if positive:
                return tuple(c for v in test.values for c in self._conditions(v, scope, True))
            parts = [self._conditions(v, scope, True) for v in test.values]
            return (Condition("other", "", tuple(parts), False),)
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
            parts = [self._conditions(v, scope, True) for v in test.values]
            merged = _merge_or(parts)
            if merged is not None:
                return (replace(merged, positive=positive),)
            if not positive:
                return tuple(c for v in test.values for c in self._conditions(v, scope, False))
            return (Condition("other", "", tuple(parts), True),)
        cond = self._condition(test, scope)
        return (replace(cond, positive=cond.positive == positive),)

    def _condition(self, test: ast.expr, scope: Scope) -> Condition:
        if isinstance(test, ast.Call):
            func = dotted(test.func)
            if func in ("isinstance", "issubclass") and len(test.args) == 2:
                subject = dotted(test.args[0]) or ""
                if subject.endswith(".__class__"):
                    subject = subject[: -len(".__class__")]
                types = test.args[1]
                elts = types.elts if isinstance(types, ast.Tuple) else [types]
                names = tuple(self.qualify(e, scope) or dotted(e) or "?" for e in elts)
                return Condition("isinstance", subject, names)
            if func == "hasattr" and len(test.args) == 2:
                attr = self.value(test.args[1], scope.env)
                return Condition("has_attr", f"{dotted(test.args[0])}.{attr}", ())
            if isinstance(test.func, ast.Attribute) and test.func.attr == "dim":
                return Condition("dim", dotted(test.func.value) or "", ("?", UNKNOWN))
            if func == "getattr" and len(test.args) >= 2:
                attr = self.value(test.args[1], scope.env)
                return Condition("not_none", f"{dotted(test.args[0])}.{attr}", ())
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, op, right = test.left, test.ops[0], test.comparators[0]
            if isinstance(op, (ast.IsNot, ast.Is)) and isinstance(right, ast.Constant) \
                    and right.value is None:
                subject = dotted(left) or "?"
                if isinstance(left, ast.Call) and dotted(left.func) == "getattr" \
                        and len(left.args) >= 2:
                    subject = f"{dotted(left.args[0])}.{self.value(left.args[1], scope.env)}"
                return Condition("not_none", subject, (), isinstance(op, ast.IsNot))
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(left, ast.Constant) \
                    and isinstance(left.value, str):
                subject = dotted(right) or ""
                kind = "classname" if _is_classname(right, scope) else "name_contains"
                return Condition(kind, subject, (left.value,), isinstance(op, ast.In))
            dim = _dim_condition(left, op, right)
            if dim is not None:
                return dim
            # classname.find('Conv') != -1
            if isinstance(left, ast.Call) and isinstance(left.func, ast.Attribute) \
                    and left.func.attr == "find" and left.args \
                    and isinstance(left.args[0], ast.Constant):
                return Condition("classname", dotted(left.func.value) or "",
                                 (left.args[0].value,), not isinstance(op, ast.Eq))
            if isinstance(op, ast.Eq) and isinstance(right, ast.Constant) \
                    and isinstance(right.value, str) and _is_classname(left, scope):
                return Condition("classname", dotted(left) or "", (right.value,), True)
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) \
                and test.func.attr in ("startswith", "endswith") and test.args:
            return Condition("name_contains", dotted(test.func.value) or "",
                             ("?",), True)
        if isinstance(test, ast.Attribute):
            # ``if m.bias:`` / ``if m.affine:`` / ``if self.use_bias:``
            return Condition("not_none", dotted(test) or "?", ())
        return Condition("other", ast.unparse(test) if len(self.text) < 2_000_000 else "", ())

    def _expressions(self, node: ast.AST, scope: Scope, stmt: ast.stmt) -> None:
        """Visit the calls in a statement's own expressions (not nested blocks)."""
        todo: list[ast.AST] = [node] if not isinstance(node, ast.stmt) else [
            child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.stmt)]
        parents: dict[int, ast.AST] = {}
        while todo:
            current = todo.pop()
            if isinstance(current, ast.Lambda):
                self._lambda(current, scope)
                continue
            if isinstance(current, ast.Call):
                self._call(current, scope, stmt, parents.get(id(current)))
            for child in ast.iter_child_nodes(current):
                parents[id(child)] = current
                todo.append(child)

    def _lambda(self, node: ast.Lambda, scope: Scope) -> None:
        name = f"<lambda:{node.lineno}:{node.col_offset}>"
        fn = ast.FunctionDef(name=name, args=node.args, body=[ast.Expr(node.body)],
                             decorator_list=[], returns=None, type_comment=None)
        ast.copy_location(fn, node)
        ast.copy_location(fn.body[0], node)
        fn.end_lineno, fn.end_col_offset = node.end_lineno, node.end_col_offset
        fn.body[0].end_lineno, fn.body[0].end_col_offset = node.end_lineno, node.end_col_offset
        self._function(fn, scope.function or self.module, scope.cls, {}, outer=scope)

    def _call(self, call: ast.Call, scope: Scope, stmt: ast.stmt, parent: ast.AST | None) -> None:
        qualified = self.qualify(call.func, scope)
        if qualified in api.LAYERS:
            self._construction(call, qualified, scope)
            return
        if qualified and qualified.startswith(api.INIT):
            name = qualified[len(api.INIT):]
            if name in api.INIT_FUNCTIONS or name in api.DEPRECATED_ALIASES:
                self._init_site(call, name, "alias" if name in api.DEPRECATED_ALIASES
                                else "init", scope, stmt, parent)
                return
            if name == "calculate_gain" and call.args:
                self.gain_calls.append((self.value(call.args[0], scope.env),
                                        self.value(call.args[1], scope.env)
                                        if len(call.args) > 1 else UNKNOWN,
                                        self.pos.span(call.args[0])))
                return
        if isinstance(call.func, ast.Attribute):
            method = call.func.attr
            if method in api.INPLACE_INIT_METHODS:
                target = self.target(call.func.value, scope)
                if target.base and (target.attr or target.base in scope.loops
                                    or target.via_data):
                    self._init_site(call, method, "inplace", scope, stmt, parent, target)
                    return
            receiver = dotted(call.func.value) or ""
            if method == "apply" and call.args:
                self._calls.append(CallRef("apply", self._function_ref(call.args[0], scope),
                                           receiver, (), self.pos.span(call), scope.no_grad,
                                           scope.order))
                return
            if receiver == "self":
                self._calls.append(CallRef("self_method", method, "self",
                                           tuple(dotted(a) or "" for a in call.args),
                                           self.pos.span(call), scope.no_grad, scope.order))
                return
            if receiver.startswith("super") or (isinstance(call.func.value, ast.Call) and
                                                dotted(call.func.value.func) == "super"):
                self._calls.append(CallRef("self_method", method, "super", (),
                                           self.pos.span(call), scope.no_grad, scope.order))
                return
        ref = self._function_ref(call.func, scope)
        args = tuple(dotted(a) or "" for a in call.args)
        if ref and not ref.startswith(_LIBRARY_PREFIXES):
            self._calls.append(CallRef("function", ref, "", args, self.pos.span(call),
                                       scope.no_grad, scope.order))
        elif not ref and isinstance(call.func, ast.Attribute) and _worth_recording(
                call.func, scope):
            self._calls.append(CallRef("method", call.func.attr, dotted(call.func.value) or "",
                                       args, self.pos.span(call), scope.no_grad, scope.order))
        # a function passed as an argument anywhere (named_apply(fn, self), partial(fn))
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            arg_ref = self._function_ref(arg, scope)
            if arg_ref and arg_ref != ref:
                self._calls.append(CallRef("apply" if _applies(call) else "ref", arg_ref,
                                           _apply_receiver(call), (), self.pos.span(call),
                                           scope.no_grad, scope.order))

    def _construction(self, call: ast.Call, cls: str, scope: Scope) -> None:
        fact = self._layer_fact("", cls, call, scope.env)
        self.constructions.append(Construction(cls, fact.kwargs, fact.args, fact.span,
                                               scope.cls, fact.star, fact.from_params))

    def _function_ref(self, node: ast.AST, scope: Scope) -> str:
        """The qualified name a function-valued expression refers to, or ""."""
        if isinstance(node, ast.Call) and (dotted(node.func) or "").endswith("partial") \
                and node.args:
            return self._function_ref(node.args[0], scope)
        if isinstance(node, ast.Lambda):
            return f"{scope.function or self.module}.<lambda:{node.lineno}:{node.col_offset}>"
        if isinstance(node, ast.Attribute) and dotted(node.value) in ("self", "cls") \
                and scope.cls:
            return f"{scope.cls}.{node.attr}"
        if isinstance(node, ast.Name) and node.id in scope.nested:
            return scope.nested[node.id]
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.resolver.qualify(node, scope.shadowed) or ""
        return ""

    def _init_site(self, call: ast.Call, func: str, style: str, scope: Scope, stmt: ast.stmt,
                   parent: ast.AST | None, target: Target | None = None) -> None:
        if style == "inplace":
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
        for name, node in zip(params, arg_nodes, strict=False):  # extra args: TypeError anyway
            args.append((name, self.value(node, scope.env)))
            arg_spans.append((name, self.pos.span(node)))
        for keyword in call.keywords:
            if keyword.arg and keyword.arg != "tensor":
                key = _INPLACE_ALIASES.get(keyword.arg, keyword.arg) if style == "inplace" \
                    else keyword.arg
                args.append((key, self.value(keyword.value, scope.env)))
                arg_spans.append((key, self.pos.span(keyword.value)))
                if keyword.arg == "gain":
                    gain_name = _gain_name(keyword.value, self, scope)
                    if gain_name:
                        args.append(("gain_name", gain_name))
        for name, node in zip(params, arg_nodes, strict=False):
            if name == "gain":
                gain_name = _gain_name(node, self, scope)
                if gain_name:
                    args.append(("gain_name", gain_name))
        assigned = ""
        wrapped = False
        if isinstance(parent, ast.Call) and self.qualify(parent.func, scope) == api.PARAMETER:
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
        self._has_init = True
        self.sites.append(InitSite(
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
        ))

    def _param_assignment(self, stmt: ast.Assign, target_node: ast.expr, scope: Scope) -> None:
        """``layer.bias = nn.Parameter(...)`` outside ``__init__`` replaces a parameter: a
        write of it (style "assign") that coverage rules must see."""
        if scope.function.endswith(".__init__") or not isinstance(target_node, ast.Attribute) \
                or target_node.attr not in ("weight", "bias"):
            return
        target = self.target(target_node, scope)
        if not target.base or (target.base == "self" and not target.path):
            return
        span = self.pos.span(stmt)
        self._has_init = True
        self.sites.append(InitSite("assign", "assign", target, (), span, span, scope.conditions,
                                   scope.no_grad, scope.function, span, False,
                                   indent=self.pos.indent(stmt.lineno)))

    def _augassign(self, stmt: ast.AugAssign, scope: Scope) -> None:
        target = self.target(stmt.target, scope)
        if target.base and (target.attr or target.base in scope.loops):
            op = {ast.Add: "add_", ast.Sub: "sub_", ast.Mult: "mul_", ast.Div: "div_"}.get(
                type(stmt.op))
            if op:
                self._has_init = True
                span = self.pos.span(stmt)
                self.sites.append(InitSite(op, "inplace", target,
                                           (("value", self.value(stmt.value, scope.env)),),
                                           span, span, scope.conditions, scope.no_grad,
                                           scope.function, span, True,
                                           indent=self.pos.indent(stmt.lineno)))

    def target(self, node: ast.AST, scope: Scope) -> Target:
        """Understand the tensor expression an init call writes to."""
        via_data = index = reshaped = False
        copy = ""
        text = ast.unparse(node) if isinstance(node, ast.AST) else ""
        while True:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in api.COPYING_METHODS:
                    copy = copy or method
                    node = node.func.value
                    continue
                if method == "detach":
                    via_data = True  # shares storage, no autograd: like ``.data``
                    node = node.func.value
                    continue
                if method in api.VIEW_METHODS:
                    reshaped = True
                    node = node.func.value
                    continue
                break
            if isinstance(node, ast.Attribute) and node.attr == "data":
                via_data = True
                node = node.value
                continue
            if isinstance(node, ast.Subscript):
                index = True
                node = node.value
                continue
            break
        index = index or reshaped  # a view or slice: its shape is not the parameter's
        if isinstance(node, ast.Call):
            qualified = self.qualify(node.func, scope)
            if qualified in api.TENSOR_FACTORIES:
                return Target("", "", "", via_data, index, qualified, text)
            if dotted(node.func) == "getattr" and len(node.args) >= 2:
                attr = self.value(node.args[1], scope.env)
                owner = dotted(node.args[0])
                if isinstance(attr, str) and owner:
                    base, _, path = owner.partition(".")
                    return Target(base, path, attr, via_data, index, copy, text)
            return Target("", "", "", via_data, index, copy, text)
        name = dotted(node)
        if name is None:
            return Target("", "", "", via_data, index, copy, text)
        parts = name.split(".")
        if len(parts) == 1:
            return Target(parts[0], "", "", via_data, index, copy, text)
        return Target(parts[0], ".".join(parts[1:-1]), parts[-1], via_data, index, copy, text)


_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Pow: lambda a, b: a**b if abs(b) < 64 else math.nan,
}
_INPLACE_PARAMS = {"normal_": ("mean", "std"), "uniform_": ("a", "b"), "fill_": ("val",),
                   "copy_": ("src",), "mul_": ("value",), "div_": ("value",),
                   "add_": ("value",), "sub_": ("value",)}
_INPLACE_ALIASES = {"from": "a", "to": "b", "value": "val"}


def _Span(row: int, col: int, end_row: int, end_col: int) -> Span:  # noqa: N802
    return Span(row, col, end_row, end_col)


def _gain_name(node: ast.AST, extractor: Extractor, scope: Scope) -> str:
    if isinstance(node, ast.Call) and extractor.qualify(node.func, scope) == api.CALCULATE_GAIN \
            and node.args:
        value = extractor.value(node.args[0], scope.env)
        return value if isinstance(value, str) else ""
    return ""


def _self_attr(node: ast.AST) -> str | None:
    """``self.a.b`` → "a.b"; anything else → None."""
    name = dotted(node)
    if name and name.startswith("self.") and name.count(".") >= 1:
        return name[len("self."):]
    return None


def _step_for_layer(layer: LayerFact, inner_chains: list[Chain]) -> FlowStep:
    if layer.cls in api.ACTIVATION_CALLABLES:
        act = api.ACTIVATION_CALLABLES[layer.cls]
        slope = layer.arg("negative_slope", 0, 0.01) if act == "leaky_relu" else None
        return FlowStep("act", act, slope)
    return FlowStep("module", layer.name, layer=layer)


def _flat_statements(stmt: ast.stmt):
    """A statement and those nested in its if/for/with/try blocks (not in nested defs)."""
    yield stmt
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for name in ("body", "orelse", "finalbody"):
        for child in getattr(stmt, name, []) or []:
            if isinstance(child, ast.stmt):
                yield from _flat_statements(child)
    for handler in getattr(stmt, "handlers", []) or []:
        for child in handler.body:
            yield from _flat_statements(child)


_LIBRARY_PREFIXES = ("torch.", "math.", "numpy.", "typing.", "collections.", "functools.",
                     "warnings.", "logging.", "os.", "einops.")


def _worth_recording(func: ast.Attribute, scope: Scope) -> bool:
    """Method calls the linker follows: on self or a parameter (``m.reset_parameters()``),
    or named like an init (``net.init_weights()``)."""
    head = (dotted(func.value) or "").split(".")[0]
    if head == "self" or (head in scope.shadowed and head in scope.env):
        return True
    lowered = func.attr.lower()
    return "init" in lowered or "reset" in lowered or "weight" in lowered


def _merge_paths(paths: list[list[FlowStep]]) -> list[FlowStep]:
    """Two signal paths joined (``a + b``, ``cat``): not a plain chain any more."""
    live = [p for p in paths if p]
    if len(live) > 1:
        return [*max(live, key=len), FlowStep("opaque", "merge")]
    return list(live[0]) if live else []


def _join(prefix: str, name: object) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _remember_list(local_calls: dict[str, ast.expr], name: str, elts: list[ast.expr],
                   extend: bool) -> None:
    """Track ``layers = [...]`` / ``layers.append(x)`` / ``layers += [...]`` in ``__init__``."""
    key = "*" + name
    previous = local_calls.get(key)
    before = list(previous.elts) if extend and isinstance(previous, ast.List) else []
    local_calls[key] = ast.List(elts=before + list(elts), ctx=ast.Load())


def _loop_count(fn: ast.FunctionDef, stmt: ast.stmt, extractor: Extractor,
                env: dict[str, Any]) -> Any:
    """How often ``stmt`` runs: the product of the ``range(n)`` loops around it in ``fn``."""
    def walk(body: list[ast.stmt], count: Any) -> Any:
        for node in body:
            if node is stmt:
                return count
            if isinstance(node, ast.For):
                inner: Any = UNKNOWN
                if isinstance(node.iter, ast.Call) and dotted(node.iter.func) == "range" \
                        and len(node.iter.args) == 1:
                    n = extractor.value(node.iter.args[0], env)
                    inner = n * count if isinstance(n, int) and isinstance(count, int) \
                        else UNKNOWN
                found = walk(node.body, inner)
                if found is not None:
                    return found
            for name in ("body", "orelse", "finalbody"):
                if not isinstance(node, ast.For) and isinstance(getattr(node, name, None), list):
                    found = walk(getattr(node, name), count)
                    if found is not None:
                        return found
        return None

    result = walk(fn.body, 1)
    return UNKNOWN if result is None else result


def _one_dim_size(node: ast.AST, env: dict[str, Any], value: Any) -> bool:
    """Is a lone factory argument a size (one dimension) rather than a shape tuple?"""
    if isinstance(value, int):
        return True
    name = dotted(node) or ""
    last = name.rsplit(".", 1)[-1].lower()
    if not name or last.endswith(("shape", "dims")) or last in ("size", "sizes"):
        return False
    return isinstance(node, ast.Attribute) or name in env or isinstance(node, ast.BinOp)


def _is_compound(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                             ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def _is_inert(stmt: ast.stmt) -> bool:
    """Docstrings, ``pass``, bare ``return``: statements that do no work."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    return isinstance(stmt, (ast.Pass, ast.Continue, ast.Break)) or (
        isinstance(stmt, ast.Return) and stmt.value is None)


def _exits(body: list[ast.stmt]) -> bool:
    return len(body) == 1 and isinstance(body[0], (ast.Return, ast.Continue, ast.Raise))


def _names_in(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _merge_or(parts: list[tuple[Condition, ...]]) -> Condition | None:
    """``isinstance(m, A) or isinstance(m, B)`` is ``isinstance(m, (A, B))``."""
    if not parts or any(len(p) != 1 for p in parts):
        return None
    first = parts[0][0]
    if not all(p[0].kind == first.kind and p[0].subject == first.subject and p[0].positive
               for p in parts):
        return None
    if first.kind not in ("isinstance", "classname", "name_contains"):
        return None
    return Condition(first.kind, first.subject, tuple(v for p in parts for v in p[0].values))


def _is_classname(node: ast.AST, scope: Scope) -> bool:
    text = dotted(node) or ""
    if text.endswith("__name__"):
        return True
    built = scope.locals_built.get(text)
    if built is not None:
        return False
    return "classname" in text.lower() or "class_name" in text.lower()


def _dim_condition(left: ast.AST, op: ast.cmpop, right: ast.AST) -> Condition | None:
    """``p.dim() > 1``, ``p.ndim >= 2``, ``len(p.shape) > 1``."""
    subject = ""
    if isinstance(left, ast.Call) and isinstance(left.func, ast.Attribute) \
            and left.func.attr in ("dim", "ndimension") and not left.args:
        subject = dotted(left.func.value) or ""
    elif isinstance(left, ast.Attribute) and left.attr == "ndim":
        subject = dotted(left.value) or ""
    elif isinstance(left, ast.Call) and dotted(left.func) == "len" and left.args \
            and isinstance(left.args[0], ast.Attribute) and left.args[0].attr in ("shape",):
        subject = dotted(left.args[0].value) or ""
    elif isinstance(left, ast.Call) and dotted(left.func) == "len" and left.args \
            and isinstance(left.args[0], ast.Call) and isinstance(left.args[0].func,
                                                                  ast.Attribute) \
            and left.args[0].func.attr == "size":
        subject = dotted(left.args[0].func.value) or ""
    if not subject or not isinstance(right, ast.Constant) or not isinstance(right.value, int):
        return None
    symbol = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==",
              ast.NotEq: "!="}.get(type(op))
    if symbol is None:
        return None
    return Condition("dim", subject, (symbol, right.value))


def _is_residual(stmt: ast.stmt, inputs: set[str]) -> bool:
    """``x = x + f(x)``, ``out += identity``, ``return x + self.block(x)``."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = (node.left, node.right)
            if any(isinstance(s, ast.Name) for s in sides) and any(
                    any(isinstance(n, ast.Call) for n in ast.walk(s)) for s in sides):
                return True
            if all(isinstance(s, ast.Name) for s in sides):
                return True
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) \
                and isinstance(node.target, ast.Name) and isinstance(node.value,
                                                                     (ast.Name, ast.Call)):
            return True
    return False


def _applies(call: ast.Call) -> bool:
    name = dotted(call.func) or ""
    return name.rsplit(".", 1)[-1].endswith("apply")


def _apply_receiver(call: ast.Call) -> str:
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        name = dotted(arg)
        if name and (name == "self" or name.startswith("self.")):
            return name
    return ""


def extract(path: str, text: str, tree: ast.Module, module: str, is_package: bool) -> FileFacts:
    """Facts for one file."""
    return Extractor(path, text, tree, module, is_package).run()
