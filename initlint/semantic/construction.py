"""What building a model runs: the init sites its ``__init__`` reaches (through methods,
``apply`` callbacks, module walks, helpers), and the ones scripts and builders run on it."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

from initlint.extract.facts import (
    PARAM_WALKS,
    CallRef,
    ClassFacts,
    Condition,
    FunctionFacts,
    InitSite,
    LoopBinding,
    WalkSource,
)
from initlint.semantic.classes import ClassIndex
from initlint.semantic.module_calls import RESET, UNKNOWN_WRITES, call_site, method_writes
from initlint.semantic.records import WALK_SOURCES, Applied, How, PerModule
from initlint.semantic.trees import ModuleTrees

#: The (function, binding) pairs a construction has already run: init code is followed once.
Visited = set[tuple[Any, ...]]


class InitCalls:
    """The call graph of init code over one project's classes and module trees."""

    def __init__(self, index: ClassIndex, trees: ModuleTrees):
        self.index = index
        self.trees = trees

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
        for walk in self.typed_applies.get(cls.qualname, ()):
            fn = self.index.functions.get(walk.callee)
            if fn is None:
                opaque.append(f"apply({walk.callee})")
            else:
                self._run_callback(cls, fn, "", applied, opaque, visited, 0, walk.var,
                                   walk.call.conditions if walk.loop else (), walk.alias,
                                   walk.source)
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

    def _run(self, cls: ClassFacts, fn: FunctionFacts, bound: dict[str, str],
             applied: list[Applied], opaque: list[str], visited: Visited, depth: int) -> None:
        key = (fn.qualname, repr(sorted(bound.items())), "run")
        if key in visited or depth > 12:
            return
        visited.add(key)
        self._collect_sites(fn, bound, applied)
        for call in fn.calls:
            self._follow(cls, fn, call, bound, applied, opaque, visited, depth)

    def _collect_sites(self, fn: FunctionFacts, bound: dict[str, str],
                       applied: list[Applied]) -> None:
        aliases = self._init_aliases(fn, bound)
        for site in self.sites_in(fn):
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
            elif base in bound or base in aliases:
                # a local that is a submodule: ``self.<alias>`` under the model
                head = (bound[base] if base in bound else
                    ".".join(p for p in (bound["self"], aliases[base]) if p))
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

    def _init_aliases(self, fn: FunctionFacts, bound: dict[str, str]) -> dict[str, str]:
        """In a class's ``__init__`` run on a model: its locals that are submodules."""
        if fn.name != "__init__" or "self" not in bound or not fn.cls:
            return {}
        klass = self.index.classes.get(fn.cls)
        return dict(klass.init_aliases) if klass is not None else {}

    def _follow(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef, bound: dict[str, str],
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
                inner = {"self": bound["self"]}
                inner.update(_bind_args(target, call.args, bound, skip_self=True))
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
            receiver = _rebase(call.receiver, bound) if call.receiver else None
            target = self.index.callback(cls, call.name)
            if receiver is None:
                return
            if target is None:
                if receiver:  # code we cannot see, run on each module under the receiver
                    self._unknown_on(fn, call, receiver, "",
                                     LoopBinding("", "modules", receiver), applied)
                else:
                    opaque.append(f"apply({call.name or '?'})")
                return
            self._run_callback(cls, target, receiver, applied, opaque, visited, depth + 1,
                               name_var=self._name_param(call, target))
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
            inner = _bind_args(target, call.args, bound, skip_self=False)
            if inner or target.has_init_code or passes_model:
                self._run(cls, target, inner, applied, opaque, visited, depth + 1)
        elif call.kind == "method" and call.receiver.startswith("self.") and "self" in bound:
            # self.decoder.init_weights(): the submodule's own method
            path = call.receiver[len("self."):]
            child = self.trees.placed_by_path(cls).get(path)
            child_cls = (self.index.resolve_class(child.layer.cls)
                         if child and child.layer.cls else None)
            if child_cls is not None:
                target = self.index.method(child_cls, call.name)
                if target is not None:
                    sub = ".".join(p for p in (bound["self"], path) if p)
                    self._run(child_cls, target, {"self": sub}, applied, opaque, visited,
                              depth + 1)
                    return
            self._module_call(cls, fn, call, bound, applied)
        elif call.kind == "method":
            # ``m.reset_parameters()`` on each module a loop walks
            self._module_call(cls, fn, call, bound, applied)

    def _follow_walk(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef,
                     bound: dict[str, str], applied: list[Applied], opaque: list[str],
                     visited: Visited, depth: int) -> bool:
        """``for m in self.modules(): self._init(m)`` / ``init_fn(m)``: the callee runs
        once per module of the walk, like an ``apply`` callback (under the loop's tests)."""
        walk = self.per_module(call, fn, cls) if call.kind != "apply" else None
        if walk is None:
            return False
        receiver = _rebase(walk.receiver, bound) if walk.receiver else None
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
                      alias: str = "", source: WalkSource = "modules", name_var: str = "") -> None:
        """``receiver.apply(fn)``: fn's module parameter walks every module under receiver
        (``source`` "children": only its direct children); ``name_var``: fn's parameter
        given each module's qualified name (``named_apply``)."""
        params = [p for p in fn.params if p not in ("self", "cls")]
        if not params:
            return
        var = var or _module_param(fn)
        key = (fn.qualname, receiver, "callback", var, extra, source, name_var)
        if key in visited:
            return
        visited.add(key)
        binding = LoopBinding(var, source, receiver, name_var, function=fn.qualname)
        how: How = "each_child" if source == "children" else "each_module"
        for site in self.sites_in(fn):
            if site.target.base == var:
                applied.append(Applied(site, receiver, how, binding, extra, alias))
        for site in self.sites_in(fn):
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
                    call.name not in ("modules", "named_modules", "parameters",
                                      "named_parameters", "children", "size", "dim")):
                self._module_call(cls, fn, call, {}, applied, (binding, receiver),
                                  extra, alias)
            elif call.kind == "self_method" and fn.cls:
                owner = self.index.classes.get(fn.cls)
                target = self.index.method(owner, call.name) if owner else None
                if target is not None and var in call.args:
                    self._run_callback(cls, target, receiver, applied, opaque, visited,
                                       depth + 1)

    def _module_call(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef,
                     bound: dict[str, str], applied: list[Applied],
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
                      bound: dict[str, str], applied: list[Applied], opaque: list[str]) -> None:
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
            for site in facts.sites:
                out.setdefault(site.function, []).append(site)
        return out

    def sites_in(self, fn: FunctionFacts) -> list[InitSite]:
        return self._sites_by_function.get(fn.qualname, [])

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





def _rebase(receiver: str, bound: dict[str, str]) -> str | None:
    """Map ``self.decoder`` (or a bound parameter name) to a path under the model."""
    head, _, rest = receiver.partition(".")
    if head not in bound:
        return None
    return ".".join(p for p in (bound[head], rest) if p)



def _bind_args(fn: FunctionFacts, args: tuple[str, ...], bound: dict[str, str],
               skip_self: bool) -> dict[str, str]:
    params = [p for p in fn.params if not (skip_self and p == "self")]
    if fn.cls and not fn.static and not skip_self and params and params[0] == "self":
        params = params[1:]
    out: dict[str, str] = {}
    for param, arg in zip(params, args, strict=False):
        rebased = _rebase(arg, bound) if arg else None
        if rebased is not None:
            out[param] = rebased
    return out
