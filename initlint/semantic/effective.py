"""The effective init of each model: which sites write which parameter of which layer, from
its own construction, the containers that hold it and the scripts that run on its package."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from initlint.extract.facts import (
    PARAM_WALKS,
    ClassFacts,
    FunctionFacts,
    InitSite,
    LayerFact,
    LoopBinding,
)
from initlint.extract.values import ModuleVal, ParamVal
from initlint.semantic.classes import ClassIndex
from initlint.semantic.construction import InitCalls
from initlint.semantic.records import Applied, LayerInit, PerModule, Placed
from initlint.semantic.site_tests import SiteTests


class EffectiveInit:
    """For one model class: which sites write which layer parameter."""

    def __init__(self, calls: InitCalls, tests: SiteTests, cls: ClassFacts,
                 applied: tuple[Applied, ...], opaque: tuple[str, ...]):
        self.calls = calls
        self.tests = tests
        self.cls = cls
        self.applied = list(applied)
        self.opaque = list(opaque)
        self.placed = calls.trees.placed_layers(cls)
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

    def inherit_scripts(self, scripts: Iterable[tuple[FunctionFacts | None, PerModule]]) -> None:
        self.script_functions = list(scripts)

    def writes(self, placed: Placed, attr: str, own_only: bool = False) -> LayerInit:
        """The sites writing ``<layer>.<attr>``; ``own_only``: only the class's own
        construction, not containers that may hold it."""
        sites: list[InitSite] = []
        possible = bool(self.opaque)
        for item in self._direct.may_write(self.applied, placed.path, attr):
            verdict = hits(self.tests, item, placed.path, placed.layer, attr, self.classes_at)
            if verdict == "yes":
                sites.append(item.site)
            elif verdict == "maybe":
                possible = True
        if not own_only:
            outside, maybe = self._outside_writes(placed, attr)
            sites += outside
            possible = possible or maybe
        return LayerInit(tuple(dict.fromkeys(sites)), possible)

    def _outside_writes(self, placed: Placed, attr: str) -> tuple[list[InitSite], bool]:
        """The sites of the containers that hold the model and of the scripts that run on
        it writing ``<layer>.<attr>``, and whether code there may write it too."""
        sites: list[InitSite] = []
        possible = False
        for item, prefix in self._inherited:
            verdict = hits(self.tests, item, prefix + placed.path, placed.layer, attr,
                            {prefix + k if k else prefix[:-1]: v
                             for k, v in self.classes_at.items()})
            if verdict == "yes":
                sites.append(item.site)
            elif verdict == "maybe":
                possible = True
        for fn, walk in self.script_functions:
            outer = walk.call.conditions if walk.loop else ()
            if fn is None:
                possible = True
                continue
            for site in self.calls.sites_in(fn):
                if walk.loop and site.target.base != walk.var:
                    continue  # writes something else than the module it is handed
                item = Applied(site, "", "each_module", LoopBinding(walk.var, "modules", ""),
                               outer, walk.alias)
                if hits(self.tests, item, placed.path, placed.layer, attr,
                         self.classes_at) != "no":
                    possible = True
        return sites, possible

    def unknown_writers(self, placed: Placed, attr: str) -> list[Applied] | None:
        """The model's own calls on modules that may write ``<layer>.<attr>`` ("maybe": a
        load, code we cannot see), for a rule that can tell when they cannot run together
        with a write it judges; None when anything else may write it too."""
        if self.opaque or self._outside_writes(placed, attr)[1]:
            return None
        out = []
        for item in self.applied:
            verdict = hits(self.tests, item, placed.path, placed.layer, attr, self.classes_at)
            if verdict == "maybe":
                if item.how not in ("method", "opaque"):
                    return None
                out.append(item)
        return out

    @cached_property
    def _direct(self) -> _DirectWrites:
        return _DirectWrites.of(self.applied)


@dataclass(frozen=True)
class _DirectWrites:
    """The class's own sites that name the one parameter they write (``self.fc.weight``, or
    a helper handed ``self.fc.weight``), by that parameter: :func:`hits` says "no" to them
    for every other one, so a layer's writers are looked for among its own direct writes
    and the sites that walk modules, not among all of them (400 layers × 400 sites)."""

    by_layer: dict[tuple[str, str], tuple[int, ...]]  # (layer path, attr) of "direct"
    by_param: dict[str, tuple[int, ...]]  # "<path>.<attr>" of "direct_param"
    rest: tuple[int, ...]  # every other site (in order)

    @classmethod
    def of(cls, applied: list[Applied]) -> _DirectWrites:
        by_layer: dict[tuple[str, str], list[int]] = {}
        by_param: dict[str, list[int]] = {}
        rest = []
        for i, item in enumerate(applied):
            if item.how == "direct":
                by_layer.setdefault((item.scope, item.site.target.attr), []).append(i)
            elif item.how == "direct_param":
                by_param.setdefault(item.scope, []).append(i)
            else:
                rest.append(i)
        return cls({k: tuple(v) for k, v in by_layer.items()},
                   {k: tuple(v) for k, v in by_param.items()}, tuple(rest))

    def may_write(self, applied: list[Applied], path: str, attr: str) -> list[Applied]:
        """The sites of ``applied`` (in order) that may write ``<path>.<attr>``."""
        found = sorted((*self.by_layer.get((path, attr), ()),
                        *self.by_param.get(f"{path}.{attr}", ()), *self.rest))
        return [applied[i] for i in found]




def grad_enabled_functions(index: ClassIndex) -> dict[str, bool]:
    """Functions that model construction or module-level code runs, and whether some path
    reaches them with autograd enabled (True) or only under ``no_grad`` (False).

    Framework hooks (``_init_weights`` of a transformers model) are not entered: the
    framework runs them under no_grad, and we only report what we can follow.
    """
    reached: dict[str, bool] = {}
    todo: list[tuple[FunctionFacts, ClassFacts | None, bool]] = []
    for klass in index.classes.values():
        init = index.functions.get(f"{klass.qualname}.__init__")
        if init is not None:
            todo.append((init, klass, True))
    for facts in index.files:
        for call in facts.calls_at_module_level:
            target = index.functions.get(call.name)
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
                    owner = index.classes.get(fn.cls)
                    callee = index.method(cls, call.name, after=owner) if owner else None
                else:
                    callee = index.method(cls, call.name)
            elif call.kind in ("function", "apply", "ref"):
                callee = index.functions.get(call.name)
                if callee is not None and callee.name == "__init__":
                    callee = None
            if callee is not None:
                todo.append((callee, cls, grad and not call.no_grad))
    return reached


def hits(tests: SiteTests, item: Applied, path: str, layer: LayerFact, attr: str,
         classes_at: dict[str, str]) -> str:
    """Does ``item`` write ``<path>.<attr>``? "yes", "no" or "maybe": the site's tests are
    evaluated on the abstract module (or parameter) at ``path``."""
    site = item.site
    scope = item.scope
    if item.how == "unknown":
        return "maybe"
    if item.how in ("method", "opaque"):
        return _module_call_hits(tests, item, path, layer, attr, classes_at)
    if (item.how in ("direct", "direct_param", "indexed") and site.conditions
            and tests.runs(site) is False):
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
        return ("yes" if rel in members and site.target.attr == attr and not site.target.path
            else "no")
    binding = item.binding
    var = binding.var if binding else site.target.base
    loops = _loop_names(tests, site)
    if item.how == "each_child":
        # ``for block in self.blocks: init(block.fc2.weight)``: direct children only
        child, _, inner = rel.partition(".")
        if inner != site.target.path or site.target.attr != attr:
            return "no"
        owner = f"{scope}.{child}" if scope else child
        owner_cls = classes_at.get(owner) if inner else layer.cls
        if not owner_cls:
            return "maybe"
        return _verdict(tests.on_module(site, var, owner_cls,
                                            None if inner else layer, loops, item.extra,
                                            item.alias))
    if item.how == "each_param":
        if site.target.attr or site.target.path:
            return "maybe"
        name_var = binding.name_var if binding else ""
        param = tests.evaluator.attribute(_module_val(layer), attr)
        if not isinstance(param, ParamVal):
            param = ParamVal(attr)
        owner_var = binding.receiver if binding else ""
        if owner_var and owner_var != "self" and "." not in owner_var:
            # ``def init(m): if isinstance(m, nn.LSTM): for p in m.parameters(): ...``: the
            # loop walks the parameters of each module the callback's tests let through
            return _verdict(_runs_on_param_of_owner(tests, site, var, name_var, owner_var,
                                                    scope, rel, attr, layer, param, loops,
                                                    classes_at))
        return _verdict(tests.on_param(site, var, name_var, f"{rel}.{attr}",
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
        return _verdict(tests.on_module(site, var, owner_cls, None, loops,
                                            item.extra, item.alias,
                                            _module_name(binding, owner_rel)))
    if site.target.attr != attr:
        return "no"
    return _verdict(tests.on_module(site, var, layer.cls, layer, loops,
                                        item.extra, item.alias, _module_name(binding, rel)))



def _module_call_hits(tests: SiteTests, item: Applied, path: str, layer: LayerFact, attr: str,
                      classes_at: dict[str, str]) -> str:
    """Does a call on a module (a method of it, code we cannot see handed it) write
    ``<path>.<attr>``? It writes parameters of the module it runs on (the one at its scope,
    or each one its binding walks): what the module class's method writes (``"*"``: all of
    them, those of its submodules too), or, for code we cannot see, any of them: "maybe"."""
    scope, binding = item.scope, item.binding
    if binding is None:
        if item.site.conditions and tests.runs(item.site) is False:
            return "no"
        if item.how == "opaque" and scope == (f"{path}.{attr}" if path else attr):
            return "maybe"  # the tensor itself: ``fancy_init(self.proj)``
        owners = [scope]
    elif binding.source in PARAM_WALKS:
        # code we cannot see handed each tensor of a walk: any under the walked module
        return "maybe" if not scope or path == scope or path.startswith(scope + ".") else "no"
    else:
        parts = path.split(".") if path else []
        owners = [".".join(parts[:n]) for n in range(len(parts), -1, -1)]
    verdict = "no"
    for owner in owners:
        if owner and path != owner and not path.startswith(owner + "."):
            continue  # the parameter is not under the module the call runs on
        writes = _call_writes(item, owner, path, attr, layer, classes_at)
        if writes == "no":
            continue
        runs = True if binding is None else _call_runs_on(tests, item, owner,
                                                           layer if owner == path else None,
                                                           classes_at)
        if runs is False:
            continue
        if runs is True and writes == "yes":
            return "yes"
        verdict = "maybe"
    return verdict


def _call_writes(item: Applied, owner: str, path: str, attr: str, layer: LayerFact,
                 classes_at: dict[str, str]) -> str:
    """Does the call, run on the module at ``owner``, write ``<path>.<attr>`` (under it)?"""
    if item.how == "opaque":
        return "maybe"
    cls = layer.cls if owner == path else classes_at.get(owner, "")
    writes = dict(item.resets).get(cls, ("?",))
    if "*" in writes:
        return "yes"
    if owner == path and attr in writes:
        return "yes"
    return "maybe" if "?" in writes else "no"


def _call_runs_on(tests: SiteTests, item: Applied, owner: str, layer: LayerFact | None,
                  classes_at: dict[str, str]) -> bool | None:
    """Does a call on each module a walk yields run on the module at ``owner`` (under the
    call's tests, evaluated on that module)?"""
    binding, scope, site = item.binding, item.scope, item.site
    assert binding is not None
    if scope and owner != scope and not owner.startswith(scope + "."):
        return False
    rel = owner[len(scope) + 1:] if scope and owner != scope else "" if scope else owner
    if site.target.path:
        return None  # ``m.fc.reset_parameters()``: on a module below each walked one
    if binding.source == "list":
        return rel in binding.members
    if binding.source in ("children", "named_children", "iter"):
        if not rel or "." in rel:
            return False
    elif binding.source not in ("modules", "named_modules"):
        return None
    return tests.on_module(site, binding.var, classes_at.get(owner, "") if layer is None
                           else layer.cls, layer, _loop_names(tests, site), item.extra,
                           item.alias, _module_name(binding, rel))


def _module_name(binding: LoopBinding | None, rel: str) -> tuple[str, str] | tuple[()]:
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



def _runs_on_param_of_owner(tests: SiteTests, site: InitSite, var: str, name_var: str,
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
        here = tests.on_param(site, var, name_var, name, param, loops,
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



def _loop_names(tests: SiteTests, site: InitSite) -> frozenset[str]:
    """Loop variables of the site's function: a test on one we did not bind is unknown."""
    fn = tests.functions.get(site.function)
    if fn is None:
        return frozenset()
    return frozenset(n for b in fn.loops for n in (b.var, b.name_var) if n)
