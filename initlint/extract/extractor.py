"""Extract :class:`~initlint.extract.facts.FileFacts` from one parsed file, one pass a scope.

The walk keeps a small context (enclosing ``if`` tests, loop bindings, ``no_grad``) so that
every init site records the conditions under which it runs. Positions come free with the
tree; columns are converted to code points only for the nodes that become facts. What a
class builds lives in :mod:`initlint.extract.layers`, its ``forward`` signal paths in
:mod:`initlint.extract.flow`.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.core.text import split_lines
from initlint.core.torch_api import canonical
from initlint.extract.astutil import canonical_self, flat_statements, names_in, self_attr
from initlint.extract.expr import Expr, from_ast
from initlint.extract.facts import (
    UNKNOWN,
    AttrOf,
    CallRef,
    Chain,
    ClassFacts,
    Condition,
    Construction,
    FileFacts,
    FunctionFacts,
    InitSite,
    LayerFact,
    LoopBinding,
    ParamFact,
    Target,
)
from initlint.extract.flow import FlowReader
from initlint.extract.imports import Resolver, build_import_table, dotted
from initlint.extract.layers import LayerReader
from initlint.extract.tree_index import build_index, children
from initlint.extract.values import ClassRef, InstanceRef

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
FILE_NOQA = re.compile(r"#\s*initlint:\s*noqa\b", re.I)
NO_GRAD = {"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
           "torch.autograd.grad_mode.no_grad"}
LOOP_SOURCES = {"modules", "named_modules", "children", "named_children", "parameters",
                "named_parameters"}


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
    defs: dict[str, Expr] = field(default_factory=dict)  # local name → what it was assigned
    conditions: tuple[Condition, ...] = ()
    no_grad: bool = False
    loops: dict[str, LoopBinding] = field(default_factory=dict)
    order: int = 0
    # the function's own parameters that hold tensors handed in (not self/cls)
    params: frozenset[str] = frozenset()


class Extractor(LayerReader, FlowReader):
    """Walks one module and collects its facts."""

    def __init__(self, path: str, text: str, tree: ast.Module, module: str, is_package: bool):
        self.path = path
        self.text = text
        self.self_names = canonical_self(tree)
        self.tree = tree
        self.module = module
        self.pos = Positions(text)
        self.index = build_index(tree, module)
        self.imports = build_import_table(tree, module, is_package, self.index.imports)
        top_defs = {
            n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef,
                                                         ast.AsyncFunctionDef))
        }
        self.resolver = Resolver(self.imports, frozenset(top_defs))
        self.class_attrs: dict[str, dict[str, Any]] = {}
        self.deferred = False  # an AttrOf value was made: the linker must resolve it
        self.constants = self._module_constants()
        self.class_attrs = {f"{module}.{n.name}" if module else n.name: {}
                            for n in tree.body if isinstance(n, ast.ClassDef)}
        self.class_attrs = self._class_attributes()
        self.helpers = self._layer_helpers()
        self.factories = self._callback_factories()
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

    def _class_attributes(self) -> dict[str, dict[str, Any]]:
        """Attribute defaults of the file's classes (config objects): class-level constants
        and dataclass fields, and ``self.x = x`` in ``__init__`` with ``x``'s default."""
        out: dict[str, dict[str, Any]] = {}
        for node in self.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            attrs: dict[str, Any] = {}
            for item in node.body:
                if isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            attrs[target.id] = self.value(item.value, self.constants)
                elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    env = self._param_defaults(item)
                    for stmt in item.body:
                        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                            name = self_attr(stmt.targets[0])
                            if name is not None and "." not in name:
                                attrs[name] = self.value(stmt.value, env)
            qualname = f"{self.module}.{node.name}" if self.module else node.name
            out[qualname] = {k: v for k, v in attrs.items() if v is not UNKNOWN}
        return out

    def value(self, node: ast.AST | None, env: dict[str, Any]) -> Any:
        """Constant-fold an expression; UNKNOWN when it depends on runtime values."""
        if node is None:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and f"{node.value.id}.{node.attr}" in env:  # self.with_bias, set earlier
            return env[f"{node.value.id}.{node.attr}"]
        if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)) \
                and (dotted(node.value) or "").split(".")[0] in env:
            # config.hidden_size / self.config.init_std on objects built with their defaults
            owner = self.value(node.value, env)
            if isinstance(owner, InstanceRef):
                if owner.qualname not in self.class_attrs:  # a config class defined elsewhere
                    self.deferred = True
                    return AttrOf(owner.qualname, node.attr)
                return self.class_attrs[owner.qualname].get(node.attr, UNKNOWN)
            return UNKNOWN
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self._class_value(node)
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            built = self.qualify(node.func)
            if built in self.class_attrs:
                return InstanceRef(built)
        if isinstance(node, ast.JoinedStr):
            parts = [self.value(v.value if isinstance(v, ast.FormattedValue) else v, env)
                     for v in node.values]
            ok = all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in parts)
            return "".join(str(p) for p in parts) if ok else UNKNOWN
        if isinstance(node, ast.Call) and dotted(node.func) == "getattr" \
                and len(node.args) == 2:  # getattr(nn, f"BatchNorm{n}d")
            owner = self.qualify(node.args[0])
            attr = self.value(node.args[1], env)
            if owner and isinstance(attr, str) and attr.isidentifier():
                return _class_ref(canonical(f"{owner}.{attr}"))
        if isinstance(node, ast.BoolOp):  # ``norm_layer or nn.BatchNorm2d``: Python's rule
            result: Any = UNKNOWN
            for item in node.values:
                result = self.value(item, env)
                if result is UNKNOWN or isinstance(result, (AttrOf, InstanceRef)):
                    return UNKNOWN
                if bool(result) == isinstance(node.op, ast.Or):
                    return result
            return result
        if isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and type(node.ops[0]) in _IDENTITY_TESTS:  # ``norm_layer is None``
            left, right = self.value(node.left, env), self.value(node.comparators[0], env)
            if left is UNKNOWN or right is UNKNOWN or not (_plain(left) and _plain(right)):
                return UNKNOWN
            if type(node.ops[0]) in (ast.Is, ast.IsNot) and None not in (left, right):
                return UNKNOWN  # identity of two equal non-None values is CPython's choice
            return _IDENTITY_TESTS[type(node.ops[0])](left, right)
        if isinstance(node, ast.IfExp):
            test = self.value(node.test, env)
            if test is UNKNOWN or isinstance(test, (AttrOf, InstanceRef)):
                return UNKNOWN
            return self.value(node.body if test else node.orelse, env)
        if isinstance(node, ast.Call) and node.args and \
                self.qualify(node.func) == "functools.partial":
            held = self.value(node.args[0], env)  # partial(nn.GroupNorm, 32)
            if isinstance(held, ClassRef) and not held.args and not held.kwargs \
                    and not any(isinstance(a, ast.Starred) for a in node.args) \
                    and all(k.arg for k in node.keywords):
                return ClassRef(held.qualname,
                                tuple(self.value(a, env) for a in node.args[1:]),
                                tuple((k.arg, self.value(k.value, env)) for k in node.keywords))
            return UNKNOWN
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

    def _callback_factories(self) -> dict[str, str]:
        """Module functions that return a function they define (``def make_init(std):
        def init(m): ...; return init``): name → the returned function's qualname."""
        out: dict[str, str] = {}
        for node in self.tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            inner = {n.name for n in node.body if isinstance(n, (ast.FunctionDef,
                                                                  ast.AsyncFunctionDef))}
            returned = [n.value.id for n in node.body if isinstance(n, ast.Return)
                        and isinstance(n.value, ast.Name) and n.value.id in inner]
            if len(returned) == 1:
                prefix = f"{self.module}.{node.name}" if self.module else node.name
                out[node.name] = f"{prefix}.{returned[0]}"
        return out

    def _class_value(self, node: ast.AST) -> Any:
        """A class named by a global (``nn.BatchNorm2d``, an imported block) as a value."""
        qualified = self.qualify(node)
        return _class_ref(qualified) if qualified else UNKNOWN

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
        self.references |= self.index.references
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
            exports=_exports(self.constants.get("__all__")),
            deferred=self.deferred,
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
        aliases: tuple[tuple[str, str], ...] = ()
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
                aliases = found[4]
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
            attrs=_plain_attrs(self.class_attrs.get(qualname, {}), node),
            init_aliases=aliases,
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
            annotated = self.qualify(arg.annotation) if arg.annotation is not None else None
            env.setdefault(arg.arg, InstanceRef(annotated) if annotated in self.class_attrs
                           or _project_class(annotated) else UNKNOWN)
        return env

    # --- layers built in __init__ ----------------------------------------------------


    # --- forward: the signal path ----------------------------------------------------


    # --- functions and init sites ----------------------------------------------------

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, cls: str,
                  env: dict[str, Any], outer: Scope | None = None) -> FunctionFacts:
        qualname = f"{prefix}.{node.name}" if prefix else node.name
        params = tuple(a.arg for a in node.args.posonlyargs + node.args.args
                       + node.args.kwonlyargs)
        below = self.index.function(node)
        inner_defs = below.inner_defs
        shadowed = frozenset(params) | frozenset(below.stored) | (outer.shadowed if outer else
                                                                  frozenset())
        decorators = [self.qualify(d.func if isinstance(d, ast.Call) else d)
                      for d in node.decorator_list]
        no_grad = any(d in NO_GRAD for d in decorators) or bool(outer and outer.no_grad)
        static = any(dotted(d) == "staticmethod" for d in node.decorator_list)
        nested = dict(outer.nested) if outer else {}
        for item in inner_defs:
            nested[item.name] = f"{qualname}.{item.name}"
        env = {**self.constants, **self._param_defaults(node)}
        if cls in self.class_attrs and params[:1] == ("self",) and not static:
            env["self"] = InstanceRef(cls)  # self.init_std: the value __init__ gave it
        scope = Scope(qualname, cls, shadowed, env, nested, no_grad=no_grad,
                      params=frozenset(params) - {"self", "cls"})
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
            unused_params=_unused_params(below.body_names, params) if self._has_init else (),
            self_name=self.self_names.get((node.lineno, node.col_offset), "self"),
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
            for name in names_in(stmt.target):
                scope.defs.pop(name, None)
            binding = self._loop_binding(stmt, scope)
            saved_loops = dict(scope.loops)
            if binding is not None:
                scope.loops[binding.var] = binding
                if binding.name_var:
                    scope.loops[binding.name_var] = replace(binding, var=binding.name_var)
                self._loops.append(binding)
            else:
                for name in names_in(stmt.target):
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
            saved = scope.conditions
            for case in stmt.cases:
                test = _pattern_test(stmt.subject, case.pattern)
                here = () if test is None else self._conditions(test, scope, True)
                if case.guard is not None:
                    here += self._conditions(case.guard, scope, True)
                scope.conditions = scope.conditions + here
                self._walk_body(case.body, scope)
                # later cases run only when this one did not match
                scope.conditions = scope.conditions[: len(scope.conditions) - len(here)]
                if test is not None and case.guard is None:
                    scope.conditions = scope.conditions + self._conditions(test, scope, False)
            scope.conditions = saved
            return
        if isinstance(stmt, ast.AugAssign):
            self._augassign(stmt, scope)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                scope.defs[target.id] = self.expression(stmt.value, scope)
            self._param_assignment(stmt, target, scope)
            if isinstance(target, ast.Subscript):
                self._item_assignment(stmt, target, scope)
        self._expressions(stmt, scope, stmt)

    def _loop_binding(self, stmt: ast.For | ast.AsyncFor, scope: Scope) -> LoopBinding | None:
        iter_ = stmt.iter
        target = stmt.target
        if isinstance(iter_, ast.Call) and isinstance(iter_.func, ast.Attribute) \
                and iter_.func.attr in LOOP_SOURCES:
            receiver = dotted(iter_.func.value) or ""
            source = iter_.func.attr
            receiver_cls = self._receiver_class(iter_.func.value, scope)
            if isinstance(target, ast.Name):
                return LoopBinding(target.id, source, receiver, function=scope.function,
                                   receiver_cls=receiver_cls)
            if isinstance(target, ast.Tuple) and len(target.elts) == 2 \
                    and all(isinstance(e, ast.Name) for e in target.elts):
                name_var, var = target.elts[0].id, target.elts[1].id
                return LoopBinding(var, source, receiver, name_var, function=scope.function,
                                   receiver_cls=receiver_cls)
        walked = _state_dict_walk(iter_)
        if walked is not None:
            # ``for k in m.state_dict()`` / ``for k, v in m.state_dict().items()``: names
            # and (detached) tensors of the parameters, and of the buffers
            owner, kind = walked
            names = names_in(target)
            if kind == "items" and len(names) == 2 and isinstance(target, ast.Tuple):
                return LoopBinding(names[1], "state_dict", owner, names[0],
                                   function=scope.function)
            if kind in ("keys", "values") and isinstance(target, ast.Name):
                var, name_var = (f"{target.id}@state_dict", target.id) if kind == "keys" \
                    else (target.id, "")
                return LoopBinding(var, "state_dict", owner, name_var, function=scope.function)
        receiver = self_attr(iter_)
        if receiver is not None and isinstance(target, ast.Name):
            # ``for layer in self.layers:`` walks the container's children
            return LoopBinding(target.id, "iter", f"self.{receiver}", function=scope.function)
        if isinstance(iter_, (ast.List, ast.Tuple)) and isinstance(target, ast.Name):
            members = tuple(self_attr(e) or "?" for e in iter_.elts)
            if "?" not in members:
                return LoopBinding(target.id, "list", "self", members=members,
                                   function=scope.function)
        return None

    def _conditions(self, test: ast.expr, scope: Scope, positive: bool) -> tuple[Condition, ...]:
        """An ``if`` test as an expression the evaluator runs (locals it reads inlined)."""
        return (Condition(self.expression(test, scope), positive),)

    def expression(self, node: ast.expr, scope: Scope) -> Expr:
        return from_ast(node, lambda n: self.qualify(n, scope), scope.defs.get)

    def _expressions(self, node: ast.AST, scope: Scope, stmt: ast.stmt) -> None:
        """Visit the calls in a statement's own expressions (not nested blocks)."""
        # (expression, its parent); names and constants hold no call and are not queued
        todo: list[tuple[ast.AST, ast.AST | None]] = [(node, None)] if not isinstance(
            node, ast.stmt) else [(child, node) for child in children(node)
                                  if not isinstance(child, ast.stmt)]
        while todo:
            current, parent = todo.pop()
            kind = type(current)
            if kind is ast.Lambda:
                self._lambda(current, scope)
                continue
            if kind is ast.Call:
                before = len(self._calls)
                self._call(current, scope, stmt, parent if parent is not stmt else None)
                if scope.conditions or scope.loops:
                    for i in range(before, len(self._calls)):
                        self._calls[i] = _in_context(self._calls[i], scope)
            for child in children(current):
                if type(child) not in _LEAF_EXPRESSIONS:
                    todo.append((child, current))

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
        out = _out_argument(call)
        if out is not None:
            # ``torch.arange(n, out=self.freq)`` writes ``self.freq`` in place
            target = self.target(out, scope)
            if target.base and (target.attr or target.base in scope.loops or target.via_data
                                or target.base in scope.params):
                name = (qualified or dotted(call.func) or "out").rsplit(".", 1)[-1]
                self._init_site(call, name, "inplace", scope, stmt, parent, target)
        if isinstance(call.func, ast.Attribute):
            method = call.func.attr
            if method in api.INPLACE_INIT_METHODS:
                target = self.target(call.func.value, scope)
                # a tensor handed to this function (``def fill(t): t.uniform_()``) is a
                # target too: the linker binds it to what each caller passes
                if target.base and (target.attr or target.base in scope.loops
                                    or target.via_data or target.base in scope.params):
                    self._init_site(call, method, "inplace", scope, stmt, parent, target)
                    return
                if target.copy and isinstance(stmt, ast.Expr) and stmt.value is call:
                    # ``torch.empty(n).data.zero_()``: a write into a temporary, then dropped
                    self._init_site(call, method, "inplace", scope, stmt, parent, target)
                    return
            receiver = dotted(call.func.value) or ""
            if method == "apply" and call.args:
                self._calls.append(CallRef("apply", self._function_ref(call.args[0], scope),
                                           receiver, (), self.pos.span(call), scope.no_grad,
                                           scope.order,
                                           self._receiver_class(call.func.value, scope)))
                return
            if receiver == "self":
                self._calls.append(CallRef("self_method", method, "self",
                                           tuple(dotted(a) or "" for a in call.args),
                                           self.pos.span(call), scope.no_grad, scope.order))
                if call.args:  # ``self.init_bias(m.bias)``: a method handed the parameter
                    self._helper_site(call, method, scope, stmt, parent)
                return
            if receiver.startswith("super") or (isinstance(call.func.value, ast.Call) and
                                                dotted(call.func.value.func) == "super"):
                self._calls.append(CallRef("self_method", method, "super", (),
                                           self.pos.span(call), scope.no_grad, scope.order))
                return
        if isinstance(call.func, ast.Name) and call.func.id in scope.params:
            # ``fn(module=m, name=n)`` in ``named_apply(fn, ...)``: what it hands its callback
            self._calls.append(CallRef("param", call.func.id, "", tuple(
                k.arg for k in call.keywords if k.arg), self.pos.span(call), scope.no_grad,
                scope.order))
        ref = self._function_ref(call.func, scope)
        args = tuple(dotted(a) or "" for a in call.args)
        if ref and not ref.startswith("torch.") and call.args:
            self._helper_site(call, ref, scope, stmt, parent)
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
                                           scope.no_grad, scope.order, via=ref))

    def _construction(self, call: ast.Call, cls: str, scope: Scope) -> None:
        fact = self._layer_fact("", cls, call, scope.env)
        self.constructions.append(Construction(cls, fact.kwargs, fact.args, fact.span,
                                               scope.cls, fact.star, fact.from_params))

    def _receiver_class(self, node: ast.AST, scope: Scope) -> str:
        """The class of an object the code just built (``Net(...)``, or a local assigned
        ``Net(...)``); "<global>" for a class or module object (``Fn.apply(x)``)."""
        if isinstance(node, ast.Call):
            return self.qualify(node.func, scope) or ""
        if isinstance(node, ast.Name) and node.id in scope.defs:
            value = scope.defs[node.id]
            if value.op == "call" and value.args[0].op == "global":
                return value.args[0].args[0]
            return ""
        if isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) != "self" \
                and self.qualify(node, scope):
            return "<global>"
        return ""

    def _function_ref(self, node: ast.AST, scope: Scope) -> str:
        """The qualified name a function-valued expression refers to, or ""."""
        if isinstance(node, ast.Call) and (dotted(node.func) or "").endswith("partial") \
                and node.args:
            return self._function_ref(node.args[0], scope)
        if isinstance(node, ast.Lambda):
            return f"{scope.function or self.module}.<lambda:{node.lineno}:{node.col_offset}>"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in self.factories and node.func.id not in scope.shadowed:
            return self.factories[node.func.id]  # make_init(0.02): the function it returns
        if isinstance(node, ast.Attribute) and dotted(node.value) in ("self", "cls") \
                and scope.cls:
            return f"{scope.cls}.{node.attr}"
        if isinstance(node, ast.Name) and node.id in scope.nested:
            return scope.nested[node.id]
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.resolver.qualify(node, scope.shadowed) or ""
        return ""

    def _helper_site(self, call: ast.Call, ref: str, scope: Scope, stmt: ast.stmt,
                     parent: ast.AST | None) -> None:
        """``trunc_normal_(m.weight, std=.02)`` with a helper we cannot see into (timm's,
        a project's own): it writes that parameter somehow (style "helper", kind unknown)."""
        target = self.target(call.args[0], scope)
        if target.base and target.attr in ("weight", "bias") and not target.copy \
                and ref.rsplit(".", 1)[-1] not in ("isinstance", "hasattr", "getattr", "len"):
            self._init_site(call, ref.rsplit(".", 1)[-1], "helper", scope, stmt, parent, target)

    def _init_site(self, call: ast.Call, func: str, style: str, scope: Scope, stmt: ast.stmt,
                   parent: ast.AST | None, target: Target | None = None) -> None:
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
            bindings=_bindings(scope),
        ))

    def _item_assignment(self, stmt: ast.Assign, target_node: ast.Subscript,
                         scope: Scope) -> None:
        """``emb.weight.data[pad] = 0`` writes part of a tensor, as ``[pad].fill_(0)`` does
        (``copy_`` when the value is not a number)."""
        target = self.target(target_node, scope)
        if not target.base or not target.index or not (target.attr or target.base in
                                                      scope.loops or target.via_data):
            return
        value = self.value(stmt.value, scope.env)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        span = self.pos.span(stmt)
        self._has_init = True
        self.sites.append(InitSite("fill_" if number else "copy_", "inplace", target,
                                   (("val" if number else "src", value),), span, span,
                                   scope.conditions, scope.no_grad, scope.function, span, False,
                                   indent=self.pos.indent(stmt.lineno),
                                   bindings=_bindings(scope)))

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
                                   indent=self.pos.indent(stmt.lineno),
                                   bindings=_bindings(scope)))

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
                                           indent=self.pos.indent(stmt.lineno),
                                           bindings=_bindings(scope)))

    def target(self, node: ast.AST, scope: Scope) -> Target:
        """Understand the tensor expression an init call writes to."""
        via_data = index = reshaped = False
        copy = ""
        text = ast.unparse(node) if isinstance(node, ast.AST) else ""
        while True:
            out = _out_argument(node)
            if out is not None:  # ``torch.f(..., out=t)`` returns ``t``
                node = out
                text = ast.unparse(node)
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in api.INPLACE_INIT_METHODS:  # ``t.normal_()`` returns ``t``
                    node = node.func.value
                    text = ast.unparse(node)
                    continue
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
                entry = _state_dict_entry(node, scope)
                if entry is not None:  # ``m.state_dict()[k]``: the tensor, detached
                    return Target(entry, "", "", True, index or reshaped, copy, text)
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
        name = dotted(node) or _indexed_dotted(node)
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
_IDENTITY_TESTS = {ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
                   ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}
_INPLACE_PARAMS = {"normal_": ("mean", "std"), "uniform_": ("a", "b"), "fill_": ("val",),
                   "copy_": ("src",), "mul_": ("value",), "div_": ("value",),
                   "add_": ("value",), "sub_": ("value",)}
_INPLACE_ALIASES = {"from": "a", "to": "b", "value": "val"}


def _unused_params(used: set[str], params: tuple[str, ...]) -> tuple[str, ...]:
    """Parameters the body never names (an apply callback that ignores its module)."""
    return tuple(p for p in params if p not in used and p not in ("self", "cls"))


def _Span(row: int, col: int, end_row: int, end_col: int) -> Span:  # noqa: N802
    return Span(row, col, end_row, end_col)


def _gain_name(node: ast.AST, extractor: Extractor, scope: Scope) -> str:
    if isinstance(node, ast.Call) and extractor.qualify(node.func, scope) == api.CALCULATE_GAIN \
            and node.args:
        value = extractor.value(node.args[0], scope.env)
        return value if isinstance(value, str) else ""
    return ""


_LEAF_EXPRESSIONS = frozenset({ast.Name, ast.Constant})  # hold no call or lambda
_LIBRARY_PREFIXES = ("torch.", "math.", "numpy.", "typing.", "collections.", "functools.",
                     "warnings.", "logging.", "os.", "einops.")
_LIBRARY_ROOTS = frozenset(p.rstrip(".") for p in _LIBRARY_PREFIXES) | {
    "builtins", "typing_extensions", "dataclasses", "enum", "abc", "pathlib", "np"}


def _worth_recording(func: ast.Attribute, scope: Scope) -> bool:
    """Method calls the linker follows: on self or a parameter (``m.reset_parameters()``),
    or named like an init (``net.init_weights()``)."""
    head = (dotted(func.value) or "").split(".")[0]
    if head == "self" or (head in scope.shadowed and head in scope.env):
        return True
    lowered = func.attr.lower()
    return "init" in lowered or "reset" in lowered or "weight" in lowered


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
    """The block always leaves (``return``/``continue``/``raise`` last): what follows runs
    only when its test was false."""
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Continue, ast.Raise))


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
            if isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub) \
                    and isinstance(key.operand, ast.Constant):
                parts.append(f"-{key.operand.value}")
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


def _plain_attrs(attrs: dict[str, Any], node: ast.ClassDef) -> tuple[tuple[str, Any], ...]:
    """The attribute values worth keeping as facts: plain data, assigned through ``self``
    at most once in the whole class (a value set again elsewhere is not known)."""
    if not attrs:
        return ()
    counts: dict[str, int] = {}
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in item.body:
                for sub in flat_statements(stmt):
                    targets = sub.targets if isinstance(sub, ast.Assign) else \
                        [sub.target] if isinstance(sub, (ast.AugAssign, ast.AnnAssign)) else []
                    for target in targets:
                        name = self_attr(target)
                        if name is not None:
                            counts[name] = counts.get(name, 0) + 1
    return tuple((k, v) for k, v in attrs.items()
                 if counts.get(k, 0) <= 1 and _plain(v))


def _plain(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool, ClassRef))


def _class_ref(qualified: str) -> Any:
    """Names that denote classes by convention (CapWords) become class values."""
    last = qualified.rsplit(".", 1)[-1]
    return ClassRef(qualified) if last[:1].isupper() else UNKNOWN


def _bindings(scope: Scope) -> tuple[LoopBinding, ...]:
    return tuple(dict.fromkeys(scope.loops.values()))


def _state_dict_walk(node: ast.AST) -> tuple[str, str] | None:
    """``m.state_dict()`` (its keys), ``.keys()``, ``.items()``, ``.values()`` → (``m``,
    which)."""
    kind = "keys"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args \
            and node.func.attr in ("keys", "items", "values"):
        kind, node = node.func.attr, node.func.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "state_dict" and not node.args:
        owner = dotted(node.func.value)
        return (owner, kind) if owner else None
    return None


def _state_dict_entry(node: ast.Subscript, scope: Scope) -> str | None:
    """``m.state_dict()[k]`` with ``k`` a name of a loop over ``m.state_dict()``: that loop's
    tensor variable."""
    walked = _state_dict_walk(node.value)
    if walked is None or walked[1] != "keys" or not isinstance(node.slice, ast.Name):
        return None
    key = node.slice.id
    for binding in scope.loops.values():
        if binding.source == "state_dict" and binding.name_var == key \
                and binding.var != key and binding.receiver == walked[0]:
            return binding.var
    return None


def _out_argument(node: ast.AST) -> ast.expr | None:
    """The ``out=`` tensor of a call: the call writes it and returns it."""
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "out":
                return keyword.value
    return None


def _in_context(call: CallRef, scope: Scope) -> CallRef:
    """A call with the tests it runs under and the loops that bind its arguments."""
    walks = tuple(scope.loops[a] for a in dict.fromkeys(call.args) if a in scope.loops)
    return replace(call, conditions=scope.conditions, walks=walks)


def _pattern_test(subject: ast.expr, pattern: ast.pattern) -> ast.expr | None:
    """A ``case`` pattern as the test it performs (``case nn.Linear():`` is an isinstance);
    None for a pattern that always matches or that we do not model."""
    if isinstance(pattern, ast.MatchClass) and not pattern.patterns and not pattern.kwd_patterns:
        return ast.Call(func=ast.Name("isinstance", ast.Load()), args=[subject, pattern.cls],
                        keywords=[])
    if isinstance(pattern, ast.MatchValue):
        return ast.Compare(left=subject, ops=[ast.Eq()], comparators=[pattern.value])
    if isinstance(pattern, ast.MatchOr):
        tests = [_pattern_test(subject, p) for p in pattern.patterns]
        if any(t is None for t in tests):
            return None
        return ast.BoolOp(op=ast.Or(), values=tests)
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        return _pattern_test(subject, pattern.pattern)
    return None


def _applies(call: ast.Call) -> bool:
    name = dotted(call.func) or ""
    return name.rsplit(".", 1)[-1].endswith("apply")


def _apply_receiver(call: ast.Call) -> str:
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        name = dotted(arg)
        if name and (name == "self" or name.startswith("self.")):
            return name
    return ""


def _project_class(qualname: str | None) -> bool:
    """Could an annotation name a class of the project (a config class in another file)?
    Library types (``torch``, ``typing``, builtins) cannot; the linker decides the rest."""
    if not qualname or "." not in qualname:
        return False
    return qualname.split(".", 1)[0] not in _LIBRARY_ROOTS


def _exports(value: object) -> tuple[str, ...]:
    """The names of a literal ``__all__`` (anything else exports nothing we can read)."""
    if not isinstance(value, tuple):
        return ()
    return tuple(name for name in value if isinstance(name, str))


def extract(path: str, text: str, tree: ast.Module, module: str, is_package: bool) -> FileFacts:
    """Facts for one file."""
    return Extractor(path, text, tree, module, is_package).run()
