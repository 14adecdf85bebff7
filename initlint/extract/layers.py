"""Which submodules a class builds in ``__init__``, with their constructor arguments.

``self.fc = nn.Linear(...)``, ``nn.Sequential`` literals (also ``OrderedDict``, ``*[...]``
and local lists), ``ModuleList`` comprehensions and ``.append`` loops, ``nn.Sequential``
subclasses, layer helper functions, and raw ``nn.Parameter`` attributes (read by
:class:`~initlint.extract.params.ParamReader`). Values are folded by the file's
:class:`~initlint.extract.scope.FileScope` as ``__init__`` runs with its defaults.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.astutil import flat_statements, names_in, self_attr
from initlint.extract.blocks import blocks_to, enclosing_for, loop_count, unrolled
from initlint.extract.expr import Expr, from_ast
from initlint.extract.facts import (
    UNKNOWN,
    Chain,
    Condition,
    FactoryFact,
    FlowStep,
    LayerFact,
    ParamFact,
)
from initlint.extract.imports import dotted
from initlint.extract.params import ParamReader
from initlint.extract.scope import FileScope, Positions
from initlint.extract.tree_index import TreeIndex
from initlint.extract.values import ClassRef

#: Python's own builtins (``len``, ``int``, ``max``...) return no module: a call of one that
#: no parameter or local shadows is not a submodule of unknown class.
_BUILTINS = frozenset(vars(builtins))


#: What one ``__init__`` builds: layers, raw parameters, Sequential chains, the order of
#: assignment (name, statement index), and locals registered as submodules (local, name).
InitRead = tuple[list[LayerFact], list[ParamFact], list[Chain], list[tuple[str, int]],
                 tuple[tuple[str, str], ...]]


class LayerReader:
    """Reads what each class of one file builds in ``__init__``."""

    def __init__(self, names: FileScope, pos: Positions, tree: ast.Module, index: TreeIndex):
        self.names = names
        self.pos = pos
        self.params = ParamReader(names, pos)
        self.helpers, self.helper_defs = _layer_helpers(tree, index)
        self.expanding: set[str] = set()  # helpers being expanded (no recursion)
        # while one ``__init__`` is read: the names it assigned, and those whose value
        # follows the constructor's arguments
        self.rebound: set[str] = set()
        self.tainted: set[str] = set()

    def init_layers(self, fn: ast.FunctionDef | ast.AsyncFunctionDef,
                    env: dict[str, Any]) -> InitRead:
        """What ``__init__`` builds: (layers, parameters, chains, the statement index of each
        layer, locals that are aliases of a registered submodule)."""
        layers: list[LayerFact] = []
        params: list[ParamFact] = []
        chains: list[Chain] = []
        order: list[tuple[str, int]] = []
        local_calls: dict[str, ast.expr] = {}
        bound: dict[str, int] = {}  # local name → how many times it is assigned
        registered: dict[str, list[str]] = {}  # local name → the attributes it becomes
        env = dict(env)  # grows as __init__ runs: locals and self attributes get values
        self.rebound = set()
        # names whose value follows the constructor's arguments (the linker rebinds
        # parameters per construction, not the locals computed from them)
        self.tainted = {a.arg for a in fn.args.posonlyargs + fn.args.args
                        + fn.args.kwonlyargs} - {"self"}
        for index, stmt in enumerate(fn.body):
            for sub in flat_statements(stmt):
                first = len(layers)
                self._run_assignment(stmt, sub, env)
                if isinstance(sub, ast.Assign):
                    for target in sub.targets:
                        name = self_attr(target)
                        if isinstance(target, ast.Name):
                            bound[target.id] = bound.get(target.id, 0) + 1
                        if name is not None and isinstance(sub.value, ast.Name):
                            registered.setdefault(sub.value.id, []).append(name)
                        if name is not None:
                            found = self._layer_from_expr(name, sub.value, env, local_calls)
                            layers += found[0]
                            chains += found[1]
                            order += [(layer.name, index) for layer in found[0]]
                            param = self.params.param_from_expr(name, sub.value, env,
                                                                self.rebound,
                                                                frozenset(self.tainted))
                            if param is not None:
                                params.append(replace(param, branched=not self._taken_by_default(
                                    stmt, sub, env)))
                        elif isinstance(target, ast.Name):
                            self._track_local(sub, fn, env, local_calls)
                elif isinstance(sub, ast.AugAssign):
                    self._track_local(sub, fn, env, local_calls)
                elif isinstance(sub, ast.AnnAssign) and sub.value is not None:
                    name = self_attr(sub.target)
                    if name is not None:
                        found = self._layer_from_expr(name, sub.value, env, local_calls)
                        layers += found[0]
                        chains += found[1]
                        order += [(layer.name, index) for layer in found[0]]
                elif isinstance(sub, ast.Expr) and isinstance(sub.value, ast.Call):
                    call = sub.value
                    func = dotted(call.func)
                    self._track_local(sub, fn, env, local_calls)
                    if (isinstance(method := call.func, ast.Attribute)
                            and (container := self_attr(method.value)) is not None
                            and method.attr == "append" and call.args):
                        # ``self.layers.append(nn.Linear(...))`` in a loop over range(n)
                        found = self._layer_from_expr(f"{container}.*", call.args[0], env,
                                                      local_calls)
                        count = loop_count(fn, sub, self.names.value, env)
                        found = [replace(f, count=count) if f.name == f"{container}.*" else f
                                 for f in found[0]], found[1]
                        layers += found[0]
                        chains += found[1]
                        order += [(layer.name, index) for layer in found[0]]
                    registered_param = self._registered_param(call, env)
                    if registered_param is not None:
                        params.append(replace(registered_param,
                                              branched=not self._taken_by_default(stmt, sub,
                                                                                  env)))
                    if func == "self.add_module" and len(call.args) == 2:
                        key = self.names.value(call.args[0], env)
                        name = key if isinstance(key, str) else "?"
                        if isinstance(call.args[1], ast.Name):
                            registered.setdefault(call.args[1].id, []).append(name)
                        found = self._layer_from_expr(name, call.args[1], env, local_calls)
                        layers += found[0]
                        chains += found[1]
                        order += [(layer.name, index) for layer in found[0]]
                if len(layers) > first and sub is not stmt:
                    tests = self._branch_tests(stmt, sub)
                    if tests:
                        layers[first:] = [replace(layer, conditions=tests)
                                          for layer in layers[first:]]
        # ``conv = weight_norm(nn.Conv2d(...)); conv.weight.data...; self.add_module("conv",
        # conv)``: a local bound once and registered once is that submodule, before and after
        aliases = tuple((local, names[0]) for local, names in registered.items()
                        if len(names) == 1 and bound.get(local) == 1
                        and names[0].replace(".", "").replace("_", "").isalnum())
        self.rebound, self.tainted = set(), set()  # only while this __init__ is read
        return layers, params, chains, order, aliases

    def _branch_tests(self, stmt: ast.stmt, sub: ast.stmt) -> tuple[Condition, ...]:
        """The ``if`` tests on the path from ``stmt`` down to ``sub`` (an ``elif`` is the
        earlier tests false, then its own true), as expressions over ``__init__``'s names."""
        out: list[Condition] = []
        for node, block in blocks_to(stmt, sub) or []:
            if isinstance(node, ast.If) and block in ("body", "orelse"):
                out.append(Condition(self._expr(node.test), block == "body"))
        return tuple(out)

    def _expr(self, node: ast.expr) -> Expr:
        """``node`` as an expression the evaluator runs; ``__init__``'s parameters stay names
        (a parameter may shadow an imported name)."""
        shadowed = frozenset(self.tainted)
        return from_ast(node, lambda n: self.names.resolver.qualify(n, shadowed))

    def _registered_param(self, call: ast.Call, env: dict[str, Any]) -> ParamFact | None:
        """``self.register_parameter("bias", nn.Parameter(...))`` and ``setattr(self, "w",
        nn.Parameter(...))`` with a name we can read: the parameter ``self.<name> = ...``
        would make."""
        func = dotted(call.func)
        if func == "self.register_parameter" and len(call.args) == 2:
            name, value = call.args
        elif func == "setattr" and len(call.args) == 3 and dotted(call.args[0]) == "self":
            name, value = call.args[1], call.args[2]
        else:
            return None
        key = self.names.value(name, env)
        if not isinstance(key, str):
            return None
        return self.params.param_from_expr(key, value, env, self.rebound)

    def _run_assignment(self, stmt: ast.stmt, sub: ast.stmt, env: dict[str, Any]) -> None:
        """``with_bias = normalize is None`` / ``self.with_bias = bias``: the value the name
        holds from here on in a construction with the defaults (``sub`` is nested in the
        top-level ``stmt``). A branch the defaults do not take changes nothing; one we
        cannot decide, or a loop, makes the name unknown."""
        names: list[tuple[str, ast.expr | None]] = []
        if isinstance(sub, (ast.Assign, ast.AnnAssign)) and sub.value is not None:
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            for target in targets:
                if isinstance(target, ast.Name) or self_attr(target) is not None:
                    one = len(targets) == 1
                    names.append((dotted(target) or "", sub.value if one else None))
                else:
                    names += [(n, None) for n in names_in(target)]
        elif isinstance(sub, ast.AugAssign):
            names.append((dotted(sub.target) or "", None))
        elif isinstance(sub, (ast.For, ast.AsyncFor)):
            names += [(n, None) for n in names_in(sub.target)]
        elif isinstance(sub, (ast.With, ast.AsyncWith)):
            names += [(n, None) for item in sub.items if item.optional_vars is not None
                      for n in names_in(item.optional_vars)]
        if not names:
            return
        taken = self._path_by_default(stmt, sub, env)
        for name, node in names:
            if not name or taken is False:
                continue
            value = self.names.value(node, env) if taken and node is not None else UNKNOWN
            env[name] = value
            self.rebound.add(name)
            if value is UNKNOWN:  # nothing known to keep apart from the arguments
                self.tainted.add(name)
                continue
            # what the value and the tests on its way read
            read_from = [node] if node is not None else []
            read_from += [n.test for n, _ in blocks_to(stmt, sub) or ()
                          if isinstance(n, (ast.If, ast.While))]
            if _names_read(read_from) & self.tainted:
                self.tainted.add(name)
            else:
                self.tainted.discard(name)

    def _path_by_default(self, stmt: ast.stmt, sub: ast.stmt, env: dict[str, Any]) -> bool | None:
        """Does a construction with the defaults run ``sub``: yes, no, or unknown (a loop,
        a test that does not fold)."""
        for node, block in blocks_to(stmt, sub) or ():
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                return None
            if isinstance(node, ast.If):
                test = self.names.value(node.test, env)
                if test is UNKNOWN or not isinstance(test, (bool, int, float, str, type(None))):
                    return None
                if bool(test) != (block == "body"):
                    return False
            if isinstance(node, ast.Try) and block != "body":
                return None  # a handler or else: runs or not, as the body fails or not
        return True

    def _track_local(self, stmt: ast.stmt, fn: ast.FunctionDef | ast.AsyncFunctionDef,
                     env: dict[str, Any], local_calls: dict[str, ast.expr]) -> None:
        """Remember what a local name holds: ``x = nn.Linear(...)``, ``layers = [...]``,
        ``layers += [...]``, ``layers.append(...)`` / ``.extend([...])``."""
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    local_calls[target.id] = stmt.value
                    if isinstance(stmt.value, (ast.List, ast.Tuple)):
                        _remember_list(local_calls, target.id, stmt.value.elts, False,
                                       loop_count(fn, stmt, self.names.value, env))
        elif (isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(stmt.value, (ast.List, ast.Tuple))):
            _remember_list(local_calls, stmt.target.id, stmt.value.elts, True,
                           loop_count(fn, stmt, self.names.value, env))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
                    and call.args and call.func.attr in ("append", "extend")):
                items = (call.args[0].elts if call.func.attr == "extend" and
                         isinstance(call.args[0], (ast.List, ast.Tuple)) else call.args[:1])
                loop = enclosing_for(fn, stmt)
                if (loop is not None and call.func.attr == "append"
                        and isinstance(loop.target, ast.Name) and isinstance(items[0], ast.Name)
                        and items[0].id == loop.target.id
                        and isinstance(loop.iter, (ast.List, ast.Tuple))
                        and not any(isinstance(e, ast.Starred) for e in loop.iter.elts)):
                    # ``for layer in (nn.Linear(...), nn.ReLU(), ...): layers.append(layer)``
                    _remember_list(local_calls, call.func.value.id, list(loop.iter.elts), True,
                                   loop_count(fn, loop, self.names.value, env))
                    return
                _remember_list(local_calls, call.func.value.id, list(items), True,
                               loop_count(fn, stmt, self.names.value, env))

    def _expand_helper(self, name: str, call: ast.Call,
                       env: dict[str, Any]) -> tuple[list[LayerFact], list[Chain]] | None:
        """``self.net = make_mlp(64, depth=6)`` where ``make_mlp`` (in this file) returns an
        ``nn.Sequential``/``ModuleList``: read its body with the call's arguments bound."""
        helper_name = dotted(call.func) or ""
        helper = self.helper_defs.get(helper_name)
        if helper is None or helper_name in self.expanding:
            return None
        returned = self.helpers[helper_name]
        if self.names.qualify(returned.func) not in (api.SEQUENTIAL, api.MODULE_LIST):
            return None
        bound = self.names.param_defaults(helper)
        positional = helper.args.posonlyargs + helper.args.args
        params = [a.arg for a in positional]
        # the expression each parameter holds: the call's argument, else its default
        given: dict[str, ast.expr] = dict(zip(params[len(params) - len(helper.args.defaults):],
                                              helper.args.defaults, strict=True))
        for param, arg in zip(params, call.args, strict=False):
            if isinstance(arg, ast.Starred):
                break
            given[param] = arg
            bound[param] = self.names.value(arg, env)
        for keyword in call.keywords:
            if keyword.arg:
                given[keyword.arg] = keyword.value
                bound[keyword.arg] = self.names.value(keyword.value, env)
        local_calls: dict[str, ast.expr] = {
            "()" + param: expr for param, expr in given.items()
            if isinstance(expr, (ast.Name, ast.Attribute)) and self.names.qualify(expr)}
        for stmt in helper.body:
            for sub in flat_statements(stmt):
                self._track_local(sub, helper, bound, local_calls)
        self.expanding.add(helper_name)
        try:
            layers, chains = self._layer_from_expr(name, returned, bound, local_calls)
        finally:
            self.expanding.discard(helper_name)
        if layers:  # the container itself is built where the helper is called
            layers[0] = replace(layers[0], span=self.pos.span(call))
        return layers, chains

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
        if isinstance(expr.func, ast.Name) and "()" + expr.func.id in local_calls:
            # ``act()`` where the helper's parameter ``act`` holds ``nn.ReLU``
            expr = ast.copy_location(ast.Call(func=local_calls["()" + expr.func.id],
                                              args=expr.args, keywords=expr.keywords), expr)
            expr.end_lineno, expr.end_col_offset = expr.lineno, expr.col_offset
        expanded = self._expand_helper(name, expr, env)
        if expanded is not None:
            return expanded
        wrapped = self._wrapper_factory(name, expr, env, local_calls)
        if wrapped is not None:
            return wrapped
        wrapped = self._reparametrized(name, expr, env, local_calls)
        if wrapped is not None:
            return wrapped
        cls = self._class_of_call(expr)
        cls_param = ""
        held = None
        if cls is None:
            local = expr.func.id if isinstance(expr.func, ast.Name) else ""
            # ``norm_layer = norm_layer or partial(nn.GroupNorm, 4)`` then ``norm_layer(c)``
            held = env.get(local, UNKNOWN) if local in self.rebound else UNKNOWN
            if held is UNKNOWN:  # not tracked as __init__ ran: the name's last assignment
                held = self.names.value(local_calls.get(local, expr.func), env)
        if isinstance(held, ClassRef):  # norm_layer(c), getattr(nn, f"BatchNorm{n}d")(c)
            cls = held.qualname
            cls_param = expr.func.id if isinstance(expr.func, ast.Name) and not (
                held.args or held.kwargs) else ""
        if cls is None:
            if not isinstance(expr.func, ast.Name) or (
                    expr.func.id in _BUILTINS and expr.func.id not in env):
                return [], []
            # ``self.norm = norm_layer(c)`` with a class we cannot know: a submodule of
            # unknown class, so rules stay unsure about it instead of reading it as absent
            cls = ""
        layer = self.layer_fact(name, cls, expr, env)
        if isinstance(held, ClassRef) and (held.args or held.kwargs):
            layer = replace(layer, args=held.args + layer.args,
                            kwargs=held.kwargs + layer.kwargs)
        if cls_param:
            layer = replace(layer, cls_param=cls_param)
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
            children, inner_chains = self._list_children(name, expr.args[0], env, local_calls)
            layers += children
            chains += inner_chains
        return layers, chains

    def _reparametrized(self, name: str, call: ast.Call, env: dict[str, Any],
                        local_calls: dict[str, ast.expr]
                        ) -> tuple[list[LayerFact], list[Chain]] | None:
        """``weight_norm(nn.Linear(...), name="weight")``: the inner layer, marked with the
        wrapper that recomputes its parameter (INI209)."""
        wrapper = self.names.qualify(call.func)
        if wrapper not in api.REPARAM_WRAPPERS or not call.args:
            return None
        layers, chains = self._layer_from_expr(name, call.args[0], env, local_calls)
        if not layers or layers[0].name != name:
            return None
        param = next((self.names.value(k.value, env) for k in call.keywords if k.arg == "name"),
                     self.names.value(call.args[1], env) if len(call.args) > 1 else "weight")
        layers[0] = replace(layers[0], reparam=wrapper,
                            reparam_name=param if isinstance(param, str) else "")
        return layers, chains

    def _wrapper_factory(self, name: str, call: ast.Call, env: dict[str, Any],
                         local_calls: dict[str, ast.expr]
                         ) -> tuple[list[LayerFact], list[Chain]] | None:
        """``self.conv = WNConv1d(64, 64, 3)`` where this file's ``def WNConv1d(*a, **kw):
        return weight_norm(nn.Conv1d(*a, **kw))``: what the factory returns, run with the
        call's arguments (the wrapped layer, built where the factory is called)."""
        helper_name = dotted(call.func) or ""
        helper = self.helper_defs.get(helper_name)
        if helper is None or helper_name in self.expanding:
            return None
        returned = self.helpers[helper_name]
        if self.names.qualify(returned.func) not in api.REPARAM_WRAPPERS:
            return None
        inlined = returned_with_arguments(helper, returned, call)
        if inlined is None:
            return None
        self.expanding.add(helper_name)
        try:
            found = self._reparametrized(name, inlined, env, local_calls)
        finally:
            self.expanding.discard(helper_name)
        if found is None:
            return None
        layers, chains = found
        layers[0] = replace(layers[0], span=self.pos.span(call))
        return layers, chains

    def factories(self, module: str) -> tuple[FactoryFact, ...]:
        """This file's functions that return a wrapped layer, for calls in other files."""
        out = []
        for name, helper in self.helper_defs.items():
            returned = self.helpers[name]
            spec = helper.args
            if (self.names.qualify(returned.func) not in api.REPARAM_WRAPPERS
                    or spec.posonlyargs or spec.kwonlyargs):
                continue
            params = tuple(a.arg for a in spec.args)
            forwards = not params and spec.vararg is not None and spec.kwarg is not None
            if forwards:  # ``f(*a, **kw)``: the layer gets the call's arguments as given
                call = ast.Call(func=ast.Name(name), args=[], keywords=[])
            else:
                call = ast.Call(func=ast.Name(name), args=[ast.Name(p) for p in params],
                                keywords=[])
            ast.copy_location(call, returned)
            inlined = returned_with_arguments(helper, returned, call)
            if inlined is None:
                continue
            self.rebound, self.tainted = set(), set(params)
            found = self._reparametrized("", inlined, self.names.param_defaults(helper), {})
            self.rebound, self.tainted = set(), set()
            if found is None or not found[0]:
                continue
            # what ``*args``/``**kwargs`` forward is the call's: not known here
            star = forwards or spec.vararg is not None or spec.kwarg is not None
            layer = replace(found[0][0], star=True) if star else found[0][0]
            out.append(FactoryFact(f"{module}.{name}", params, layer, forwards))
        return tuple(out)

    def _class_of_call(self, call: ast.Call) -> str | None:
        func = call.func
        qualified = self.names.qualify(func)
        if qualified is None:
            return None
        name = dotted(func) or ""
        if name in self.helpers and "." not in name:
            inner = self.helpers[name]
            inner_cls = self.names.qualify(inner.func)
            if inner_cls in api.LAYERS:
                return inner_cls
        return qualified

    def layer_fact(self, name: str, cls: str, call: ast.Call, env: dict[str, Any],
                    count: Any = 1) -> LayerFact:
        """The fact of a layer class called with ``call`` (``name`` "" for a construction
        outside ``__init__``)."""
        args = tuple(self.names.value(a, env) for a in call.args if not isinstance(a, ast.Starred))
        star = any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords)
        kwargs = tuple((k.arg, self.names.value(k.value, env)) for k in call.keywords if k.arg)
        known = self.rebound - self.tainted
        from_params = tuple(k.arg for k in call.keywords if k.arg and isinstance(k.value, ast.Name)
                            and k.value.id not in self.names.constants and k.value.id not in known)
        from_params += tuple(str(i) for i, a in enumerate(call.args)
                             if isinstance(a, ast.Name) and a.id not in self.names.constants
                             and a.id not in known)
        name_ = dotted(call.func) or ""
        if name_ in self.helpers and "." not in name_:
            # a helper like conv3x3(): its own keywords are what the layer gets
            inner = self.helpers[name_]
            inner_kwargs = tuple((k.arg, self.names.value(k.value, self.names.constants))
                                 for k in inner.keywords if k.arg)
            kwargs = inner_kwargs + kwargs
            args, star = (), True
        rebound = self.rebound  # locals of __init__, not its parameters
        param_args = tuple((k.arg, k.value.id) for k in call.keywords if k.arg
                           and isinstance(k.value, ast.Name) and k.value.id in env
                           and k.value.id not in self.names.constants and k.value.id not in rebound)
        param_args += tuple((str(i), a.id) for i, a in enumerate(call.args)
                            if isinstance(a, ast.Name) and a.id in env
                            and a.id not in self.names.constants and a.id not in rebound)
        fact = LayerFact(name, cls, args, kwargs, self.pos.span(call), count, star, from_params,
                         param_args=param_args, arg_exprs=self._arg_exprs(call, rebound))
        return fact

    def _arg_exprs(self, call: ast.Call, rebound: set[str]) -> tuple[tuple[str, Expr], ...]:
        """Arguments computed from ``__init__`` parameters (``bias=not no_bias``): what the
        linker evaluates under each construction (a bare parameter is in ``param_args``)."""
        params = self.tainted - rebound
        if not params:
            return ()
        slots = [(k.arg, k.value) for k in call.keywords if k.arg]
        slots += [(str(i), a) for i, a in enumerate(call.args)
                  if not any(isinstance(b, ast.Starred) for b in call.args[:i + 1])]
        return tuple((slot, self._expr(value)) for slot, value in slots
                     if not isinstance(value, (ast.Name, ast.Constant))
                     and params.intersection(names_in(value)))

    def _sequential_children(self, name: str, call: ast.Call, env: dict[str, Any],
                             local_calls: dict[str, ast.expr]
                             ) -> tuple[list[LayerFact], list[FlowStep], list[Chain]]:
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
                        key = self.names.value(elt.elts[0], env)
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
            steps.append(step_for_layer(found[0], inner_chains))
        return layers, steps, chains

    def _starred_children(self, name: str, value: ast.expr, env: dict[str, Any],
                          local_calls: dict[str, ast.expr], layers: list[LayerFact],
                          chains: list[Chain]) -> list[FlowStep]:
        """``*[Block() for _ in range(n)]`` repeats a child n times; ``*layers`` (a local
        list) adds its layers, in order when every loop that filled it has a known length."""
        if (isinstance(value, (ast.ListComp, ast.GeneratorExp)) and len(value.generators) == 1
                and isinstance(value.generators[0].target, ast.Name)
                and isinstance(value.generators[0].iter, (ast.List, ast.Tuple))
                and not value.generators[0].ifs):
            value = unrolled(value)  # one child per element of a literal iterable
        if (isinstance(value, (ast.List, ast.Tuple))
                and not any(isinstance(e, ast.Starred) for e in value.elts)):
            steps: list[FlowStep] = []
            for position, elt in enumerate(value.elts):
                child = _join(name, str(position))
                found, inner = self._layer_from_expr(child, elt, env, local_calls)
                layers += found
                chains += inner
                steps.append(step_for_layer(found[0], inner) if found else
                             FlowStep("opaque", child))
            return steps
        if isinstance(value, (ast.ListComp, ast.GeneratorExp)) and isinstance(value.elt,
                                                                              ast.Call):
            gen = value.generators[0]
            count: Any = UNKNOWN
            if (isinstance(gen.iter, ast.Call) and dotted(gen.iter.func) == "range"
                    and len(gen.iter.args) == 1):
                count = self.names.value(gen.iter.args[0], env)
            found, inner = self._layer_from_expr(_join(name, "*"), value.elt, env, local_calls)
            if found:
                found[0] = replace(found[0], count=count)
                layers += found
                chains += inner
                if isinstance(count, int) and 0 < count <= 64:
                    return [step_for_layer(found[0], inner)] * count
            return [FlowStep("opaque", "*comprehension")]
        local = dotted(value) or ""
        listed = local_calls.get("*" + local)
        if not isinstance(listed, ast.List):
            return [FlowStep("opaque", "*args")]
        exact = "!" + local not in local_calls
        listed_steps: list[FlowStep] = []
        for position, elt in enumerate(listed.elts):
            child = _join(name, str(position) if exact else f"?{position}")
            found, inner = self._layer_from_expr(child, elt, env, local_calls)
            layers += found
            chains += inner
            listed_steps.append(step_for_layer(found[0], inner) if found else
                                FlowStep("opaque", child))
        return listed_steps if exact else [FlowStep("opaque", "*args")]

    def _list_children(self, name: str, expr: ast.expr, env: dict[str, Any],
                       local_calls: dict[str, ast.expr]) -> tuple[list[LayerFact], list[Chain]]:
        """Children of a ModuleList/ModuleDict, containers inside them included."""
        layers: list[LayerFact] = []
        chains: list[Chain] = []
        if isinstance(expr, (ast.List, ast.Tuple)):
            for index, elt in enumerate(expr.elts):
                found, inner = self._layer_from_expr(f"{name}.{index}", elt, env, local_calls)
                layers += found
                chains += inner
            return layers, chains
        if (isinstance(expr, ast.Name)
                and isinstance(listed := local_calls.get("*" + expr.id), ast.List)
                and listed.elts):
            # ``nn.ModuleList(layers)`` of a local list: one repeated element is a block
            # built in a loop (``name.*``), else children in order
            exact = "!" + expr.id not in local_calls
            if all(e is listed.elts[0] for e in listed.elts):
                found, inner = self._layer_from_expr(f"{name}.*", listed.elts[0], env,
                                                     local_calls)
                if found:
                    found[0] = replace(found[0], count=len(listed.elts) if exact else UNKNOWN)
                return found, inner
            if exact:
                return self._list_children(name, listed, env, local_calls)
        if (isinstance(expr, (ast.ListComp, ast.GeneratorExp)) and len(expr.generators) == 1
                and isinstance(expr.generators[0].target, ast.Name)
                and isinstance(expr.generators[0].iter, (ast.List, ast.Tuple))
                and not expr.generators[0].ifs):
            return self._list_children(name, unrolled(expr), env, local_calls)
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)) and isinstance(expr.elt, ast.Call):
            count: Any = UNKNOWN
            gen = expr.generators[0]
            if (isinstance(gen.iter, ast.Call) and dotted(gen.iter.func) == "range"
                    and len(gen.iter.args) == 1):
                count = self.names.value(gen.iter.args[0], env)
            found, inner = self._layer_from_expr(f"{name}.*", expr.elt, env, local_calls)
            if found:
                found[0] = replace(found[0], count=count)
            return found, inner
        return layers, chains

    def sequential_super_chain(self, init: ast.FunctionDef,
                               layers: list[LayerFact]) -> list[Chain]:
        """``class Block(nn.Sequential): def __init__(...): super().__init__(a, b, c)``."""
        for node in ast.walk(init):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "__init__" and isinstance(node.func.value, ast.Call)
                    and dotted(node.func.value.func) == "super"):
                fake = ast.Call(func=ast.Name("Sequential"), args=node.args, keywords=[])
                ast.copy_location(fake, node)
                env = self.names.param_defaults(init)
                children, steps, _ = self._sequential_children("", fake, env, {})
                layers += children
                if steps:
                    return [Chain("Sequential", tuple(steps), self.pos.span(node))]
        return []

    def _taken_by_default(self, stmt: ast.stmt, sub: ast.stmt, env: dict[str, Any]) -> bool:
        """Does ``__init__`` with its defaults certainly reach ``sub`` (nested in ``stmt``)?"""
        return self._path_by_default(stmt, sub, env) is True


def step_for_layer(layer: LayerFact, inner_chains: list[Chain]) -> FlowStep:
    if layer.cls in api.ACTIVATION_CALLABLES:
        act = api.ACTIVATION_CALLABLES[layer.cls]
        slope = layer.arg("negative_slope", 0, 0.01) if act == "leaky_relu" else None
        return FlowStep("act", act, slope)
    return FlowStep("module", layer.name, layer=layer)


def _join(prefix: str, name: object) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _remember_list(local_calls: dict[str, ast.expr], name: str, elts: list[ast.expr],
                   extend: bool, count: Any = 1) -> None:
    """Track ``layers = [...]`` / ``layers.append(x)`` / ``layers += [...]`` in ``__init__``,
    in order, repeated as often as the ``range(n)`` loops around them run. A mutation in a
    loop of unknown length marks the list inexact (``!name``): its order is then unknown."""
    key = "*" + name
    previous = local_calls.get(key)
    before = list(previous.elts) if extend and isinstance(previous, ast.List) else []
    if not extend:
        local_calls.pop("!" + name, None)
    if isinstance(count, int) and 0 < count <= 64:
        added = list(elts) * count
    else:
        added = list(elts)
        local_calls["!" + name] = ast.Constant(True)
    local_calls[key] = ast.List(elts=before + added, ctx=ast.Load())



def _names_read(nodes: Iterable[ast.AST]) -> set[str]:
    """Names and ``name.attr`` pairs the expressions read (what a taint can flow through)."""
    out: set[str] = set()
    for part in nodes:
        for node in ast.walk(part):
            # exact types (mypy narrows them); the value bound where it is tested
            if type(node) is ast.Name:
                out.add(node.id)
            elif type(node) is ast.Attribute and type(value := node.value) is ast.Name:
                out.add(f"{value.id}.{node.attr}")
    return out



class _Substitute(ast.NodeTransformer):
    """Parameters of a factory → the expressions a call binds them to; its ``*args`` and
    ``**kwargs`` forwarded whole → the call's extra arguments (``opaque`` when they are
    used otherwise). A module-level class holding its binding: a class or closure made
    per call would leave reference cycles (the language server's heap test)."""

    def __init__(self, values: dict[str, ast.expr], star: str | None, double: str | None,
                 extra_args: list[ast.expr], extra_keywords: list[ast.keyword]) -> None:
        self.values = values
        self.star = star
        self.double = double
        self.extra_args = extra_args
        self.extra_keywords = extra_keywords
        self.opaque = False

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.values:
            return copy.deepcopy(self.values[node.id])
        if node.id in (self.star, self.double):
            self.opaque = True
        return node

    def visit_Call(self, node: ast.Call) -> ast.Call:
        args: list[ast.expr] = []
        for arg in node.args:
            if (isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name)
                    and arg.value.id == self.star):
                args += [copy.deepcopy(a) for a in self.extra_args]
            else:
                args.append(self.visit(arg))
        keywords: list[ast.keyword] = []
        for keyword in node.keywords:
            if (keyword.arg is None and isinstance(keyword.value, ast.Name)
                    and keyword.value.id == self.double):
                keywords += [copy.deepcopy(k) for k in self.extra_keywords]
            else:
                keywords.append(ast.keyword(keyword.arg, self.visit(keyword.value)))
        return ast.copy_location(ast.Call(self.visit(node.func), args, keywords), node)


def returned_with_arguments(helper: ast.FunctionDef, returned: ast.Call,
                            call: ast.Call) -> ast.Call | None:
    """The call ``helper`` returns with ``call``'s arguments in place of its parameters
    (``weight_norm(nn.Conv1d(64, 64, 3))`` for ``WNConv1d(64, 64, 3)`` of ``def
    WNConv1d(*a, **kw): return weight_norm(nn.Conv1d(*a, **kw))``), or None where the
    helper does more than return it or the binding is not known (a ``*`` argument, a
    required parameter left out)."""
    body = [s for s in helper.body if not (isinstance(s, ast.Expr)
                                           and isinstance(s.value, ast.Constant))]
    spec = helper.args
    if len(body) != 1 or not isinstance(body[0], ast.Return) or spec.posonlyargs:
        return None
    named = [a.arg for a in spec.args]
    values: dict[str, ast.expr] = dict(zip(named[len(named) - len(spec.defaults):],
                                           spec.defaults, strict=True))
    values.update((a.arg, d) for a, d in zip(spec.kwonlyargs, spec.kw_defaults, strict=True)
                  if d is not None)
    kwonly = {a.arg for a in spec.kwonlyargs}
    extra_args: list[ast.expr] = []
    extra_keywords: list[ast.keyword] = []
    for position, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return None
        if position < len(named):
            values[named[position]] = arg
        elif spec.vararg is not None:
            extra_args.append(arg)
        else:
            return None
    for keyword in call.keywords:
        if keyword.arg is None:
            return None
        if keyword.arg in named or keyword.arg in kwonly:
            values[keyword.arg] = keyword.value
        elif spec.kwarg is not None:
            extra_keywords.append(keyword)
        else:
            return None
    if (set(named) | kwonly) - set(values):
        return None
    substitute = _Substitute(values, spec.vararg.arg if spec.vararg else None,
                             spec.kwarg.arg if spec.kwarg else None, extra_args, extra_keywords)
    out = substitute.visit(copy.deepcopy(returned))
    return out if isinstance(out, ast.Call) and not substitute.opaque else None


def _layer_helpers(tree: ast.Module, index: TreeIndex
                   ) -> tuple[dict[str, ast.Call], dict[str, ast.FunctionDef]]:
    """Module-level functions that just return a layer: the call each returns, and its def.

    ``def conv3x3(...): return nn.Conv2d(...)`` builds a Conv2d wherever it is called.
    """
    helpers: dict[str, ast.Call] = {}
    helper_defs: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            returns = index.function(node).returns
            if len(returns) == 1 and isinstance(returns[0].value, ast.Call):
                helpers[node.name] = returns[0].value
                helper_defs[node.name] = node
    return helpers, helper_defs
