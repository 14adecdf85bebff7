"""Whether an init reaches what it must: INI007 (a parameter made from uninitialized memory
that nothing writes) and INI208 (an init whose targets match nothing)."""

from __future__ import annotations

from collections.abc import Iterator

from initlint.checks.base import FileContext, Rule, rule
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Severity
from initlint.extract.expr import free_names, walk
from initlint.extract.facts import ClassFacts, FunctionFacts, InitSite, LayerFact, ParamFact
from initlint.semantic.effective import EffectiveInit, hits
from initlint.semantic.evaluate import tests_on
from initlint.semantic.project import ProjectFacts
from initlint.semantic.records import Applied, PerModule, Placed
from initlint.semantic.signal import display_path

E = Severity.ERROR
W = Severity.WARNING


# --- INI007 ---------------------------------------------------------------------------------


def _family(project: ProjectFacts, cls: ClassFacts) -> list[ClassFacts]:
    """The class, its bases and its subclasses: any of them may write the parameter."""
    seen = {k.qualname: k for k in project.mro(cls)}
    for sub in project.subclasses(cls):
        for klass in project.mro(sub):
            seen.setdefault(klass.qualname, klass)
    return list(seen.values())


#: Methods that only read parameters: a reference there is not a write.
_READERS = frozenset({"forward", "extra_repr", "__repr__", "_forward", "__call__"})


def _method_writes(project: ProjectFacts, classes: list[ClassFacts], name: str,
                   defaults_decide: bool = True) -> bool:
    """Some method of these classes may write ``name``: an init site on it or on a whole
    tensor it walks, the parameter handed to any call (``trunc_normal_(self.w)``, a
    helper-made initializer), walked in a loop over a list of them, or referenced outside
    ``forward`` by code we do not read. Whoever calls the method (``reset_parameters()`` from
    a container, a training script) initializes it. ``defaults_decide``: a test decided
    "no" on the default construction excludes a write (false for a parameter made in a
    branch, which the default construction may not build at all)."""
    attr = f"self.{name}"
    owners = {klass.qualname for klass in classes}
    for klass in classes:
        for method in klass.methods:
            fn = project.functions.get(method)
            if fn is None:
                continue
            for site in project.sites_in(fn):
                if defaults_decide and project.tests.runs(site) is False:
                    continue  # its tests are false on this class (``if self.init is not None``)
                if (site.target.attr == name or not site.target.attr
                        or site.style == "helper"):
                    return True
            if any(name in loop.members for loop in fn.loops):
                return True
            for call in fn.calls:
                if defaults_decide and project.tests.tests_pass(fn.qualname,
                                                                call.conditions) is False:
                    continue
                if any(a == attr or a.startswith((attr + ".", attr + "[")) for a in call.args):
                    return True
                owner, _, attr_name = call.name.rpartition(".")
                if attr_name == name and owner in owners and fn.name not in _READERS:
                    return True  # self.<name> referenced or handed on by code we do not read
    return False


def _framework_tree(project: ProjectFacts, cls: ClassFacts) -> bool:
    """The class, or a model holding it, derives from a framework base (transformers'
    PreTrainedModel, diffusers' ModelMixin): such models are built to be loaded from
    checkpoints, and the framework owns their init."""
    todo, seen = [cls.qualname], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        klass = project.classes.get(name)
        if klass is None:
            continue
        if any(b.rsplit(".", 1)[-1].endswith(api.FRAMEWORK_BASE_SUFFIXES)
               for k in project.mro(klass) for b in (k.qualname, *k.bases)):
            return True
        todo += [container for container, _ in project.containers.get(name, [])]
    if not project.containers.get(cls.qualname):
        # built where we cannot see (``Norm = RMSNorm if cfg.rmsnorm else LayerNorm``): a
        # framework model in the same file is the likely holder
        facts = project.class_file.get(cls.qualname)
        return facts is not None and any(
            b.rsplit(".", 1)[-1].endswith(api.FRAMEWORK_BASE_SUFFIXES)
            for k in facts.classes for b in (k.qualname, *k.bases))
    return False


def _reached(project: ProjectFacts, cls: ClassFacts, param: ParamFact) -> bool:
    """Does any init (certainly or possibly) write ``param`` of a ``cls`` model, or of a
    model holding one?"""
    family = _family(project, cls)
    if (_method_writes(project, family, param.name, defaults_decide=not param.branched)
            or _framework_tree(project, cls)):
        return True
    for klass in [cls, *project.subclasses(cls)]:
        if project.external_bases(klass):
            return True  # a base we cannot see may initialize its subclass's parameters
        effective = project.effective(klass)
        own = Placed("", LayerFact("", klass.qualname, (), (), param.span), klass.qualname)
        writes = effective.writes(own, param.name)
        if writes.possible or any(not _reset_before(site, cls, param) for site in writes.sites):
            return True
    return False


def _reset_before(site: InitSite, cls: ClassFacts, param: ParamFact) -> bool:
    """``self.reset_parameters()`` (torch's, drawing every parameter) called in ``__init__``
    before the parameter exists: it draws the ones made so far, not this one."""
    return (site.style == "reset" and site.function == f"{cls.qualname}.__init__"
            and site.span.row < param.span.row)


@rule("INI007", "uninitialized-parameter", E,
      "A parameter made from uninitialized memory (torch.empty, torch.Tensor(n, m), "
      "new_empty) that no init reaches before the model can run.")
def uninitialized_parameter(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls in ctx.facts.classes:
        if not ctx.project.is_module(cls):
            continue
        for param in cls.params:
            if (param.alloc != "uninit" or param.requires_grad is False
                    or _reached(ctx.project, cls, param)):
                continue  # requires_grad=False: a cache the class fills before reading
            yield rule.finding(
                ctx, param.span,
                f"`{cls.name}.{param.name}` is made from uninitialized memory and no init "
                "writes it",
                "torch.empty / torch.Tensor(sizes) / new_empty return whatever the allocator "
                "hands back; nothing in this class, its bases or subclasses, or a model that "
                "holds it writes the parameter before it is used. Measured with torch 2.13 on "
                "a (512, 512) parameter: values up to 4e25, half of them exactly 0, different "
                "on every run (NaN when the memory held them): the first forward is garbage "
                "or NaN. Initialize it in `__init__` (`nn.init.kaiming_uniform_(self."
                f"{param.name}, a=math.sqrt(5))`, or a `reset_parameters()` called from "
                "`__init__`), or build it with torch.zeros/randn.",
                subject=f"{cls.qualname}::{param.name}")


# --- INI208 ---------------------------------------------------------------------------------

#: Module classes that hold no parameters of their own and nothing we cannot see.
_KNOWN_EMPTY = frozenset({api.SEQUENTIAL, api.MODULE_LIST, api.MODULE_DICT, api.MODULE_BASE})
MAX_PARAMS = 2000  # a model this large is asked about its first parameters only


#: Container methods that add modules after construction: a tree grown this way is not
#: fully known to us.
_GROWERS = frozenset({"add_module", "register_module", "append", "extend", "insert", "update",
                      "register_parameter", "__setitem__", "setattr"})


def _grown_later(project: ProjectFacts, klass: ClassFacts) -> bool:
    """Some method of the class adds modules or parameters through a call we do not read
    (``self.features.add_module(...)``, ``setattr(self, ...)``)."""
    for k in project.mro(klass):
        for method in k.methods:
            fn = project.functions.get(method)
            if fn is not None and any(c.name.rsplit(".", 1)[-1] in _GROWERS
                                      for c in fn.calls if c.kind in ("method", "function")):
                return True
    return False


def _container_class(project: ProjectFacts, klass: ClassFacts) -> bool:
    containers = (api.SEQUENTIAL, api.MODULE_LIST, api.MODULE_DICT)
    return any(k.sequential_subclass or any(b in containers for b in k.bases)
               for k in project.mro(klass))


def _targets(project: ProjectFacts, model: ClassFacts,
             effective: EffectiveInit) -> list[tuple[Placed, str]] | None:
    """Every (layer, parameter name) of the model, or None when some part of its tree is
    not known (a class we cannot see, a layer built by code we cannot follow, a container
    filled by calls we do not read or whose children we do not know)."""
    if effective.opaque or project.external_bases(model) or _grown_later(project, model):
        return None
    paths = [p.path for p in effective.placed]
    for placed in effective.placed:
        if placed.layer.cls in (api.SEQUENTIAL, api.MODULE_LIST, api.MODULE_DICT) and not any(
                other.startswith(placed.path + ".") for other in paths):
            return None  # a container whose children we never saw
    own = [(Placed("", LayerFact("", k.qualname, (), (), model.span), k.qualname), p.name)
           for k in project.mro(model) for p in k.params]
    out = list(own)
    for placed in effective.placed:
        cls = placed.layer.cls
        kind = api.LAYERS.get(cls)
        if kind is not None:
            if kind.weight_ndim is None and kind.family != "rnn":
                continue
            names = (("weight", "bias") if kind.family != "rnn" else
                ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
                if not cls.endswith("Cell") else ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            out += [(placed, name) for name in names]
            continue
        if (cls in _KNOWN_EMPTY or cls in api.ACTIVATION_CALLABLES or
                cls in api.SIGNAL_FACTORS or cls in api.TRANSPARENT_MODULES):
            continue
        klass = project.resolve_class(cls) if cls else None
        if klass is None or project.external_bases(klass) or _grown_later(project, klass):
            return None  # a module we cannot see may hold anything
        if _container_class(project, klass) and not any(
                other.startswith(placed.path + ".") for other in paths):
            return None  # a Sequential subclass filled by super().__init__(*layers)
        fake = Placed(placed.path, LayerFact(placed.path, klass.qualname, (), (),
                                             placed.layer.span), klass.qualname)
        out += [(fake, p.name) for k in project.mro(klass) for p in k.params]
    return out[:MAX_PARAMS]


def _group_key(item: Applied) -> tuple:
    """Sites that one loop or one callback runs are judged together: a dispatch branch that
    matches nothing beside branches that match is defensive code, not a bug."""
    return (item.site.function, item.scope, item.how,
            item.binding.var if item.binding else item.site.target.base)


def _only_filters(items: list[Applied]) -> bool:
    """Every test in front of the sites reads what the loop or callback walks (the module,
    the parameter, its name): a test on anything else — a constructor flag such as
    ``zero_init_residual`` off by default — is a switch, not a filter that misses."""
    for item in items:
        binding = item.binding
        walked = {binding.var, binding.name_var} - {""} if binding else set()
        if not walked or any(not free_names(c.test) & walked for c in item.site.conditions):
            return False
    return True


def _reaches(project: ProjectFacts, effective: EffectiveInit, items: list[Applied],
             targets: list[tuple[Placed, str]]) -> bool:
    if not _only_filters(items) or any(i.binding and i.binding.source == "state_dict"
                                       for i in items):
        return True  # a state_dict() walk also yields buffers, which targets do not list
    classes_at = effective.classes_at
    return any(hits(project.tests, item, placed.path, placed.layer, attr, classes_at) != "no"
               for item in items for placed, attr in targets)


@rule("INI208", "init-reaches-nothing", W,
      "An init loop, function or apply callback whose targets, on every model that runs it, "
      "match no parameter (a name filter or type test that nothing passes, a callback that "
      "ignores the module it is given).")
def init_reaches_nothing(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    yield from _callbacks_ignoring_module(rule, ctx)
    yield from _helpers_handed_a_tensor(rule, ctx)
    groups: dict[tuple, list[InitSite]] = {}
    for site in ctx.facts.sites:
        if site.style == "helper" or not ctx.project.models_running(site):
            continue
        groups.setdefault((site.function,), []).append(site)
    for sites in groups.values():
        finding = _unreached_group(rule, ctx, sites)
        if finding is not None:
            yield finding


def _unreached_group(rule: Rule, ctx: FileContext, sites: list[InitSite]) -> Finding | None:
    """One function's sites: reported when, on every model running them, one loop/callback
    of them matches no parameter."""
    wanted = set(sites)
    verdicts: dict[tuple, bool] = {}
    first_model: dict[tuple, tuple[ClassFacts, list[tuple[Placed, str]]]] = {}
    models = {m.qualname: m for s in sites for m in ctx.project.models_running(s)}
    for model in models.values():
        effective = ctx.project.effective(model)
        items = [a for a in effective.applied if a.site in wanted
                 and a.how not in ("direct", "indexed")]
        if not items:
            continue
        targets = _targets(ctx.project, model, effective)
        by_group: dict[tuple, list[Applied]] = {}
        for item in items:
            by_group.setdefault(_group_key(item), []).append(item)
        for key, group in by_group.items():
            if targets is None or not targets:
                verdicts[key] = True  # unknown: assume it reaches
                continue
            reached = _reaches(ctx.project, effective, group, targets)
            verdicts[key] = verdicts.get(key, False) or reached
            first_model.setdefault(key, (model, targets))
    for key, reached in verdicts.items():
        if reached or key not in first_model:
            continue
        model, targets = first_model[key]
        site = min((s for s in sites if _group_key_of(ctx, model, s) == key),
                   key=lambda s: (s.span.row, s.span.column), default=None)
        if site is None:
            continue
        names = [f"{p.path}.{a}" if p.path else a for p, a in targets]
        shown = (", ".join(f"`{display_path(n)}`" for n in names[:5]) +
            ("…" if len(names) > 5 else ""))
        return rule.finding(
            ctx, site.span,
            f"this init reaches no parameter of `{model.name}`",
            f"Evaluated on every model that runs it, the tests in front of `{site.func}` "
            f"(a name filter, a type test, `hasattr`) are false for every module and "
            f"parameter: `{model.name}`'s parameters are {shown}. The intended init silently "
            "never happens and the layers keep PyTorch's default. Compare with the qualified "
            "names `named_parameters()` yields (`'weight' in name`, "
            "`name.endswith('c_proj.weight')`) or the classes the model actually holds.",
            subject=f"{model.qualname}::{site.function}")
    return None


def _group_key_of(ctx: FileContext, model: ClassFacts, site: InitSite) -> tuple | None:
    for item in ctx.project.effective(model).applied:
        if item.site == site:
            return _group_key(item)
    return None


def _callbacks_ignoring_module(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """``model.apply(fn)`` where ``fn`` never looks at the module it is given."""
    applied = _applied_callbacks(ctx.project)
    for fn in ctx.facts.functions:
        if fn.qualname not in applied:
            continue
        var = _module_param(fn)
        sites = [s for s in ctx.project.sites_in(fn) if s.style != "helper"]
        if not var or not sites or not (var in fn.unused_params
                                        or _writes_elsewhere(fn, sites, var)):
            continue
        site = sites[0]
        owner = ctx.project.classes.get(fn.cls) if fn.cls else None
        models = [owner] if owner is not None else ctx.project.models_running(site)
        fixed = site.target.text or "a fixed tensor"
        how = ("never uses the module" if var in fn.unused_params else
            f"writes `{fixed}` instead of the module")
        yield rule.finding(
            ctx, site.span,
            f"`{fn.name}` is an `apply` callback that {how} `{var}` it is given",
            f"`apply` calls `{fn.name}` once per submodule with that module as `{var}`, but "
            f"the init writes `{fixed}` every time: that one tensor is re-drawn once per "
            "submodule and every other layer keeps PyTorch's default. It was probably meant "
            f"to initialize `{var}` (e.g. `if isinstance({var}, nn.Linear): "
            f"nn.init.xavier_uniform_({var}.weight)`).",
            subject=f"{models[0].qualname}::{fn.qualname}" if models else "")


def _applied_callbacks(project: ProjectFacts) -> frozenset[str]:
    """Names of every function run once per module anywhere, by ``.apply`` or by a loop
    over ``modules()`` handing it the module as its first parameter (once per project)."""
    cache = project.__dict__.get("_ini208_applied")
    if cache is None:
        names = {walk.callee for _module, _caller, walk in project.per_module_calls
                 if _first_param(project, walk)}
        cache = project.__dict__["_ini208_applied"] = frozenset(names)
    return cache


def _first_param(project: ProjectFacts, walk: PerModule) -> bool:
    """The walk hands the module to the callee's only module parameter (what ``apply``
    does): ``init(m)``, not ``init(std, m)``."""
    fn = project.functions.get(walk.callee)
    return not walk.var or fn is None or walk.var == _module_param(fn)


def _writes_elsewhere(fn: FunctionFacts, sites: list[InitSite], var: str) -> bool:
    """The callback reads ``var`` only to test its type (``type(m) == nn.Linear``) and writes
    named parameters of something else (``net[0].weight``): nothing it writes comes from
    ``var``, no call or loop is handed ``var``, no test asks which module it is."""
    def uses(text: str) -> bool:
        return text == var or text.startswith((var + ".", var + "["))

    loops = {loop.var for loop in fn.loops}
    if (any(uses(a) for call in fn.calls for a in call.args) or
            any(uses(loop.receiver) for loop in fn.loops)):
        return False
    for site in sites:
        target = site.target
        if not target.attr or not target.base or target.base == var or target.base in loops:
            return False
        if any(_identity_test(c.test, var) for c in site.conditions):
            return False
    return True


def _identity_test(test, var: str) -> bool:
    """``m is self.fc``, ``m == layer``, ``m in heads``: a test of which module it is."""
    for node in walk(test):
        if node.op != "cmp":
            continue
        left, ops, rights = node.args
        operands = [left, *rights]
        if (any(o.op == "name" and o.args[0] == var for o in operands) and
                any(op in ("is", "is not", "==", "!=", "in", "not in") for op in ops)):
            return True
    return False


def _helpers_handed_a_tensor(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """``init_layer(self.fc.weight)`` where ``init_layer(m)`` initializes ``m.weight`` under
    a test on ``m`` (``isinstance(m, nn.Linear)``, ``hasattr(m, "weight")``) that a tensor
    never passes."""
    for caller in ctx.facts.functions:
        cls = ctx.project.classes.get(caller.cls) if caller.cls else None
        if cls is None:
            continue
        placed = ctx.project.placed_by_path(cls)
        for call in caller.calls:
            helper = ctx.project.functions.get(call.name) if call.kind == "function" else None
            if helper is None or len(call.args) != 1 or call.span is None:
                continue
            tensor = _tensor_argument(call.args[0], placed)
            var = _module_param(helper)
            sites = [s for s in ctx.project.sites_in(helper) if s.style != "helper"]
            if tensor is None or not var or not sites or not all(
                    s.target.base == var and s.target.attr and tests_on(s, (var,))
                    and ctx.project.tests.on_module(s, var, api.PARAMETER) is False
                    for s in sites):
                continue
            yield rule.finding(
                ctx, call.span,
                f"`{helper.name}` initializes modules but is handed the tensor "
                f"`{call.args[0]}`",
                f"`{helper.name}({var})` writes `{var}.{sites[0].target.attr}` only when its "
                f"test on `{var}` passes, and a tensor never passes it (a Parameter is not a "
                "layer and has no `.weight`): the call does nothing and "
                f"`{call.args[0]}` keeps PyTorch's default. It was probably meant to be "
                f"called with the layer: `{helper.name}({tensor})`.",
                subject=f"{cls.qualname}::{helper.qualname}")


def _tensor_argument(text: str, placed: dict[str, Placed]) -> str | None:
    """``self.fc.weight`` → ``self.fc`` when ``fc`` is a layer that holds ``weight``."""
    owner, _, attr = text.rpartition(".")
    if not owner.startswith("self.") or attr not in ("weight", "bias"):
        return None
    layer = placed.get(owner[len("self."):])
    kind = api.LAYERS.get(layer.layer.cls) if layer else None
    if kind is None or kind.weight_ndim is None:
        return None
    return owner


def _module_param(fn: FunctionFacts) -> str:
    params = [p for p in fn.params if p not in ("self", "cls")]
    return params[0] if len(params) == 1 else ""


RULES = (uninitialized_parameter, init_reaches_nothing)
