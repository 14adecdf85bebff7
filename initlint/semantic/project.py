"""Link the facts of all files: class hierarchy, module trees, and which init reaches which layer.

This is where "what does ``__init__`` actually run" is answered once for every rule:
:meth:`ProjectFacts.effective` gives, for each weight-bearing layer of a model, the init
sites that write its parameters, and whether some init code we cannot see might.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from initlint.core import torch_api as api
from initlint.core.torch_api import canonical
from initlint.extract.facts import (
    PARAM_WALKS,
    UNKNOWN,
    CallRef,
    ClassFacts,
    Condition,
    FileFacts,
    FunctionFacts,
    InitSite,
    LayerFact,
    LoopBinding,
)
from initlint.extract.values import ClassRef, ModuleVal, ParamVal
from initlint.semantic.evaluate import (
    Evaluator,
    World,
    site_runs,
    site_runs_on_module,
    site_runs_on_param,
)
from initlint.semantic.link_values import resolve_deferred, resolve_one

#: Bases from frameworks that call an init hook for you (transformers, diffusers...).
FRAMEWORK_BASE_SUFFIXES = ("PreTrainedModel", "ModelMixin", "PreTrainedModelMixin")
_INERT_BASES = frozenset({"object", "?", "ABC", "Generic", "Protocol", "abc.ABC"})
MAX_DEPTH = 6


@dataclass(frozen=True)
class Applied:
    """An init site as it lands on one model: which layer paths it may write, and how sure."""

    site: InitSite
    scope: str  # path under the model the site's loop/receiver walks ("" = whole model)
    how: str  # "direct" | "indexed" | "each_module" | "each_param" | "members"
    binding: LoopBinding | None
    # tests around the call that ran the site's function with the walked module as
    # ``alias`` (``for m in self.modules(): if isinstance(m, nn.Linear): self._init(m)``)
    extra: tuple[Condition, ...] = ()
    alias: str = ""


#: Loops that hand each module of a tree to their body, and what each walks.
WALK_SOURCES = {"modules": "modules", "named_modules": "modules", "children": "children",
                "named_children": "children"}


@dataclass(frozen=True)
class PerModule:
    """A call that runs a function once per module of a tree: ``x.apply(fn)``, and the same
    program spelled as a loop, ``for m in x.modules(): fn(m)`` (``named_modules()`` too;
    ``children()`` walks the direct children only)."""

    call: CallRef
    callee: str  # qualified name of the function run ("" when not known)
    receiver: str  # the walked object as written: "self", "self.decoder", "model", ""
    receiver_cls: str  # its class when the code shows it (see CallRef.receiver_cls)
    var: str = ""  # the callee's parameter given the module ("" = its first)
    source: str = "modules"  # "modules" | "children"
    alias: str = ""  # the loop variable the call's tests read (``if isinstance(m, ...)``)

    @property
    def loop(self) -> bool:
        return self.call.kind != "apply"


@dataclass(frozen=True)
class Placed:
    """A layer inside a model, with its full path from the model."""

    path: str
    layer: LayerFact
    owner: str  # qualname of the class that builds it


@dataclass(frozen=True)
class LayerInit:
    """What writes one parameter (``weight`` or ``bias``) of one placed layer."""

    sites: tuple[InitSite, ...]
    possible: bool  # some code we cannot follow may also write it


class ProjectFacts:
    """All files' facts, linked."""

    def __init__(self, files: Iterable[FileFacts]):
        given = tuple(files)
        self._index(given)
        # config values other files leave to the linker, looked up in the classes just indexed
        self.files = resolve_deferred(given, self.resolve_class)
        if self.files is not given:
            self._index(self.files)
        # the linked version of each given file whose values the linker resolved
        self._linked = {id(a): (a, b) for a, b in zip(given, self.files, strict=True)
                        if a is not b}
        self._mro: dict[str, list[ClassFacts]] = {}
        self._placed_cache: dict[tuple, list[Placed]] = {}
        self._placed_paths: dict[str, dict[str, Placed]] = {}
        self._composed: dict[str, set[str]] = {}

    def _index(self, files: tuple[FileFacts, ...]) -> None:
        self.files = files
        self.classes: dict[str, ClassFacts] = {}
        self.class_file: dict[str, FileFacts] = {}
        self.functions: dict[str, FunctionFacts] = {}
        self.function_file: dict[str, FileFacts] = {}
        for facts in files:
            for cls in facts.classes:
                self.classes[cls.qualname] = cls
                self.class_file[cls.qualname] = facts
            for fn in facts.functions:
                self.functions[fn.qualname] = fn
                self.function_file[fn.qualname] = facts
        self._short: dict[str, list[str]] = {}
        for name in self.classes:
            self._short.setdefault(name.rsplit(".", 1)[-1], []).append(name)

    def linked(self, facts: FileFacts) -> FileFacts:
        """The project's version of a file it was given (its deferred values resolved):
        what rules must read, so a file's sites and layers are the objects the project
        links."""
        pair = self._linked.get(id(facts))
        if pair is not None and pair[0] is facts:
            return pair[1]
        return resolve_one(facts, self.resolve_class)  # not given to the project

    # --- classes ---------------------------------------------------------------------

    def resolve_class(self, name: str) -> ClassFacts | None:
        if name in self.classes:
            return self.classes[name]
        # an import of a module we did not see under that exact dotted path
        short = name.rsplit(".", 1)[-1]
        candidates = self._short.get(short, [])
        return self.classes[candidates[0]] if len(candidates) == 1 and "." in name else None

    def mro(self, cls: ClassFacts) -> list[ClassFacts]:
        """The class and its resolvable bases, nearest first (memoized: rules ask often)."""
        cached = self._mro.get(cls.qualname)
        if cached is not None:
            return cached
        seen: list[ClassFacts] = []
        names: set[str] = set()
        todo = [cls]
        while todo and len(seen) < 32:
            current = todo.pop(0)
            if current.qualname in names:
                continue
            names.add(current.qualname)
            seen.append(current)
            for base in current.bases:
                resolved = self.resolve_class(base)
                if resolved is not None:
                    todo.append(resolved)
        self._mro[cls.qualname] = seen
        return seen

    def external_bases(self, cls: ClassFacts) -> list[str]:
        """Bases we cannot see, other than torch's own classes and the ones that add no
        behaviour to a module (``object``, ``ABC``, ``Generic[T]``, ``Protocol``)."""
        out = []
        for klass in self.mro(cls):
            for base in klass.bases:
                if self.resolve_class(base) is None and not base.startswith("torch.") \
                        and base not in _INERT_BASES and not base.startswith(("typing.", "abc.",
                                                                            "typing_extensions.")):
                    out.append(base)
        return out

    def is_module(self, cls: ClassFacts) -> bool:
        for klass in self.mro(cls):
            if klass.layers or klass.params:
                return True
            if any(b.startswith("torch.nn.") for b in klass.bases):
                return True
        return any(b.endswith(FRAMEWORK_BASE_SUFFIXES) for b in self.external_bases(cls))

    def framework_managed(self, cls: ClassFacts) -> bool:
        """Derives from a class (transformers, diffusers...) whose machinery may call init
        hooks: a known framework base, or a module whose only route to ``nn.Module`` goes
        through a base we cannot see. An extra base next to a visible ``nn.Module`` base (a
        mixin, ``ABC``, ``Generic``) does not make the class framework-managed."""
        external = self.external_bases(cls)
        if not external:
            return False
        if any(b.endswith(FRAMEWORK_BASE_SUFFIXES) for b in external):
            return True
        return not any(b.startswith("torch.nn.") for k in self.mro(cls) for b in k.bases)

    def subclasses(self, cls: ClassFacts) -> list[ClassFacts]:
        return self._subclasses.get(cls.qualname, [])

    @cached_property
    def _subclasses(self) -> dict[str, list[ClassFacts]]:
        index: dict[str, list[ClassFacts]] = {}
        for cls in self.classes.values():
            for ancestor in self.mro(cls)[1:]:
                index.setdefault(ancestor.qualname, []).append(cls)
        return index

    @cached_property
    def calls_by_name(self) -> dict[str, list[tuple[FunctionFacts, CallRef]]]:
        """Every call any function makes, by the called name (short and qualified)."""
        index: dict[str, list[tuple[FunctionFacts, CallRef]]] = {}
        for fn in self.functions.values():
            for call in fn.calls:
                index.setdefault(call.name, []).append((fn, call))
                short = call.name.rsplit(".", 1)[-1]
                if short != call.name:
                    index.setdefault(short, []).append((fn, call))
        return index

    def per_module(self, call: CallRef, caller: FunctionFacts | None,
                   cls: ClassFacts | None = None) -> PerModule | None:
        """What ``call`` runs once per module of a tree, or None. ``cls``: the model whose
        construction runs the caller (``self._init`` resolves through its MRO); by default
        the caller's own class."""
        if call.kind == "apply":
            return PerModule(call, call.name, call.receiver, call.receiver_cls)
        if call.kind not in ("function", "self_method") or not call.walks \
                or call.receiver == "super":
            return None
        walk = next((b for b in call.walks if b.source in WALK_SOURCES
                     and b.var != b.name_var), None)
        if walk is None:
            return None
        index = call.args.index(walk.var)
        if call.kind == "self_method":
            owner = cls if cls is not None else \
                self.classes.get(caller.cls) if caller is not None and caller.cls else None
            target = self.method(owner, call.name) if owner is not None else None
            if target is None:
                return None
            params = [p for p in target.params if p != "self"]
        else:
            target = self.functions.get(call.name)
            if call.name.rsplit(".", 1)[-1][:1].isupper() or self.resolve_class(call.name):
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
        for facts in self.files:
            for call in facts.calls_at_module_level:
                found = self.per_module(call, None)
                if found is not None:
                    out.append((facts.module, None, found))
        for fn in self.functions.values():
            module = self.function_file[fn.qualname].module
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
            var = walk.var or _module_param(self.functions.get(walk.callee))
            if var:
                out.setdefault(walk.callee, set()).add(var)
        return {name: frozenset(params) for name, params in out.items()}

    @property
    def _weak(self) -> ProjectFacts:
        """This project, for the objects it caches (its evaluator, each model's effective
        init): a plain reference back would make every linked project cyclic garbage, left
        for the whole-heap cycle collector to find (tests/test_lsp_heap.py)."""
        return weakref.proxy(self)

    @cached_property
    def evaluator(self) -> Evaluator:
        """The abstract evaluator over this project's classes (conditions, values)."""
        return Evaluator(World(self._weak))

    @cached_property
    def grad_enabled(self) -> dict[str, bool]:
        """See :func:`grad_enabled_functions`; computed once per project."""
        return grad_enabled_functions(self)

    def method(self, cls: ClassFacts, name: str, after: ClassFacts | None = None):
        """Resolve ``self.name`` on ``cls`` (virtual dispatch); ``after`` for super()."""
        chain = self.mro(cls)
        if after is not None and after in chain:
            chain = chain[chain.index(after) + 1:]
        for klass in chain:
            qualname = f"{klass.qualname}.{name}"
            if qualname in self.functions:
                return self.functions[qualname]
        return None

    def callback(self, cls: ClassFacts, name: str) -> FunctionFacts | None:
        """The function ``apply(name)`` runs while ``cls`` is built: ``self.init_weights``
        (recorded under the class that wrote it) is looked up on ``cls``'s MRO, as Python
        binds it, so a base's method or a subclass's override is found."""
        owner_name, _, method = name.rpartition(".")
        owner = self.classes.get(owner_name)
        if owner is not None and owner in self.mro(cls):
            found = self.method(cls, method)
            if found is not None:
                return found
        return self.functions.get(name)

    def all_layers(self, cls: ClassFacts) -> list[LayerFact]:
        return [layer for klass in self.mro(cls) for layer in klass.layers]

    def placed_layers(self, cls: ClassFacts) -> list[Placed]:
        """Every layer in the module tree of ``cls``, with its path (memoized)."""
        return self._placed(cls.qualname, frozenset())

    def _placed(self, qualname: str, seen: frozenset[str],
                bound: tuple[tuple[str, Any], ...] = ()) -> list[Placed]:
        """The tree ``qualname`` builds with its ``__init__`` parameters bound to ``bound``
        (a construction's arguments) and to their defaults otherwise (memoized per binding)."""
        key = (qualname, bound)
        cached = self._placed_cache.get(key)
        if cached is not None:
            return cached
        cls = self.classes[qualname]
        out: list[Placed] = []
        if len(seen) > MAX_DEPTH or qualname in seen:
            return out
        seen = seen | {qualname}
        env = dict(bound)
        init = self.method(cls, "__init__")
        for klass in self.mro(cls):
            own = init is not None and init.cls == klass.qualname
            for layer in klass.layers:
                layer = _bind_layer(layer, env if own else {})
                out.append(Placed(layer.name, layer, klass.qualname))
                child = self.resolve_class(layer.cls) if layer.cls else None
                if child is not None and child.qualname not in seen:
                    inner = self._call_binding(child, layer)
                    out += [Placed(f"{layer.name}.{p.path}", p.layer, p.owner)
                            for p in self._placed(child.qualname, seen, inner)]
        if len(seen) == 1 or bound:
            self._placed_cache[key] = out
        return out

    def _call_binding(self, cls: ClassFacts, layer: LayerFact) -> tuple[tuple[str, Any], ...]:
        """``Block(64, norm_layer=nn.InstanceNorm2d)``: the known values it passes to the
        parameters of ``Block.__init__``."""
        init = self.method(cls, "__init__")
        if init is None:
            return ()
        params = [p for p in init.params if p != "self"]
        pending = set(layer.from_params)  # slots whose value is still not known
        out: dict[str, Any] = {}
        if not layer.star:
            for index, value in enumerate(layer.args):
                if index < len(params) and str(index) not in pending and _concrete(value):
                    out[params[index]] = value
        for key, value in layer.kwargs:
            if key in params and key not in pending and _concrete(value):
                out[key] = value
        return tuple(sorted(out.items(), key=lambda kv: kv[0]))

    def placed_by_path(self, cls: ClassFacts) -> dict[str, Placed]:
        cached = self._placed_paths.get(cls.qualname)
        if cached is None:
            cached = {p.path: p for p in self.placed_layers(cls)}
            self._placed_paths[cls.qualname] = cached
        return cached

    @cached_property
    def containers(self) -> dict[str, list[tuple[str, str]]]:
        """class qualname → [(container qualname, path of the class inside it)]."""
        out: dict[str, list[tuple[str, str]]] = {}
        for cls in self.classes.values():
            for klass in self.mro(cls):
                for layer in klass.layers:
                    child = self.resolve_class(layer.cls) if layer.cls else None
                    if child is not None and child is not cls:
                        out.setdefault(child.qualname, []).append((cls.qualname, layer.name))
        return out

    # --- what a model's construction runs ---------------------------------------------

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
        init = self.method(cls, "__init__")
        visited: set[tuple[str, str, str]] = set()
        if init is not None:
            self._run(cls, init, {"self": ""}, applied, opaque, visited, 0)
        for walk in self.typed_applies.get(cls.qualname, ()):
            fn = self.functions.get(walk.callee)
            if fn is None:
                opaque.append(f"apply({walk.callee})")
            else:
                self._run_callback(cls, fn, "", applied, opaque, visited, 0, walk.var,
                                   walk.call.conditions if walk.loop else (), walk.alias,
                                   walk.source)
        if self.framework_managed(cls):
            for hook in ("_init_weights", "init_weights", "_initialize_weights",
                         "reset_parameters"):
                fn = self.method(cls, hook)
                if fn is not None:
                    self._run_callback(cls, fn, "", applied, opaque, visited, 0)
            opaque.append("framework base " + ", ".join(self.external_bases(cls)))
        # layers that are nn layers subclasses with reset_parameters: PyTorch calls it
        return applied, opaque

    def sites_run_by(self, cls: ClassFacts, call: CallRef) -> tuple[list[Applied], list[str]]:
        """The init sites one call of ``cls.__init__`` runs (``self.apply(fn)``,
        ``self._init_weights()``), and the opaque calls it makes."""
        applied: list[Applied] = []
        opaque: list[str] = []
        init = self.method(cls, "__init__")
        if init is not None and self._follow_walk(cls, init, call, {"self": ""}, applied,
                                                  opaque, set(), 0):
            return applied, opaque  # ``for m in self.modules(): self._init(m)``
        if call.kind == "apply":
            fn = self.callback(cls, call.name)
            if fn is not None:
                self._run_callback(cls, fn, "", applied, opaque, set(), 0,
                                   name_var=self._name_param(call, fn))
        elif call.kind == "self_method" and call.receiver == "super":
            # super().__init__() may run the base's init (dispatched on ``cls``) before the
            # subclass has built its own layers
            fn = self.method(cls, call.name, after=cls)
            if fn is not None:
                self._run(cls, fn, {"self": ""}, applied, opaque, set(), 0)
        elif call.kind == "self_method":
            fn = self.method(cls, call.name)
            if fn is not None and fn.name != "__init__":
                self._run(cls, fn, {"self": ""}, applied, opaque, set(), 0)
        return applied, opaque

    def _run(self, cls: ClassFacts, fn: FunctionFacts, bound: dict[str, str],
             applied: list[Applied], opaque: list[str], visited: set, depth: int) -> None:
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
                how = "members" if binding.source == "list" else "each_param" \
                    if binding.source in PARAM_WALKS else "each_module"
                if binding.source in ("children", "named_children", "iter"):
                    how = "each_child"
                applied.append(Applied(site, receiver, how, binding))
            elif base in bound or base in aliases:
                # a local that is a submodule: ``self.<alias>`` under the model
                head = bound[base] if base in bound else \
                    ".".join(p for p in (bound["self"], aliases[base]) if p)
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
        applier = self.functions.get(call.via) if call.via else None
        if applier is None or "name" not in fn.params:
            return ""
        passes = any(c.kind == "param" and "name" in c.args for c in applier.calls)
        return "name" if passes else ""

    def _init_aliases(self, fn: FunctionFacts, bound: dict[str, str]) -> dict[str, str]:
        """In a class's ``__init__`` run on a model: its locals that are submodules."""
        if fn.name != "__init__" or "self" not in bound or not fn.cls:
            return {}
        klass = self.classes.get(fn.cls)
        return dict(klass.init_aliases) if klass is not None else {}

    def _follow(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef, bound: dict[str, str],
                applied: list[Applied], opaque: list[str], visited: set, depth: int) -> None:
        if self._follow_walk(cls, fn, call, bound, applied, opaque, visited, depth):
            return
        if call.kind == "self_method" and "self" in bound:
            if call.receiver == "super":
                owner = self.classes.get(fn.cls)
                target = self.method(cls, call.name, after=owner) if owner else None
            else:
                target = self.method(cls, call.name)
            if target is not None:
                inner = {"self": bound["self"]}
                inner.update(_bind_args(target, call.args, bound, skip_self=True))
                self._run(cls, target, inner, applied, opaque, visited, depth + 1)
            elif call.name not in ("__init__", "register_buffer", "register_parameter",
                                   "add_module", "apply") and self.framework_managed(cls):
                opaque.append(f"self.{call.name}()")
        elif call.kind == "apply":
            receiver = _rebase(call.receiver, bound) if call.receiver else None
            target = self.callback(cls, call.name)
            if receiver is None:
                return
            if target is None:
                opaque.append(f"apply({call.name or '?'})")
                return
            self._run_callback(cls, target, receiver, applied, opaque, visited, depth + 1,
                               name_var=self._name_param(call, target))
        elif call.kind == "function":
            if call.name.rsplit(".", 1)[-1][:1].isupper() or self.resolve_class(call.name):
                return  # a class constructor: building a submodule runs no init on ours
            target = self.functions.get(call.name)
            # the model's layer paths are built only when an argument rebases to a path
            # (``init(self.fc)``): most calls pass none, and this runs for every class
            paths = [p for p in (_rebase(a, bound) for a in call.args if a) if p is not None]
            passes_model = "" in paths or (
                bool(paths) and any(p in self.placed_by_path(cls) for p in paths))
            if target is None:
                if passes_model and not call.name.startswith(("torch.", "math.", "builtins")):
                    opaque.append(f"{call.name}(...)")
                return
            inner = _bind_args(target, call.args, bound, skip_self=False)
            if inner or target.has_init_code or passes_model:
                self._run(cls, target, inner, applied, opaque, visited, depth + 1)
        elif call.kind == "method" and call.receiver.startswith("self.") and "self" in bound:
            # self.decoder.init_weights(): the submodule's own method
            path = call.receiver[len("self."):]
            child = self.placed_by_path(cls).get(path)
            child_cls = self.resolve_class(child.layer.cls) if child and child.layer.cls else None
            if child_cls is not None:
                target = self.method(child_cls, call.name)
                if target is not None:
                    sub = ".".join(p for p in (bound["self"], path) if p)
                    self._run(child_cls, target, {"self": sub}, applied, opaque, visited,
                              depth + 1)
            elif call.name in api.INIT_METHOD_NAMES:
                opaque.append(f"{call.receiver}.{call.name}()")

    def _follow_walk(self, cls: ClassFacts, fn: FunctionFacts, call: CallRef,
                     bound: dict[str, str], applied: list[Applied], opaque: list[str],
                     visited: set, depth: int) -> bool:
        """``for m in self.modules(): self._init(m)`` / ``init_fn(m)``: the callee runs
        once per module of the walk, like an ``apply`` callback (under the loop's tests)."""
        walk = self.per_module(call, fn, cls) if call.kind != "apply" else None
        if walk is None:
            return False
        receiver = _rebase(walk.receiver, bound) if walk.receiver else None
        if receiver is None:
            return True  # a walk of something else than this model
        target = self.functions.get(walk.callee)
        if target is None:
            opaque.append(f"{walk.callee}({walk.alias})")
            return True
        self._run_callback(cls, target, receiver, applied, opaque, visited, depth + 1,
                           walk.var, call.conditions, walk.alias, walk.source)
        return True

    def _run_callback(self, cls: ClassFacts, fn: FunctionFacts, receiver: str,
                      applied: list[Applied], opaque: list[str], visited: set,
                      depth: int, var: str = "", extra: tuple[Condition, ...] = (),
                      alias: str = "", source: str = "modules", name_var: str = "") -> None:
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
        how = "each_child" if source == "children" else "each_module"
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
                target = self.functions.get(call.name)
                if target is not None and var in call.args:
                    self._run_callback(cls, target, receiver, applied, opaque, visited,
                                       depth + 1)
                elif target is None and var in call.args and not call.name.startswith(
                        ("torch.", "math.")):
                    opaque.append(f"{call.name}({var})")
            elif call.kind == "method" and call.receiver == var and \
                    call.name not in ("modules", "named_modules", "parameters",
                                      "named_parameters", "children", "size", "dim"):
                opaque.append(f"{var}.{call.name}()")
            elif call.kind == "self_method" and fn.cls:
                owner = self.classes.get(fn.cls)
                target = self.method(owner, call.name) if owner else None
                if target is not None and var in call.args:
                    self._run_callback(cls, target, receiver, applied, opaque, visited,
                                       depth + 1)

    @cached_property
    def _sites_by_function(self) -> dict[str, list[InitSite]]:
        out: dict[str, list[InitSite]] = {}
        for facts in self.files:
            for site in facts.sites:
                out.setdefault(site.function, []).append(site)
        return out

    def sites_in(self, fn: FunctionFacts) -> list[InitSite]:
        return self._sites_by_function.get(fn.qualname, [])

    @cached_property
    def _site_models(self) -> dict[InitSite, list[ClassFacts]]:
        index: dict[InitSite, list[ClassFacts]] = {}
        for cls in self.classes.values():
            if not any(k.layers for k in self.mro(cls)):
                continue
            applied, _ = self.construction(cls)
            for item in applied:
                index.setdefault(item.site, []).append(cls)
        return index

    def composed_of(self, cls: ClassFacts) -> set[str]:
        """Classes that may be part of a ``cls`` model: its own, its submodules' and the ones
        its methods construct (``Block(...)`` inside ``_make_layer``), transitively."""
        cached = self._composed.get(cls.qualname)
        if cached is not None:
            return cached
        seen: set[str] = set()
        todo = [cls]
        while todo:
            current = todo.pop()
            if current.qualname in seen:
                continue
            seen.add(current.qualname)
            for klass in self.mro(current):
                names = [layer.cls for layer in klass.layers if layer.cls]
                for method in klass.methods:
                    fn = self.functions.get(method)
                    names += [c.name for c in fn.calls if c.kind == "function"] if fn else []
                for name in names:
                    child = self.resolve_class(name)
                    if child is not None and child.qualname not in seen:
                        todo.append(child)
        self._composed[cls.qualname] = seen
        return seen

    def models_running(self, site: InitSite) -> list[ClassFacts]:
        """Model classes whose construction runs ``site``."""
        return self._site_models.get(site, [])

    # --- the effective init of each layer ---------------------------------------------

    def effective(self, cls: ClassFacts) -> EffectiveInit:
        """Per layer path of ``cls``: the sites that write it, from its own construction and
        from every container in the tree that holds it."""
        return self._effective_cache(cls.qualname)

    def _effective_cache(self, qualname: str) -> EffectiveInit:
        cache = self.__dict__.setdefault("_effective", {})
        if qualname not in cache:
            cls = self.classes[qualname]
            applied, opaque = self.construction(cls)
            result = EffectiveInit(self._weak, cls, tuple(applied), tuple(opaque))
            cache[qualname] = result
            for container, path in self.containers.get(qualname, []):
                result.inherit(self._effective_cache(container), path)
            package = self.class_file[qualname].module.split(".")[0]
            result.inherit_scripts(self.script_applies.get(package, []))
        return cache[qualname]

    @cached_property
    def script_applies(self) -> dict[str, list[tuple[FunctionFacts | None, PerModule]]]:
        """``model.apply(fn)`` (or its loop, :class:`PerModule`) outside the model's own
        methods, by top-level package: such a call may touch any model of its package (a
        training script initializing the net)."""
        out: dict[str, list[tuple[FunctionFacts | None, PerModule]]] = {}
        for module, _caller, walk in self.per_module_calls:
            if walk.receiver and walk.receiver != "self" and \
                    not walk.receiver.startswith("self.") and walk.callee \
                    and not walk.receiver_cls:
                package = module.split(".")[0]
                fn = self.functions.get(walk.callee)
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
            klass = self.resolve_class(walk.receiver_cls)
            if klass is not None and walk.callee:
                out.setdefault(klass.qualname, []).append(walk)
        return out


def _module_param(fn: FunctionFacts | None) -> str:
    """The parameter ``apply`` hands the module to: the first (``module`` in a
    ``(name, module)`` signature)."""
    params = [p for p in fn.params if p not in ("self", "cls")] if fn else []
    if len(params) > 1 and params[0] in ("name", "n") and "module" in params:
        return "module"
    return params[0] if params else ""


def _concrete(value: Any) -> bool:
    """A value worth binding (known, and hashable for the memo)."""
    if isinstance(value, tuple):
        return all(_concrete(v) for v in value)
    return value is not UNKNOWN and isinstance(value, (str, int, float, bool, type(None),
                                                       ClassRef))


def _bind_layer(layer: LayerFact, env: dict[str, Any]) -> LayerFact:
    """The layer as this construction builds it: arguments read from ``__init__`` parameters
    take the bound values (else the defaults already folded in), the class a parameter holds
    (``norm_layer(c)``) becomes the bound class."""
    if not layer.param_args and not layer.cls_param:
        return layer
    args = list(layer.args)
    kwargs = dict(layer.kwargs)
    fixed = set()
    for slot, param in layer.param_args:
        value = env.get(param, _DEFAULT)
        if value is _DEFAULT:
            current = kwargs.get(slot) if not slot.isdigit() else (
                args[int(slot)] if int(slot) < len(args) else UNKNOWN)
            if current is not UNKNOWN:
                fixed.add(slot)  # the parameter's default
            continue
        fixed.add(slot)
        if slot.isdigit():
            if int(slot) < len(args):
                args[int(slot)] = value
        else:
            kwargs[slot] = value
    cls = layer.cls
    held = env.get(layer.cls_param) if layer.cls_param else None
    if isinstance(held, ClassRef):
        cls = canonical(held.qualname)
    return replace(layer, cls=cls, args=tuple(args), kwargs=tuple(kwargs.items()),
                   from_params=tuple(s for s in layer.from_params if s not in fixed))


_DEFAULT = object()


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


class EffectiveInit:
    """For one model class: which sites write which layer parameter."""

    def __init__(self, project: ProjectFacts, cls: ClassFacts, applied: tuple[Applied, ...],
                 opaque: tuple[str, ...]):
        self.project = project
        self.cls = cls
        self.applied = list(applied)
        self.opaque = list(opaque)
        self.placed = project.placed_layers(cls)
        # the class at each path, the model's own at "" (what a callback's dispatch tests)
        self.classes_at = {"": cls.qualname, **{p.path: p.layer.cls for p in self.placed}}
        self._inherited: list[tuple[Applied, str]] = []  # (applied in container, our prefix)
        self.script_functions: list[tuple[FunctionFacts | None, PerModule]] = []

    def inherit(self, outer: EffectiveInit, path: str) -> None:
        prefix = path + "."
        for item in outer.applied:
            self._inherited.append((item, prefix))
        for item, inner_prefix in outer._inherited:
            self._inherited.append((item, inner_prefix + prefix))
        self.opaque += outer.opaque

    def inherit_scripts(self, scripts) -> None:
        self.script_functions = list(scripts)

    def writes(self, placed: Placed, attr: str, own_only: bool = False) -> LayerInit:
        """The sites writing ``<layer>.<attr>``; ``own_only``: only the class's own
        construction, not containers that may hold it."""
        sites: list[InitSite] = []
        possible = bool(self.opaque)
        for item in self.applied:
            verdict = hits(self.project, item, placed.path, placed.layer, attr, self.classes_at)
            if verdict == "yes":
                sites.append(item.site)
            elif verdict == "maybe":
                possible = True
        for item, prefix in [] if own_only else self._inherited:
            verdict = hits(self.project, item, prefix + placed.path, placed.layer, attr,
                            {prefix + k if k else prefix[:-1]: v
                             for k, v in self.classes_at.items()})
            if verdict == "yes":
                sites.append(item.site)
            elif verdict == "maybe":
                possible = True
        for fn, walk in [] if own_only else self.script_functions:
            outer = walk.call.conditions if walk.loop else ()
            if fn is None:
                possible = True
                continue
            for site in self.project.sites_in(fn):
                if walk.loop and site.target.base != walk.var:
                    continue  # writes something else than the module it is handed
                item = Applied(site, "", "each_module", LoopBinding(walk.var, "modules", ""),
                               outer, walk.alias)
                if hits(self.project, item, placed.path, placed.layer, attr,
                         self.classes_at) != "no":
                    possible = True
        return LayerInit(tuple(dict.fromkeys(sites)), possible)


def grad_enabled_functions(project: ProjectFacts) -> dict[str, bool]:
    """Functions that model construction or module-level code runs, and whether some path
    reaches them with autograd enabled (True) or only under ``no_grad`` (False).

    Framework hooks (``_init_weights`` of a transformers model) are not entered: the
    framework runs them under no_grad, and we only report what we can follow.
    """
    reached: dict[str, bool] = {}
    todo: list[tuple[FunctionFacts, ClassFacts | None, bool]] = []
    for cls in project.classes.values():
        init = project.functions.get(f"{cls.qualname}.__init__")
        if init is not None:
            todo.append((init, cls, True))
    for facts in project.files:
        for call in facts.calls_at_module_level:
            target = project.functions.get(call.name)
            if target is not None and call.kind in ("function", "apply"):
                todo.append((target, None, not call.no_grad))
    while todo:
        fn, cls, grad = todo.pop()
        grad = grad and not fn.no_grad
        if reached.get(fn.qualname) is True or (fn.qualname in reached and not grad):
            continue
        reached[fn.qualname] = grad
        for call in fn.calls:
            callee = None
            if call.kind == "self_method" and cls is not None:
                if call.receiver == "super":
                    owner = project.classes.get(fn.cls)
                    callee = project.method(cls, call.name, after=owner) if owner else None
                else:
                    callee = project.method(cls, call.name)
            elif call.kind in ("function", "apply", "ref"):
                callee = project.functions.get(call.name)
                if callee is not None and callee.name == "__init__":
                    callee = None
            if callee is not None:
                todo.append((callee, cls, grad and not call.no_grad))
    return reached


def hits(project: ProjectFacts, item: Applied, path: str, layer: LayerFact, attr: str,
         classes_at: dict[str, str]) -> str:
    """Does ``item`` write ``<path>.<attr>``? "yes", "no" or "maybe": the site's tests are
    evaluated on the abstract module (or parameter) at ``path``."""
    site = item.site
    scope = item.scope
    if item.how == "unknown":
        return "maybe"
    if item.how in ("direct", "direct_param", "indexed") and site.conditions \
            and site_runs(project, site) is False:
        return "no"  # ``if self.bias_initializer is not None:`` with the default None
    if item.how == "direct_param":  # a helper given the tensor: init_(self.fc.weight)
        return "yes" if item.scope == f"{path}.{attr}" else "no"
    if item.how == "indexed":  # self.layers[-1].weight, self.layers[i].weight
        if site.target.attr != attr:
            return "no"
        return _index_match(item.scope, path, classes_at)
    if scope and not (path == scope or path.startswith(scope + ".")):
        return "no"
    if item.how == "direct":
        return "yes" if item.scope == path and site.target.attr == attr else "no"


    rel = path[len(scope) + 1:] if scope else path
    if item.how == "members":
        members = item.binding.members if item.binding else ()
        return "yes" if rel in members and site.target.attr == attr and not site.target.path \
            else "no"
    binding = item.binding
    var = binding.var if binding else site.target.base
    loops = _loop_names(project, site)
    if item.how == "each_child":
        # ``for block in self.blocks: init(block.fc2.weight)``: direct children only
        child, _, inner = rel.partition(".")
        if inner != site.target.path or site.target.attr != attr:
            return "no"
        owner = f"{scope}.{child}" if scope else child
        owner_cls = classes_at.get(owner) if inner else layer.cls
        if not owner_cls:
            return "maybe"
        return _verdict(site_runs_on_module(project, site, var, owner_cls,
                                            None if inner else layer, loops, item.extra,
                                            item.alias))
    if item.how == "each_param":
        if site.target.attr or site.target.path:
            return "maybe"
        name_var = binding.name_var if binding else ""
        param = project.evaluator.attribute(_module_val(layer), attr)
        if not isinstance(param, ParamVal):
            param = ParamVal(attr)
        owner_var = binding.receiver if binding else ""
        if owner_var and owner_var != "self" and "." not in owner_var:
            # ``def init(m): if isinstance(m, nn.LSTM): for p in m.parameters(): ...``: the
            # loop walks the parameters of each module the callback's tests let through
            return _verdict(_runs_on_param_of_owner(project, site, var, name_var, owner_var,
                                                    scope, rel, attr, layer, param, loops,
                                                    classes_at))
        return _verdict(site_runs_on_param(project, site, var, name_var, f"{rel}.{attr}",
                                           param, loops))
    # each_module: the site writes <var>.<path>.<attr>
    if site.target.path:
        # m.bn3.weight under isinstance(m, Bottleneck): the layer is bn3 of a matching module
        if not path.endswith("." + site.target.path) and path != site.target.path:
            return "no"
        if site.target.attr != attr:
            return "no"
        owner_path = path[: -len(site.target.path)].rstrip(".")
        owner_cls = classes_at.get(owner_path)
        if owner_cls is None:
            return "maybe"
        owner_rel = owner_path[len(scope) + 1:] if scope else owner_path
        return _verdict(site_runs_on_module(project, site, var, owner_cls, None, loops,
                                            item.extra, item.alias,
                                            _module_name(binding, owner_rel)))
    if site.target.attr != attr:
        return "no"
    return _verdict(site_runs_on_module(project, site, var, layer.cls, layer, loops,
                                        item.extra, item.alias, _module_name(binding, rel)))


def _module_name(binding: LoopBinding | None, rel: str) -> tuple[str, str]:
    """(name variable, value) for a walk that names each module (``named_modules()``,
    ``named_apply``): its qualified name under the walked object; none for a path with a
    repeated or unknown element (``blocks.*``), whose index a name test could ask."""
    if binding is None or not binding.name_var or any(
            seg in ("*", "?") or seg.startswith("?") for seg in rel.split(".")):
        return ()
    return (binding.name_var, rel)


def _index_match(pattern: str, path: str, classes_at: dict[str, str]) -> str:
    """Does ``layers.-1`` / ``layers.*`` / ``layers.2`` name the layer at ``path``?"""
    want, have = pattern.split("."), path.split(".")
    if len(want) != len(have):
        return "no"
    verdict = "yes"
    for i, (w, h) in enumerate(zip(want, have, strict=True)):
        if w == h:
            continue
        if w == "*" or h == "*":
            # every element, or one element of a list built in a loop
            verdict = "yes" if w == "*" and h == "*" else verdict if w == "*" else "maybe"
            continue
        if w.startswith("-") and w[1:].isdigit() and h.isdigit():
            prefix = ".".join(have[:i]) + "."
            siblings = sorted(int(k[len(prefix):].split(".")[0]) for k in classes_at
                              if k.startswith(prefix) and k[len(prefix):].split(".")[0].isdigit())
            if siblings and siblings[-int(w[1:])] == int(h):
                continue
            return "no"
        return "no"
    return verdict


def _runs_on_param_of_owner(project: ProjectFacts, site: InitSite, var: str, name_var: str,
                            owner_var: str, scope: str, rel: str, attr: str, layer: LayerFact,
                            param: ParamVal, loops: frozenset[str],
                            classes_at: dict[str, str]) -> bool | None:
    """Does the site run for ``<scope>.<rel>.<attr>`` as a parameter of some module ``owner_var``
    walks (the scope itself or any module on the way down to the layer)? Yes if for one of
    them; unknown if unknown for one and no for none... yes for none."""
    parts = rel.split(".") if rel else []
    verdict: bool | None = False
    for depth in range(len(parts) + 1):
        owned = ".".join(parts[:depth])
        path = ".".join(p for p in (scope, owned) if p)
        cls = layer.cls if depth == len(parts) else classes_at.get(path, "")
        module = ModuleVal(cls, layer if depth == len(parts) else None)
        name = ".".join([*parts[depth:], attr])  # the name ``module.named_parameters()`` gives
        here = site_runs_on_param(project, site, var, name_var, name, param, loops,
                                  (owner_var, module))
        if here is True:
            return True
        if here is None:
            verdict = None
    return verdict


def _module_val(layer: LayerFact) -> ModuleVal:
    return ModuleVal(layer.cls, layer)


def _verdict(value: bool | None) -> str:
    return "yes" if value is True else "no" if value is False else "maybe"


def _loop_names(project: ProjectFacts, site: InitSite) -> frozenset[str]:
    """Loop variables of the site's function: a test on one we did not bind is unknown."""
    fn = project.functions.get(site.function)
    if fn is None:
        return frozenset()
    return frozenset(n for b in fn.loops for n in (b.var, b.name_var) if n)
