"""The statement reader: function bodies and module-level statements, one pass a scope.

The walk keeps a small context (enclosing ``if`` tests, loop bindings, ``no_grad``) in a
:class:`~initlint.extract.scope.Scope` so that every init site records the conditions under
which it runs, and every call the linker follows (``apply``, ``self.method()``, a helper
handed a function) becomes a :class:`~initlint.extract.facts.CallRef`. What a write of a
parameter is, is the :class:`~initlint.extract.sites.SiteReader`'s to say.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.extract.astutil import names_in, self_attr
from initlint.extract.expr import MAX_NODES, Expr, from_ast
from initlint.extract.facts import (
    UNKNOWN,
    CallRef,
    Condition,
    Construction,
    FunctionFacts,
    InitSite,
    LayerFact,
    LoopBinding,
    SiteStyle,
    WalkSource,
)
from initlint.extract.imports import dotted
from initlint.extract.scope import LIBRARY_PREFIXES, FileScope, Positions, Scope, is_plain
from initlint.extract.sites import SiteReader, out_argument, state_dict_walk
from initlint.extract.tree_index import TreeIndex, children
from initlint.extract.values import InstanceRef

NO_GRAD = {"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
           "torch.autograd.grad_mode.no_grad"}
#: the walks a loop's ``m.<method>()`` names, each the WalkSource it records
LOOP_SOURCES: dict[str, WalkSource] = {
    "modules": "modules", "named_modules": "named_modules", "children": "children",
    "named_children": "named_children", "parameters": "parameters",
    "named_parameters": "named_parameters"}
#: ``try`` and, from Python 3.11, ``try``/``except*`` (their blocks are walked alike)
if sys.version_info >= (3, 11):
    _TRY_NODES = (ast.Try, ast.TryStar)
else:
    _TRY_NODES = (ast.Try,)

#: the size (expression nodes) of a call argument kept for the evaluator
ARGUMENT_NODES = 40
#: builds the fact of a layer class called with ``call`` (name, class, call, env)
LayerFactory = Callable[[str, str, ast.Call, dict[str, Any]], LayerFact]


class StatementReader:
    """Reads the statements of one file's functions and module body, in order."""

    def __init__(self, names: FileScope, pos: Positions, index: TreeIndex, sites: SiteReader,
                 layer_fact: LayerFactory, self_names: dict[tuple[int, int], str],
                 factories: dict[str, str]):
        self.names = names
        self.module = names.module
        self.pos = pos
        self.index = index
        self.site_reader = sites
        self.layer_fact = layer_fact
        self.self_names = self_names  # methods whose instance parameter was renamed "self"
        self.factories = factories  # see callback_factories
        # what the file holds, in the order it is read
        self.sites: list[InitSite] = []
        self.functions: list[FunctionFacts] = []
        self.constructions: list[Construction] = []
        self.gain_calls: list[tuple[Any, Any, Span]] = []
        # the function being read
        self._calls: list[CallRef] = []
        self._loops: list[LoopBinding] = []
        self._has_init = False
        self._inits_only = True
        self._loads = False  # the function being read calls something that may load weights
        self._returns: list[Expr] = []  # the values its ``return`` statements give

    def module_body(self, body: list[ast.stmt], scope: Scope,
                    span: Span) -> tuple[tuple[CallRef, ...], FunctionFacts]:
        """Module-level statements (scripts: ``model.apply(fn)``, direct fills): the calls,
        and the body as a function the linker can run (``<module>``: its sites are the ones
        recorded at module level)."""
        self._calls, self._loops = [], []
        self._walk_body(body, scope)
        script = FunctionFacts(
            name="<module>", qualname=f"{self.module}.<module>", cls="", params=(),
            span=span, no_grad=False, static=False, calls=tuple(self._calls),
            inits_only=False, has_init_code=False, loops=tuple(self._loops),
            instances=_instances(scope.defs))
        return tuple(self._calls), script

    def _record(self, site: InitSite | None) -> None:
        if site is not None:
            self._has_init = True
            self.sites.append(site)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, cls: str,
                  env: dict[str, Any], outer: Scope | None = None) -> FunctionFacts:
        """Read one function (nested ones and lambdas inside it too) into its facts."""
        qualname = f"{prefix}.{node.name}" if prefix else node.name
        params = tuple(a.arg for a in node.args.posonlyargs + node.args.args
                       + node.args.kwonlyargs)
        below = self.index.function(node)
        inner_defs = below.inner_defs
        shadowed = frozenset(params) | frozenset(below.stored) | (outer.shadowed if outer else
                                                                  frozenset())
        decorators = [self.names.qualify(d.func if isinstance(d, ast.Call) else d)
                      for d in node.decorator_list]
        no_grad = any(d in NO_GRAD for d in decorators) or bool(outer and outer.no_grad)
        static = any(dotted(d) == "staticmethod" for d in node.decorator_list)
        nested = dict(outer.nested) if outer else {}
        for item in inner_defs:
            nested[item.name] = f"{qualname}.{item.name}"
        env = {**self.names.constants, **self.names.param_defaults(node)}
        defaults = tuple((p, env[p]) for p in params
                         if p in env and p not in ("self", "cls") and is_plain(env[p]))
        if cls in self.names.class_attrs and params[:1] == ("self",) and not static:
            env["self"] = InstanceRef(cls)  # self.init_std: the value __init__ gave it
        scope = Scope(qualname, cls, shadowed, env, nested, no_grad=no_grad,
                      params=frozenset(params) - {"self", "cls"})
        if outer is not None:
            scope.loops = dict(outer.loops)
        saved = (self._calls, self._loops, self._has_init, self._inits_only, self._loads,
                 self._returns)
        self._calls, self._loops, self._has_init, self._inits_only = [], [], False, True
        self._loads, self._returns = False, []
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
            loads=self._loads,
            defaults=defaults,
            returns=self._returns[0] if len(self._returns) == 1 else None,
            instances=_instances(scope.defs) if not cls else (),
        )
        (self._calls, self._loops, self._has_init, self._inits_only, self._loads,
         self._returns) = saved
        self.functions.append(facts)
        return facts

    def _walk_body(self, body: list[ast.stmt], scope: Scope) -> None:
        conditions = scope.conditions
        for stmt in body:
            sites_before = len(self.sites)
            self._statement(stmt, scope)
            if (not _is_compound(stmt) and len(self.sites) == sites_before
                    and not _is_inert(stmt)):
                self._inits_only = False
            # ``if m.bias is None: return`` guards everything after it
            if isinstance(stmt, ast.If) and _exits(stmt.body) and not stmt.orelse:
                scope.conditions = scope.conditions + self._conditions(stmt.test, scope, False)
        scope.conditions = conditions

    def _statement(self, stmt: ast.stmt, scope: Scope) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if scope.function:
                self.function(stmt, scope.function, scope.cls, {}, outer=scope)
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
                scope.aliases.pop(name, None)
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
            saved_no_grad = scope.no_grad
            for item in stmt.items:
                expr = item.context_expr
                func = expr.func if isinstance(expr, ast.Call) else expr
                if self.names.qualify(func) in NO_GRAD:
                    scope.no_grad = True
                else:
                    self._expressions(expr, scope, stmt)
            self._walk_body(stmt.body, scope)
            scope.no_grad = saved_no_grad
            return
        if isinstance(stmt, (ast.While,)):
            self._expressions(stmt.test, scope, stmt)
            self._walk_body(stmt.body, scope)
            self._walk_body(stmt.orelse, scope)
            return
        if isinstance(stmt, _TRY_NODES):
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
        if isinstance(stmt, ast.Return):
            # a bare ``return`` gives None: two values, not one
            self._returns.append(self.expression(stmt.value, scope) if stmt.value is not None
                                 else Expr("const", (None,)))
        if isinstance(stmt, ast.AugAssign):
            self._record(self.site_reader.augassign(stmt, scope))
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                scope.defs[target.id] = self.expression(stmt.value, scope)
            _track_aliases(scope, target, stmt.value)
            self._record(self.site_reader.param_assignment(stmt, target, scope))
            if isinstance(target, ast.Subscript):
                self._record(self.site_reader.item_assignment(stmt, target, scope))
        self._expressions(stmt, scope, stmt)

    def _loop_binding(self, stmt: ast.For | ast.AsyncFor, scope: Scope) -> LoopBinding | None:
        iter_ = stmt.iter
        target = stmt.target
        if (isinstance(iter_, ast.Call) and isinstance(func := iter_.func, ast.Attribute)
                and (source := LOOP_SOURCES.get(func.attr)) is not None):
            receiver = dotted(func.value) or ""
            receiver_cls = self._receiver_class(func.value, scope)
            if isinstance(target, ast.Name):
                return LoopBinding(target.id, source, receiver, function=scope.function,
                                   receiver_cls=receiver_cls)
            if (isinstance(target, ast.Tuple) and len(target.elts) == 2
                    and isinstance(first := target.elts[0], ast.Name)
                    and isinstance(second := target.elts[1], ast.Name)):
                name_var, var = first.id, second.id
                return LoopBinding(var, source, receiver, name_var, function=scope.function,
                                   receiver_cls=receiver_cls)
        walked = state_dict_walk(iter_)
        if walked is not None:
            # ``for k in m.state_dict()`` / ``for k, v in m.state_dict().items()``: names
            # and (detached) tensors of the parameters, and of the buffers
            owner, kind = walked
            names = names_in(target)
            if kind == "items" and len(names) == 2 and isinstance(target, ast.Tuple):
                return LoopBinding(names[1], "state_dict", owner, names[0],
                                   function=scope.function)
            if kind in ("keys", "values") and isinstance(target, ast.Name):
                var, name_var = ((f"{target.id}@state_dict", target.id) if kind == "keys"
                                 else (target.id, ""))
                return LoopBinding(var, "state_dict", owner, name_var, function=scope.function)
        container = self_attr(iter_)
        if container is not None and isinstance(target, ast.Name):
            # ``for layer in self.layers:`` walks the container's children
            return LoopBinding(target.id, "iter", f"self.{container}", function=scope.function)
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
        return from_ast(node, lambda n: self.names.qualify(n, scope), scope.defs.get)

    def _expressions(self, node: ast.AST, scope: Scope, stmt: ast.stmt) -> None:
        """Visit the calls in a statement's own expressions (not nested blocks)."""
        # (expression, its parent); names and constants hold no call and are not queued
        todo: list[tuple[ast.AST, ast.AST | None]] = [(node, None)] if not isinstance(
            node, ast.stmt) else [(child, node) for child in children(node)
                                  if not isinstance(child, ast.stmt)]
        while todo:
            current, parent = todo.pop()
            # exact types (mypy narrows them): this loop sees every expression node
            if type(current) is ast.Lambda:
                self._lambda(current, scope)
                continue
            if type(current) is ast.Call:
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
        facts = self.function(fn, scope.function or self.module, scope.cls, {}, outer=scope)
        if facts.returns is None:
            self.functions[-1] = replace(facts, returns=self.expression(node.body, scope))

    def _call(self, call: ast.Call, scope: Scope, stmt: ast.stmt, parent: ast.AST | None) -> None:
        self._loads = self._loads or _may_load(call)
        qualified = self.names.qualify(call.func, scope)
        if qualified in api.LAYERS:
            self._construction(call, qualified, scope)
            return
        if qualified and qualified.startswith(api.INIT):
            name = qualified[len(api.INIT):]
            if name in api.INIT_FUNCTIONS or name in api.DEPRECATED_ALIASES:
                style: SiteStyle = "alias" if name in api.DEPRECATED_ALIASES else "init"
                self._record(self.site_reader.init_site(call, name, style, scope, stmt, parent))
                return
            if name == "calculate_gain" and call.args:
                folded = self.names.value(call.args[0], scope.env)
                self.gain_calls.append((self._value(call.args[0], scope, MAX_NODES)
                                        if folded is UNKNOWN else folded,
                                        self.names.value(call.args[1], scope.env)
                                        if len(call.args) > 1 else UNKNOWN,
                                        self.pos.span(call.args[0])))
                return
        out = out_argument(call)
        if out is not None:
            # ``torch.arange(n, out=self.freq)`` writes ``self.freq`` in place
            target = self.site_reader.target(out, scope)
            if target.base and (target.attr or target.base in scope.loops or target.via_data
                                or target.base in scope.params):
                name = (qualified or dotted(call.func) or "out").rsplit(".", 1)[-1]
                self._record(self.site_reader.init_site(call, name, "inplace", scope, stmt,
                                                        parent, target))
        registered = self.site_reader.registration(call, scope, stmt)
        if registered is not None:
            self._record(registered)
        if isinstance(call.func, ast.Attribute):
            method = call.func.attr
            if method in api.INPLACE_INIT_METHODS:
                target = self.site_reader.target(call.func.value, scope)
                # a tensor handed to this function (``def fill(t): t.uniform_()``) is a
                # target too: the linker binds it to what each caller passes
                if target.base and (target.attr or target.base in scope.loops
                                    or target.via_data or target.base in scope.params):
                    self._record(self.site_reader.init_site(call, method, "inplace", scope,
                                                            stmt, parent, target))
                    return
                if target.copy and isinstance(stmt, ast.Expr) and stmt.value is call:
                    # ``torch.empty(n).data.zero_()``: a write into a temporary, then dropped
                    self._record(self.site_reader.init_site(call, method, "inplace", scope,
                                                            stmt, parent, target))
                    return
            receiver = dotted(call.func.value) or ""
            if method == "apply" and call.args:
                self._calls.append(CallRef("apply", self._function_ref(call.args[0], scope),
                                           receiver, (), self.pos.span(call), scope.no_grad,
                                           scope.order,
                                           self._receiver_class(call.func.value, scope),
                                           values=(self._value(call.args[0], scope),)))
                return
            if receiver == "self":
                values, keywords = self._arguments(call, scope)
                self._calls.append(CallRef("self_method", method, "self",
                                           tuple(dotted(a) or "" for a in call.args),
                                           self.pos.span(call), scope.no_grad, scope.order,
                                           values=values, keywords=keywords))
                if call.args:  # ``self.init_bias(m.bias)``: a method handed the parameter
                    self._record(self.site_reader.helper_site(call, method, scope, stmt,
                                                              parent))
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
            self._record(self.site_reader.helper_site(call, ref, scope, stmt, parent))
        elif (not ref and isinstance(call.func, ast.Name) and call.args
              and call.func.id in scope.shadowed):
            # ``initf(m.weight)``: a function handed in (or held by a closure) writes the
            # parameter; which function it is, each call of the enclosing code says
            self._record(self.site_reader.helper_site(call, call.func.id, scope, stmt, parent))
        if ref and not ref.startswith(LIBRARY_PREFIXES):
            values, keywords = self._arguments(call, scope)
            self._calls.append(CallRef("function", ref, "", args, self.pos.span(call),
                                       scope.no_grad, scope.order, values=values,
                                       keywords=keywords))
        elif not ref and isinstance(call.func, ast.Attribute) and _worth_recording(
                call.func, scope):
            self._calls.append(CallRef("method", call.func.attr, dotted(call.func.value) or "",
                                       args, self.pos.span(call), scope.no_grad, scope.order))
        # a function passed as an argument anywhere (named_apply(fn, self), partial(fn))
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            arg_ref = self._function_ref(arg, scope)
            if arg_ref and arg_ref != ref:
                self._calls.append(CallRef("apply" if ref and _applies(call) else "ref", arg_ref,
                                           _apply_receiver(call), (), self.pos.span(call),
                                           scope.no_grad, scope.order, via=ref,
                                           values=(self._value(arg, scope),)))

    def _value(self, node: ast.expr, scope: Scope, limit: int = ARGUMENT_NODES) -> Expr:
        """An argument as the evaluator will run it (small: a long one is unknown), with
        the names whose value the file shows folded (module constants, the enclosing
        function's parameter defaults: what the default construction passes)."""

        def fold(leaf: ast.AST) -> Expr | None:
            value = self.names.value(leaf, scope.env)
            return Expr("const", (value,)) if _plain(value) else None

        return from_ast(node, lambda n: self.names.qualify(n, scope), scope.defs.get,
                        limit=limit, fold=fold)

    def _arguments(self, call: ast.Call, scope: Scope) -> tuple[tuple[Expr, ...],
                                                                 tuple[tuple[str, Expr], ...]]:
        """A call's arguments as expressions; none where ``*args``/``**kwargs`` hide them."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords):
            return (), ()
        return (tuple(self._value(a, scope) for a in call.args),
                tuple((k.arg, self._value(k.value, scope)) for k in call.keywords if k.arg))

    def _construction(self, call: ast.Call, cls: str, scope: Scope) -> None:
        fact = self.layer_fact("", cls, call, scope.env)
        self.constructions.append(Construction(cls, fact.kwargs, fact.args, fact.span,
                                               scope.cls, fact.star, fact.from_params))

    def _receiver_class(self, node: ast.AST, scope: Scope) -> str:
        """The class of an object the code just built (``Net(...)``, or a local assigned
        ``Net(...)``); "<global>" for a class or module object (``Fn.apply(x)``)."""
        if isinstance(node, ast.Call):
            return self.names.qualify(node.func, scope) or ""
        if isinstance(node, ast.Name) and node.id in scope.defs:
            value = scope.defs[node.id]
            if value.op == "call" and value.args[0].op == "global":
                return str(value.args[0].args[0])
            return ""
        if (isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) != "self"
                and self.names.qualify(node, scope)):
            return "<global>"
        return ""

    def _function_ref(self, node: ast.AST, scope: Scope) -> str:
        """The qualified name a function-valued expression refers to, or ""."""
        if (isinstance(node, ast.Call) and (dotted(node.func) or "").endswith("partial")
                and node.args):
            return self._function_ref(node.args[0], scope)
        if isinstance(node, ast.Lambda):
            return f"{scope.function or self.module}.<lambda:{node.lineno}:{node.col_offset}>"
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in self.factories and node.func.id not in scope.shadowed):
            return self.factories[node.func.id]  # make_init(0.02): the function it returns
        if (isinstance(node, ast.Attribute) and dotted(node.value) in ("self", "cls")
                and scope.cls):
            return f"{scope.cls}.{node.attr}"
        if isinstance(node, ast.Name) and node.id in scope.nested:
            return scope.nested[node.id]
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            return self.names.qualify(node, scope) or ""  # a registry lookup too
        return ""


def _instances(defs: dict[str, Expr]) -> tuple[tuple[str, Expr], ...]:
    """The locals whose last assignment is a call: the objects a script or builder may
    build (which model each holds is the evaluator's to say, at link time)."""
    return tuple((name, expr) for name, expr in defs.items()
                 if _builds(expr) or expr.op == "dict" or (
                     expr.op == "call" and expr.args[0] == Expr("name", ("dict",))))


def _plain(value: Any) -> bool:
    """A folded value an expression can hold as a constant (strings, numbers, None)."""
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _builds(expr: Expr) -> bool:
    """A call of a global (``Net(...)``, ``build(cfg)``), or a method called on one
    (``Net(...).to(device)``): a value the evaluator can follow to a class."""
    while expr.op == "call":
        func = expr.args[0]
        if func.op in ("global", "sub"):
            return True  # ``Net(...)``, ``MODELS[name](...)``
        if func.op != "attr":
            return False
        expr = func.args[0]
    return False


def _track_aliases(scope: Scope, target: ast.expr, value: ast.expr) -> None:
    """``w = self.fc.weight`` / ``data = p.data`` / ``w, b = fc.weight, fc.bias``: each local
    names that tensor (or module) from now on; any other value ends its alias."""
    if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)):
        for one, its in zip(target.elts, value.elts, strict=True):
            _track_aliases(scope, one, its)
        return
    if not isinstance(target, ast.Name):
        for name in names_in(target):
            scope.aliases.pop(name, None)
        return
    node: ast.expr = value
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if isinstance(node, ast.Name) and node is not value and node.id != target.id:
        scope.aliases[target.id] = value
    else:
        scope.aliases.pop(target.id, None)


def _unused_params(used: set[str], params: tuple[str, ...]) -> tuple[str, ...]:
    """Parameters the body never names (an apply callback that ignores its module)."""
    return tuple(p for p in params if p not in used and p not in ("self", "cls"))


_LEAF_EXPRESSIONS = frozenset({ast.Name, ast.Constant})  # hold no call or lambda


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
        tests: list[ast.expr] = []
        for p in pattern.patterns:
            test = _pattern_test(subject, p)
            if test is None:  # (building a test has no side effect: stopping early is safe)
                return None
            tests.append(test)
        return ast.BoolOp(op=ast.Or(), values=tests)
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        return _pattern_test(subject, pattern.pattern)
    return None


def _applies(call: ast.Call) -> bool:
    """A function named like ``named_apply(fn, module)``: it runs ``fn`` per module. Only
    for a function the imports name (the caller checks): a method of some other object
    (``td._fast_apply(fn)`` on a TensorDict) is not ``nn.Module.apply``."""
    name = dotted(call.func) or ""
    return name.rsplit(".", 1)[-1].endswith("apply")


def _apply_receiver(call: ast.Call) -> str:
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        name = dotted(arg)
        if name and (name == "self" or name.startswith("self.")):
            return name
    return ""



def callback_factories(tree: ast.Module, module: str) -> dict[str, str]:
    """Module functions that return a function they define (``def make_init(std):
    def init(m): ...; return init``): name → the returned function's qualname."""
    out: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        inner = {n.name for n in node.body if isinstance(n, (ast.FunctionDef,
                                                              ast.AsyncFunctionDef))}
        returned = [n.value.id for n in node.body if isinstance(n, ast.Return)
                    and isinstance(n.value, ast.Name) and n.value.id in inner]
        if len(returned) == 1:
            prefix = f"{module}.{node.name}" if module else node.name
            out[node.name] = f"{prefix}.{returned[0]}"
    return out


def _may_load(call: ast.Call) -> bool:
    """Could this call put trained values into a model: named like a loader, or a builder
    given ``pretrained=``/``weights=`` (anything but a literal False or None)?"""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(
        func, ast.Name) else ""
    if api.WEIGHT_LOADERS.search(name.lower()):
        return True
    return any(k.arg in api.LOADING_KEYWORDS and not (
        isinstance(k.value, ast.Constant) and k.value.value in (False, None))
        for k in call.keywords)
