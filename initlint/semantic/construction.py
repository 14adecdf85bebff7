"""What building a model runs: the init sites its ``__init__`` reaches (through methods,
``apply`` callbacks, module walks, helpers), and the ones scripts and builders run on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.expr import Expr, substitute
from initlint.extract.facts import (
    PARAM_WALKS,
    UNKNOWN,
    CallRef,
    ClassFacts,
    Condition,
    FileFacts,
    FunctionFacts,
    InitSite,
    LoopBinding,
    WalkSource,
)
from initlint.extract.values import ClassRef, Closure, ModuleVal, OneOf
from initlint.semantic.classes import ClassIndex
from initlint.semantic.evaluate import Evaluator
from initlint.semantic.module_calls import RESET, UNKNOWN_WRITES, call_site, method_writes
from initlint.semantic.records import WALK_SOURCES, Applied, How, PerModule
from initlint.semantic.trees import ModuleTrees

#: The (function, binding) pairs a construction has already run: init code is followed once.
Visited = set[tuple[Any, ...]]
#: How deep a construction follows calls (methods, helpers, scripts' callees).
MAX_RUN_DEPTH = 12


@dataclass(frozen=True)
class Held:
    """A name bound to a value that is not a module of the model: a class, an init
    function, a closure, a string or number (what the evaluator computed for the argument at
    the call site). A plain ``str`` binding is a path under the model (``"decoder"``)."""

    value: Any


#: What the names of a function being run hold: paths under the model, or held values.
Bindings = dict[str, "str | Held"]


class InitCalls:
    """The call graph of init code over one project's classes and module trees."""

    def __init__(self, index: ClassIndex, trees: ModuleTrees, evaluator: Evaluator):
        self.index = index
        self.trees = trees
        self.evaluator = evaluator

    @cached_property
    def scripts(self) -> tuple[FunctionFacts, ...]:
        """Code that runs outside the model classes: module-level functions (builders,
        factories, training loops, the functions nested in them) and module bodies."""
        return (*(fn for fn in self.index.functions.values() if not fn.cls),
                *(facts.script for facts in self.index.files if facts.script is not None))

    @cached_property
    def instances(self) -> dict[str, list[tuple[FunctionFacts, str]]]:
        """Model class qualname → the (script, local) pairs holding a model of that class:
        ``model = SASRec(args).to(device)``, ``net = build(cfg)`` with ``build`` returning a
        ``Net(...)``; the evaluator says which class each local's value is."""
        out: dict[str, list[tuple[FunctionFacts, str]]] = {}
        for fn in self.scripts:
            for name, expr in fn.instances:
                value = self.evaluator.bounded(expr, {})
                # a registry lookup builds one of its classes: the code runs on each
                for one in value.values if isinstance(value, OneOf) else (value,):
                    if isinstance(one, ModuleVal) and one.cls in self.index.classes:
                        out.setdefault(one.cls, []).append((fn, name))
        return out

    def _specialize(self, site: InitSite, bound: Bindings) -> InitSite:
        """The site as this run executes it: the values its names hold substituted into its
        tests (``isinstance(m, module)`` with ``module=nn.Conv2d``), and a call of a function
        handed in (``initf(m.weight)``) read as the init function it holds."""
        held = {k: v.value for k, v in bound.items() if isinstance(v, Held)}
        if not held:
            return site
        key = (site, tuple(sorted(held.items(), key=lambda kv: kv[0])))
        memo = self.__dict__.setdefault("_specialized", {})
        found = memo.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        exprs = {k: e for k, v in held.items() if (e := _as_expr(v)) is not None}
        conditions = tuple(replace(c, test=substitute(c.test, exprs.get))
                           for c in site.conditions) if exprs else site.conditions
        func, style = site.func, site.style
        fn = held.get(site.func) if site.style == "helper" else None
        if isinstance(fn, ClassRef) and fn.qualname.startswith(api.INIT) and (
                fn.qualname[len(api.INIT):] in api.INIT_FUNCTIONS):
            func, style = fn.qualname[len(api.INIT):], "init"
        result = (site if conditions == site.conditions and func == site.func else
                  replace(site, conditions=conditions, func=func, style=style))
        memo[key] = result
        return result

    def _held_env(self, bound: Bindings) -> dict[str, Any]:
        return {k: v.value for k, v in bound.items() if isinstance(v, Held)}

    def _bind_args(self, fn: FunctionFacts, call: CallRef, bound: Bindings,
                   skip_self: bool) -> Bindings:
        """The callee's parameters bound to what the call passes: a module of the model
        (by its path) or a value the evaluator computes in the caller's bindings."""
        params = [p for p in fn.params if not (skip_self and p == "self")]
        if fn.cls and not fn.static and not skip_self and params and params[0] == "self":
            params = params[1:]
        out: Bindings = {}
        env = self._held_env(bound)
        values = call.values if len(call.values) == len(call.args) else (None,) * len(call.args)
        for param, arg, expr in zip(params, call.args, values, strict=False):
            rebased = _rebase(arg, bound) if arg else None
            if rebased is not None:
                out[param] = rebased
            elif expr is not None and (value := self.evaluator.bounded(expr, env)) is not None \
                    and _worth_holding(value):
                out[param] = Held(value)
        for key, expr in call.keywords:
            if key in params and (value := self.evaluator.bounded(expr, env)) is not None \
                    and _worth_holding(value):
                out[key] = Held(value)
        return out

    def _callback(self, cls: ClassFacts, call: CallRef,
                  bound: Bindings) -> tuple[FunctionFacts | None, Bindings]:
        """The function a callback handed on as a value runs, and the bindings it carries:
        the evaluator runs the argument in the caller's bindings (``weight_init(module=...)``
        returning its inner function, from any file; ``partial(init_params, init_fn=...)``;
        a held function). The name the extractor resolved is the fallback."""
        value = (self.evaluator.bounded(call.values[0], self._held_env(bound)) if call.values
                 else UNKNOWN)
        if isinstance(value, Closure):
            target = self.index.functions.get(value.qualname)
            if target is not None:
                return target, {k: Held(v) for k, v in value.env if _worth_holding(v)}
        if isinstance(value, ClassRef) and not value.args and not value.kwargs and (
                target := self.index.functions.get(value.qualname)) is not None and (
                not target.cls):
            return target, {}
        return self.index.callback(cls, call.name), {}

    @cached_property
    def calls_by_name(self) -> dict[str, list[tuple[FunctionFacts, CallRef]]]:
        """Every call any function makes, by the called name (short and qualified)."""
        index: dict[str, list[tuple[FunctionFacts, CallRef]]] = {}
        for fn in self.index.functions.values():
            for call in fn.calls:
                index.setdefault(call.name, []).append((fn, call))
                short = call.name.rsplit(".", 1)[-1]
                if short != call.name:
                    index.setdefault(short, []).append((fn, call))
        return index

    @cached_property
    def method_calls_by_name(self) -> dict[str, list[tuple[FunctionFacts, CallRef]]]:
        """``obj.<name>(...)`` calls (kind "method") by the method's name."""
        index: dict[str, list[tuple[FunctionFacts, CallRef]]] = {}
        for fn in self.index.functions.values():
            for call in fn.calls:
                if call.kind == "method":
                    index.setdefault(call.name, []).append((fn, call))
        return index

    def loads_weights(self, cls: ClassFacts, fn: FunctionFacts) -> bool:
        """Does running ``fn`` on a ``cls`` model (its ``__init__``) reach a call that may load
        weights: in ``fn``, or in any method or function it calls, however deep? An init
        appended to ``fn`` would overwrite what that call loaded."""
        todo, seen = [fn], {fn.qualname}
        while todo:
            current = todo.pop()
            if current.loads:
                return True
            for call in current.calls:
                target = None
                if call.kind == "self_method":
                    after = (self.index.classes.get(current.cls) if call.receiver == "super"
                        else None)
                    target = self.index.method(cls, call.name, after=after)
                elif call.kind == "function":
                    target = self.index.functions.get(call.name)
                if target is not None and target.qualname not in seen:
                    seen.add(target.qualname)
                    todo.append(target)
        return False

    def per_module(self, call: CallRef, caller: FunctionFacts | None,
                   cls: ClassFacts | None = None) -> PerModule | None:
        """What ``call`` runs once per module of a tree, or None. ``cls``: the model whose
        construction runs the caller (``self._init`` resolves through its MRO); by default
        the caller's own class."""
        if call.kind == "apply":
            return PerModule(call, call.name, call.receiver, call.receiver_cls)
        if (call.kind not in ("function", "self_method") or not call.walks
                or call.receiver == "super"):
            return None
        walk = next((b for b in call.walks if b.source in WALK_SOURCES
                     and b.var != b.name_var), None)
        if walk is None:
            return None
        index = call.args.index(walk.var)
        if call.kind == "self_method":
            owner = (cls if cls is not None else
                self.index.classes.get(caller.cls) if caller is not None and caller.cls else None)
            target = self.index.method(owner, call.name) if owner is not None else None
            if target is None:
                return None
            params = [p for p in target.params if p != "self"]
        else:
            target = self.index.functions.get(call.name)
            if call.name.rsplit(".", 1)[-1][:1].isupper() or self.index.resolve_class(call.name):
                return None  # ``Wrapper(m)``: builds an object, runs no init
            params = [p for p in target.params if p not in ("self", "cls")] if target else []
        if target is not None and index >= len(params):
            return None
        return PerModule(call, target.qualname if target else call.name, walk.receiver,
                         walk.receiver_cls, params[index] if target else "",
                         WALK_SOURCES[walk.source], walk.var)

    @cached_property
    def per_module_calls(self) -> tuple[tuple[str, FunctionFacts | None, PerModule], ...]:
        """Every :meth:`per_module` call of the project, with the module and the function
        making it (None at module level)."""
        out: list[tuple[str, FunctionFacts | None, PerModule]] = []
        for facts in self.index.files:
            for call in facts.calls_at_module_level:
                found = self.per_module(call, None)
                if found is not None:
                    out.append((facts.module, None, found))
        for fn in self.index.functions.values():
            module = self.index.function_file[fn.qualname].module
            for call in fn.calls:
                found = self.per_module(call, fn)
                if found is not None:
                    out.append((module, fn, found))
        return tuple(out)

    @cached_property
    def module_params(self) -> dict[str, frozenset[str]]:
        """Function qualname → its parameters some :class:`PerModule` call hands each
        module of a tree (``def init(m)`` under ``x.apply(init)``: ``{"m"}``)."""
        out: dict[str, set[str]] = {}
        for _module, _caller, walk in self.per_module_calls:
            var = walk.var or _module_param(self.index.functions.get(walk.callee))
            if var:
                out.setdefault(walk.callee, set()).add(var)
        return {name: frozenset(params) for name, params in out.items()}

    def construction(self, cls: ClassFacts) -> tuple[list[Applied], list[str]]:
        """Init sites that building ``cls`` runs, and the opaque calls it makes (memoized:
        both the site index and each model's effective init ask, for every class)."""
        memo = self.__dict__.setdefault("_construction_memo", {})
        cached = memo.get(cls.qualname)
        if cached is not None and cached[0] is cls:
            return list(cached[1]), list(cached[2])
        applied, opaque = self._construction(cls)
        memo[cls.qualname] = (cls, tuple(applied), tuple(opaque))
        return applied, opaque

    def _construction(self, cls: ClassFacts) -> tuple[list[Applied], list[str]]:
        applied: list[Applied] = []
        opaque: list[str] = []
        init = self.index.method(cls, "__init__")
        visited: Visited = set()
        if init is not None:
            self._run(cls, init, {"self": ""}, applied, opaque, visited, 0)
        followed = {id(fn) for fn, _name in self.instances.get(cls.qualname, ())}
        for walk in self.typed_applies.get(cls.qualname, ()):
            if id(self._caller.get(id(walk.call))) in followed:
                continue  # the script that holds the model is run on it (with its values)
            fn = self.index.functions.get(walk.callee)
            if fn is None:
                opaque.append(f"apply({walk.callee})")
            else:
                self._run_callback(cls, fn, "", applied, opaque, visited, 0, walk.var,
                                   walk.call.conditions if walk.loop else (), walk.alias,
                                   walk.source)
        for fn, name in self.instances.get(cls.qualname, ()):
            # a script or builder holding a model of this class runs its code on it
            self._run(cls, fn, {name: ""}, applied, opaque, visited, 0)
        if self.index.framework_managed(cls):
            for hook in ("_init_weights", "init_weights", "_initialize_weights",
                         "reset_parameters"):
                fn = self.index.method(cls, hook)
                if fn is not None:
                    self._run_callback(cls, fn, "", applied, opaque, visited, 0)
            opaque.append("framework base " + ", ".join(self.index.external_bases(cls)))
        # layers that are nn layers subclasses with reset_parameters: PyTorch calls it
        return applied, opaque

    def sites_run_by(self, cls: ClassFacts, call: CallRef) -> tuple[list[Applied], list[str]]:
        """The init sites one call of ``cls.__init__`` runs (``self.apply(fn)``,
        ``self._init_weights()``), and the opaque calls it makes."""
        applied: list[Applied] = []
        opaque: list[str] = []
        init = self.index.method(cls, "__init__")
        if init is not None and self._follow_walk(cls, init, call, {"self": ""}, applied,
                                                  opaque, set(), 0):
            return applied, opaque  # ``for m in self.modules(): self._init(m)``
        if call.kind == "apply":
            fn = self.index.callback(cls, call.name)
            if fn is not None:
                self._run_callback(cls, fn, "", applied, opaque, set(), 0,
                                   name_var=self._name_param(call, fn))
        elif call.kind == "self_method" and call.receiver == "super":
            # super().__init__() may run the base's init (dispatched on ``cls``) before the
            # subclass has built its own layers
            fn = self.index.method(cls, call.name, after=cls)
            if fn is not None:
                self._run(cls, fn, {"self": ""}, applied, opaque, set(), 0)
        elif call.kind == "self_method":
            fn = self.index.method(cls, call.name)
            if fn is not None and fn.name != "__init__":
                self._run(cls, fn, {"self": ""}, applied, opaque, set(), 0)
        return applied, opaque

    def _run(self, cls: ClassFacts, fn: FunctionFacts, bound: Bindings,
             applied: list[Applied], opaque: list[str], visited: Visited, depth: int) -> None:
        key = (fn.qualname, repr(sorted(bound.items())), "run")
        if key in visited:
            return
        if depth > MAX_RUN_DEPTH:
            # past the bound the code is not read: what it may write is unknown, not absent
            opaque.append(f"{fn.qualname}(...) beyond the call depth followed")
            return
        visited.add(key)
        self._collect_sites(fn, bound, applied)
        for call in fn.calls:
            self._follow(cls, fn, call, bound, applied, opaque, visited, depth)

    def _collect_sites(self, fn: FunctionFacts, bound: Bindings,
                       applied: list[Applied]) -> None:
        aliases = self._init_aliases(fn, bound)
        for site in self.sites_in(fn):
            site = self._specialize(site, bound)
            loops = site.loops(fn)
            base = site.target.base
            if base in loops:
                binding = loops[base]
                receiver = _rebase(binding.receiver, bound)
                if receiver is None:
                    continue
                how: How = ("members" if binding.source == "list" else "each_param"
                    if binding.source in PARAM_WALKS else "each_module")
                if binding.source in ("children", "named_children", "iter"):
                    how = "each_child"
                applied.append(Applied(site, receiver, how, binding))
            elif isinstance(bound.get(base), str) or base in aliases:
                # a local that is a submodule: ``self.<alias>`` under the model
                given = bound.get(base)
                head = (given if isinstance(given, str) else
                    ".".join(p for p in (str(bound["self"]), aliases[base]) if p))
                path = ".".join(p for p in (head, site.target.path) if p)
                applied.append(Applied(site, path, "direct" if site.target.attr or not path
                                       else "direct_param", None))
                if any(seg == "*" or seg.lstrip("-").isdigit() for seg in path.split(".")):
                    applied[-1] = Applied(site, path, "indexed", None)
            elif not site.target.copy:
                # an init whose target we cannot follow may write any layer
                applied.append(Applied(site, "", "unknown", None))

    def _name_param(self, call: CallRef, fn: FunctionFacts) -> str:
        """The parameter of callback ``fn`` that receives each module's qualified name: the
        function the callback is handed to (``named_apply(fn, model)``) calls it with a
        ``name=`` keyword, and ``fn`` has that parameter."""
        applier = self.index.functions.get(call.via) if call.via else None
        if applier is None or "name" not in fn.params:
            return ""
        passes = any(c.kind == "param" and "name" in c.args for c in applier.calls)
        return "name" if passes else ""

    def _init_aliases(self, fn: FunctionFacts, bound: Bindings) -> dict[str, str]:
        """In a class's ``__init__`` run on a model: its locals that are submodules."""
        if fn.name != "__init__" or "self" not in bound or not fn.cls:
            return {}
        klass = self.index.classes.get(fn.cls)
        return dict(klass.init_aliases) if klass is not None else {}

    def _follow(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef, bound: Bindings,
                applied: list[Applied], opaque: list[str], visited: Visited, depth: int) -> None:
        if self._follow_walk(cls, fn, call, bound, applied, opaque, visited, depth):
            return
        if call.kind == "self_method" and "self" in bound:
            if call.receiver == "super":
                owner = self.index.classes.get(fn.cls)
                target = self.index.method(cls, call.name, after=owner) if owner else None
            else:
                target = self.index.method(cls, call.name)
            if target is not None:
                inner: Bindings = {"self": bound["self"]}
                inner.update(self._bind_args(target, call, bound, skip_self=True))
                self._run(cls, target, inner, applied, opaque, visited, depth + 1)
            elif call.name == RESET:
                # ``self.reset_parameters()`` inherited from torch (an nn.LSTMCell subclass);
                # not ``self.load_state_dict(...)``: a model built to be loaded is judged on
                # the construction that does not load (its fixes are withheld instead)
                self._module_call(cls, fn, replace(call, receiver="self"), bound, applied,
                                  inherited=True)
            elif call.name not in ("__init__", "register_buffer", "register_parameter",
                                   "add_module", "apply") and self.index.framework_managed(cls):
                opaque.append(f"self.{call.name}()")
        elif call.kind == "apply":
            receiver = (_rebase(call.receiver, bound) if call.receiver else None)
            if receiver is None and call.receiver:
                receiver = _loop_container(fn, call.receiver, bound)
            if receiver is None:
                return
            target, held = self._callback(cls, call, bound)
            if target is None:
                if receiver:  # code we cannot see, run on each module under the receiver
                    self._unknown_on(fn, call, receiver, "",
                                     LoopBinding("", "modules", receiver), applied)
                else:
                    opaque.append(f"apply({call.name or '?'})")
                return
            self._run_callback(cls, target, receiver, applied, opaque, visited, depth + 1,
                               name_var=self._name_param(call, target), held=held)
        elif call.kind == "function":
            if call.name.rsplit(".", 1)[-1][:1].isupper() or self.index.resolve_class(call.name):
                return  # a class constructor: building a submodule runs no init on ours
            target = self.index.functions.get(call.name)
            # the model's layer paths are built only when an argument rebases to a path
            # (``init(self.fc)``): most calls pass none, and this runs for every class
            paths = [p for p in (_rebase(a, bound) for a in call.args if a) if p is not None]
            passes_model = "" in paths or (
                bool(paths) and any(p in self.trees.placed_by_path(cls) for p in paths))
            if target is None:
                if ((passes_model or call.walks)
                        and not call.name.startswith(("torch.", "math.", "builtins"))):
                    self._unknown_call(cls, fn, call, bound, applied, opaque)
                return
            inner = self._bind_args(target, call, bound, skip_self=False)
            if (target.has_init_code or passes_model
                    or any(isinstance(v, str) for v in inner.values())):
                self._run(cls, target, inner, applied, opaque, visited, depth + 1)
        elif call.kind == "method" and (path := _rebase(call.receiver, bound)) is not None:
            # self.decoder.init_weights(): the submodule's own method; model.init_weights()
            # in a script: the model's
            if not path and call.receiver.split(".")[0] != "self":
                target = self.index.method(cls, call.name)
                if target is not None:
                    self._run(cls, target, {"self": ""}, applied, opaque, visited, depth + 1)
                return
            child = self.trees.placed_by_path(cls).get(path)
            child_cls = (self.index.resolve_class(child.layer.cls)
                         if child and child.layer.cls else None)
            if child_cls is not None:
                target = self.index.method(child_cls, call.name)
                if target is not None:
                    self._run(child_cls, target, {"self": path}, applied, opaque, visited,
                              depth + 1)
                    return
            self._module_call(cls, fn, call, bound, applied)
        elif call.kind == "method":
            # ``m.reset_parameters()`` on each module a loop walks
            self._module_call(cls, fn, call, bound, applied)

    def _follow_walk(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef,
                     bound: Bindings, applied: list[Applied], opaque: list[str],
                     visited: Visited, depth: int) -> bool:
        """``for m in self.modules(): self._init(m)`` / ``init_fn(m)``: the callee runs
        once per module of the walk, like an ``apply`` callback (under the loop's tests)."""
        walk = self.per_module(call, fn, cls) if call.kind != "apply" else None
        if walk is None:
            return False
        receiver = _rebase(walk.receiver, bound) if walk.receiver else None
        if receiver is None and walk.receiver:
            receiver = _loop_container(fn, walk.receiver, bound)
        if receiver is None:
            return True  # a walk of something else than this model
        target = self.index.functions.get(walk.callee)
        if target is None:
            # code we cannot see, handed each module the loop walks (under the loop's tests)
            self._unknown_on(fn, call, receiver, walk.alias,
                             LoopBinding(walk.alias, walk.source, receiver), applied)
            return True
        self._run_callback(cls, target, receiver, applied, opaque, visited, depth + 1,
                           walk.var, call.conditions, walk.alias, walk.source)
        return True

    def _run_callback(self, cls: ClassFacts, fn: FunctionFacts, receiver: str,
                      applied: list[Applied], opaque: list[str], visited: Visited,
                      depth: int, var: str = "", extra: tuple[Condition, ...] = (),
                      alias: str = "", source: WalkSource = "modules", name_var: str = "",
                      held: Bindings | None = None) -> None:
        """``receiver.apply(fn)``: fn's module parameter walks every module under receiver
        (``source`` "children": only its direct children); ``name_var``: fn's parameter
        given each module's qualified name (``named_apply``); ``held``: the values a closure
        or ``partial`` binds to fn's other names."""
        params = [p for p in fn.params if p not in ("self", "cls")]
        if not params:
            return
        var = var or _module_param(fn)
        held = {k: v for k, v in (held or {}).items() if k != var}
        key = (fn.qualname, receiver, "callback", var, extra, source, name_var,
               repr(sorted(held.items())))
        if key in visited:
            return
        visited.add(key)
        binding = LoopBinding(var, source, receiver, name_var, function=fn.qualname)
        how: How = "each_child" if source == "children" else "each_module"
        sites = [self._specialize(site, held) for site in self.sites_in(fn)]
        for site in sites:
            if site.target.base == var:
                applied.append(Applied(site, receiver, how, binding, extra, alias))
        for site in sites:
            loops = site.loops(fn)
            if site.target.base in loops and site.target.base != var:
                inner = loops[site.target.base]
                how = "each_param" if inner.source in PARAM_WALKS else "each_module"
                if inner.receiver == var:
                    applied.append(Applied(site, receiver, how, inner))
        for call in fn.calls:
            if call.kind == "function":
                target = self.index.functions.get(call.name)
                if target is not None and var in call.args:
                    self._run_callback(cls, target, receiver, applied, opaque, visited,
                                       depth + 1)
                elif target is None and var in call.args and not call.name.startswith(
                        ("torch.", "math.")):
                    self._unknown_on(fn, call, receiver, var, binding, applied, extra, alias)
            elif (call.kind == "method" and call.receiver.split(".")[0] == var and
                    call.name not in api.MODULE_READ_METHODS):
                self._module_call(cls, fn, call, {}, applied, (binding, receiver),
                                  extra, alias)
            elif call.kind == "self_method" and fn.cls:
                owner = self.index.classes.get(fn.cls)
                target = self.index.method(owner, call.name) if owner else None
                if target is not None and var in call.args:
                    self._run_callback(cls, target, receiver, applied, opaque, visited,
                                       depth + 1)

    def _module_call(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef,
                     bound: Bindings, applied: list[Applied],
                     walked: tuple[LoopBinding, str] | None = None,
                     extra: tuple[Condition, ...] = (), alias: str = "",
                     inherited: bool = False) -> None:
        """``<module>.<method>()`` on a module whose method the project does not define: on
        the module at a path (``self.emb``, ``self``) or on each module a loop or callback
        walks (``walked``: its binding and the walked path). What it writes is known per
        module class (:func:`method_writes`), and unknown only for that module.
        ``inherited``: the project defines no such method on the model past the caller's
        class (``super().reset_parameters()``)."""
        head = call.receiver.partition(".")[0]
        binding: LoopBinding | None = None
        scope: str | None
        if walked is not None:
            binding, scope = walked
        elif head in bound:
            scope = _rebase(call.receiver, bound)
        else:
            binding = next((b for b in reversed(fn.loops) if b.var == head
                            and b.source in _MODULE_WALKS), None)
            scope = _rebase(binding.receiver, bound) if binding is not None else None
        if scope is None or (scope == "" and binding is None and call.name != RESET):
            return  # a load of the whole model: judged on the construction that does not load
        placed = self.trees.placed_by_path(cls)
        if binding is None:
            classes = [placed[scope].layer.cls if scope in placed
                       else cls.qualname if not scope else ""]
        else:
            classes = [cls.qualname, *(p.layer.cls for p in placed.values())]
        writes: dict[str, tuple[str, ...]] = {}
        for name in dict.fromkeys(classes):
            found = method_writes(self.index, name, call.name, own=not inherited)
            if found is None and binding is None:
                return  # the project's own method: run where the call is followed
            writes[name] = UNKNOWN_WRITES if found is None else found
        if not any(writes.values()):
            return  # a method that writes no parameter (``flatten_parameters()``)
        site = call_site(fn, call, call.receiver)
        applied.append(Applied(site, scope, "method", binding, extra, alias,
                               tuple(writes.items())))

    def _unknown_on(self, fn: FunctionFacts, call: CallRef, receiver: str, var: str,
                    binding: LoopBinding | None, applied: list[Applied],
                    extra: tuple[Condition, ...] = (), alias: str = "") -> None:
        """Code we cannot see, handed the module at ``receiver`` or (``binding``) each module
        a walk of it yields as ``var``: unknown for what it was handed, nothing else."""
        site = call_site(fn, call, var or receiver)
        applied.append(Applied(site, receiver, "opaque", binding, extra, alias))

    def _unknown_call(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef,
                      bound: Bindings, applied: list[Applied], opaque: list[str]) -> None:
        """``fancy_init(self.encoder)``, a function we cannot see: unknown for each module or
        tensor it is handed; handed the model itself, for all of it."""
        walks = {b.var: b for b in call.walks}
        for arg in call.args:
            walk = walks.get(arg)
            if walk is not None and (walk.source in PARAM_WALKS or walk.source in _MODULE_WALKS):
                # ``for p in self.parameters(): fancy_init(p)``, ``for layer in self.blocks:
                # fancy_init(layer)``: each tensor or module of the walk
                scope = _rebase(walk.receiver, bound)
                if scope is not None:
                    applied.append(Applied(call_site(fn, call, arg), scope, "opaque", walk))
                continue
            path = _rebase(arg, bound) if arg else None
            if path is None:
                continue
            if path == "":
                opaque.append(f"{call.name}(...)")
            elif path.rsplit(".", 1)[-1] not in ("weight", "bias"):  # those: a helper site
                applied.append(Applied(call_site(fn, call, arg), path, "opaque", None))

    @cached_property
    def _sites_by_function(self) -> dict[str, list[InitSite]]:
        out: dict[str, list[InitSite]] = {}
        for facts in self.index.files:
            script = facts.script.qualname if facts.script is not None else ""
            for site in facts.sites:
                out.setdefault(site.function or script, []).append(site)
        return out

    def sites_in(self, fn: FunctionFacts) -> list[InitSite]:
        return self._sites_by_function.get(fn.qualname, [])

    @cached_property
    def _module_level_sites(self) -> dict[InitSite, FileFacts]:
        return {site: facts for facts in self.index.files for site in facts.sites
                if not site.function}

    def site_file(self, site: InitSite) -> FileFacts | None:
        """The file a site is written in (a module-level site too: ``site.function`` is
        empty there, and such a site may land on a model of another file)."""
        if site.function:
            return self.index.function_file.get(site.function)
        return self._module_level_sites.get(site)

    def site_function(self, site: InitSite) -> FunctionFacts | None:
        """The function a site is written in; for a module-level site, its file's body
        (``<module>``), which the linker runs as a script."""
        if site.function:
            return self.index.functions.get(site.function)
        facts = self._module_level_sites.get(site)
        return facts.script if facts is not None else None

    @cached_property
    def _site_models(self) -> dict[InitSite, list[ClassFacts]]:
        index: dict[InitSite, list[ClassFacts]] = {}
        for cls in self.index.classes.values():
            if not any(k.layers for k in self.index.mro(cls)):
                continue
            applied, _ = self.construction(cls)
            for item in applied:
                index.setdefault(item.site, []).append(cls)
        return index

    def run_sites(self, facts: FileFacts) -> list[InitSite]:
        """The sites of ``facts`` as some construction ran them with a call's values bound
        (``init_fn(m.weight)`` run as ``xavier_uniform_``), besides the sites as written."""
        self._site_models  # noqa: B018 (every construction has run: the memo is complete)
        memo: dict[tuple[InitSite, Any], InitSite] = self.__dict__.get("_specialized", {})
        return list(dict.fromkeys(
            run for (site, _held), run in memo.items()
            if run is not site and self.site_file(site) is facts))

    def models_running(self, site: InitSite) -> list[ClassFacts]:
        """Model classes whose construction runs ``site``."""
        return self._site_models.get(site, [])

    @cached_property
    def script_applies(self) -> dict[str, list[tuple[FunctionFacts | None, PerModule]]]:
        """``model.apply(fn)`` (or its loop, :class:`PerModule`) outside the model's own
        methods, by top-level package: such a call may touch any model of its package (a
        training script initializing the net)."""
        out: dict[str, list[tuple[FunctionFacts | None, PerModule]]] = {}
        for module, _caller, walk in self.per_module_calls:
            if (walk.receiver and walk.receiver != "self" and
                    not walk.receiver.startswith("self.") and walk.callee
                    and not walk.receiver_cls):
                package = module.split(".")[0]
                fn = self.index.functions.get(walk.callee)
                if fn is None and walk.loop:
                    # a function we cannot see, handed each module of an object of unknown
                    # class: unknown stays local, it makes no model of the package unsure
                    continue
                out.setdefault(package, []).append(
                    (fn, replace(walk, var=walk.var or _module_param(fn))))
        return out

    @cached_property
    def _caller(self) -> dict[int, FunctionFacts]:
        """id of each call → the function (or module body) making it."""
        out: dict[int, FunctionFacts] = {}
        for fn in self.index.functions.values():
            for call in fn.calls:
                out[id(call)] = fn
        for facts in self.index.files:
            if facts.script is not None:
                for call in facts.script.calls:
                    out[id(call)] = facts.script
                for call in facts.calls_at_module_level:
                    out[id(call)] = facts.script
        return out

    @cached_property
    def typed_applies(self) -> dict[str, list[PerModule]]:
        """``model = Net(); model.apply(fn)`` / ``Net().apply(fn)`` (or their loops)
        anywhere: model class qualname → the callbacks run on it (only on that model,
        whose class we know)."""
        out: dict[str, list[PerModule]] = {}
        for _module, _caller, walk in self.per_module_calls:
            if walk.receiver_cls in ("", "<global>"):
                continue
            klass = self.index.resolve_class(walk.receiver_cls)
            if klass is not None and walk.callee:
                out.setdefault(klass.qualname, []).append(walk)
        return out



#: Loops whose variable is each module of a tree, or each member of a container or list.
_MODULE_WALKS = frozenset({"modules", "named_modules", "children", "named_children", "iter",
                           "list"})


def _module_param(fn: FunctionFacts | None) -> str:
    """The parameter ``apply`` hands the module to: the first (``module`` in a
    ``(name, module)`` signature)."""
    params = [p for p in fn.params if p not in ("self", "cls")] if fn else []
    if len(params) > 1 and params[0] in ("name", "n") and "module" in params:
        return "module"
    return params[0] if params else ""





def _loop_container(fn: FunctionFacts, receiver: str, bound: Bindings) -> str | None:
    """``for block in self.blocks: block.apply(fn)``: the loop hands each element of a
    container (its direct children) to ``apply``, which walks each element's subtree; the
    union is every module under the container (the container itself holds no parameter).
    The receiver must be the loop variable itself, and the loop the only one binding it."""
    if "." in receiver:
        return None
    loops = [b for b in fn.loops if b.var == receiver]
    if len(loops) != 1 or loops[0].source not in ("iter", "children"):
        return None
    return _rebase(loops[0].receiver, bound) if loops[0].receiver else None


def _rebase(receiver: str, bound: Mapping[str, str | Held]) -> str | None:
    """Map ``self.decoder`` (or a bound parameter name) to a path under the model."""
    head, _, rest = receiver.partition(".")
    path = bound.get(head)
    if not isinstance(path, str):
        return None
    return ".".join(p for p in (path, rest) if p)


def _worth_holding(value: Any) -> bool:
    """A value a callee may use: a class or function, a closure, plain data (an unknown
    or a model's own module is not held: the first says nothing, the second is a path)."""
    if isinstance(value, tuple):
        return all(_worth_holding(v) for v in value)
    return value is not UNKNOWN and isinstance(value, (ClassRef, Closure, str, int, float, bool,
                                                       type(None)))


def _as_expr(value: Any) -> Expr | None:
    """A held value as an expression a test can read in place of its name."""
    if isinstance(value, ClassRef) and not value.args and not value.kwargs:
        return Expr("global", (value.qualname,))
    if value is None or isinstance(value, (str, int, float, bool)):
        return Expr("const", (value,))
    if isinstance(value, tuple):
        items = [item for v in value if (item := _as_expr(v)) is not None]
        return Expr("tuple", tuple(items)) if len(items) == len(value) else None
    return None
