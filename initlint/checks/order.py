"""INI201 and INI202 — whether init code runs at all, and runs after the layers it must
reach: an init method nothing calls, an init call in ``__init__`` before some layers exist."""

from __future__ import annotations

from collections.abc import Iterator

from initlint.checks.base import FileContext, Rule, rule
from initlint.checks.signal import module_classes
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Severity, Span
from initlint.extract.facts import CallRef, ClassFacts, FunctionFacts, InitSite, LayerFact
from initlint.fixes import coverage as fixes
from initlint.semantic.effective import EffectiveInit
from initlint.semantic.records import Applied, Placed

W = Severity.WARNING
I = Severity.INFO  # noqa: E741


# --- INI201 ---------------------------------------------------------------------------------


@rule("INI201", "init-never-called", W,
      "An init method or function that nothing reaches: not called from __init__, not "
      "passed to .apply, not referenced anywhere in the linted tree, not a framework hook.",
      fix="unsafe")
def init_never_called(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    project = ctx.project
    for fn in ctx.facts.functions:
        if not _is_init_function(ctx, fn) or "<lambda" in fn.qualname or ".<locals>" in fn.qualname:
            continue
        cls = None
        if fn.cls:
            cls = project.classes.get(fn.cls)
            if cls is None or _method_reached(ctx, cls, fn):
                continue
            where = f"`{cls.name}.{fn.name}`"
        else:
            top_level = f"{ctx.facts.module}.{fn.name}" if ctx.facts.module else fn.name
            if fn.qualname != top_level:
                continue  # a nested function: whether its parent runs decides
            if _function_reached(ctx, fn):
                continue
            where = f"`{fn.name}`"
        funcs = sorted({s.func for f in ctx.facts.functions
                        if f is fn or f.qualname.startswith(fn.qualname + ".")
                        for s in project.sites_in(f)})
        yield rule.finding(
            ctx, Span(fn.span.row, fn.span.column, fn.span.row,
                      fn.span.column + len("def ") + len(fn.name)),
            f"{where} initializes weights but nothing calls it",
            f"No call, `.apply(...)` or other reference to `{fn.name}` reaches it from "
            "`__init__` or from anywhere else in the linted tree, and it overrides no "
            f"framework hook: its {', '.join(funcs) or 'init'} never run, so the model "
            "trains from PyTorch's default init (kaiming_uniform_(a=√5), "
            "Var(w)=1/(3·fan_in)) instead. Call it at the end of `__init__` "
            f"(e.g. `self.apply({fn.name})`) or delete it.",
            fixes.call_init(ctx, cls, fn) if cls is not None else None,
            subject=fn.qualname)
    yield from _inherited_init_skipped(rule, ctx)


def _inherited_init_skipped(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """A model whose base defines an init method that a sibling subclass runs when it is
    built, while this model never runs it and its own weight layers get no other init
    (DeepPruner#6: the call was erased from one subclass). Per model, where the method
    itself is reached."""
    project = ctx.project
    for cls in module_classes(ctx):
        init = project.functions.get(f"{cls.qualname}.__init__")
        if init is None or project.external_bases(cls):
            continue
        inherited = _inherited_init_methods(project, cls)
        if not inherited:
            continue  # most classes: no project base with an init method
        applied, opaque = project.construction(cls)
        if opaque:
            continue
        ran = {item.site for item in applied}
        bare = _uninitialized_own_layers(ctx, cls)
        if not bare:
            continue
        for method, sites in inherited:
            if sites & ran:
                continue
            sibling = _sibling_running(project, cls, method)
            if sibling is None:
                continue
            names = ", ".join(f"`{name}`" for name in bare[:3]) + ("…" if len(bare) > 3 else "")
            yield rule.finding(
                ctx, Span(init.span.row, init.span.column, init.span.row,
                          init.span.column + len("def __init__")),
                f"`{cls.name}` never runs the inherited `{method.name}` that "
                f"`{sibling.name}` runs",
                f"`{method.qualname.rsplit('.', 2)[-2]}.{method.name}` initializes weights, "
                f"and `{sibling.name}.__init__` calls it, but nothing in building "
                f"`{cls.name}` does: its own layers {names} keep PyTorch's default "
                "(kaiming_uniform_(a=√5), Var(w)=1/(3·fan_in)). Call "
                f"`self.{method.name}()` at the end of `{cls.name}.__init__`.",
                None, subject=f"{cls.qualname}::{method.name}")


def _uninitialized_own_layers(ctx: FileContext, cls: ClassFacts) -> list[str]:
    """The class's own weight layers (built in its ``__init__``) that no init writes."""
    project = ctx.project
    effective = project.effective(cls)
    placed = project.placed_by_path(cls)
    out = []
    for layer in cls.layers:
        here = placed.get(layer.name)
        if here is None or not _weight_bearing(ctx, layer):
            continue
        writes = effective.writes(here, "weight")
        if not writes.sites and not writes.possible:
            out.append(layer.name)
    return out


def _runs(project, cls: ClassFacts, method: FunctionFacts) -> set[InitSite]:
    """The init sites ``self.<method>()`` runs on a ``cls`` model, however the method
    reaches them (its own loop, an ``apply`` of a helper, a static method...)."""
    call = CallRef("self_method", method.name, "self")
    sites, _ = project.sites_run_by(cls, call)
    # a torch reset puts back PyTorch's default, and code we cannot see may do anything:
    # neither is an init a model that skips the method misses
    return {item.site for item in sites if item.how not in ("method", "opaque")}


def _inherited_init_methods(project, cls: ClassFacts) -> list[tuple[FunctionFacts,
                                                                    set[InitSite]]]:
    """Methods ``cls`` inherits from its project bases (not overridden) that run init code
    on the model, with the sites they run."""
    out = []
    for base in project.mro(cls)[1:]:
        for qualname in base.methods:
            fn = project.functions.get(qualname)
            if (fn is None or fn.name.startswith("__") or fn.static
                    or project.method(cls, fn.name) is not fn):
                continue  # a static helper is handed a module; a model does not call it
            sites = _runs(project, cls, fn)
            if sites:
                out.append((fn, sites))
    return out


def _sibling_running(project, cls: ClassFacts, method: FunctionFacts) -> ClassFacts | None:
    """Another subclass of the method's class (not an ancestor or descendant of ``cls``)
    whose construction runs ``method``."""
    owner = project.classes.get(method.cls)
    if owner is None:
        return None
    family = set(map(id, project.mro(cls))) | set(map(id, project.subclasses(cls)))
    for other in project.subclasses(owner):
        if id(other) in family:
            continue
        built, _ = project.construction(other)
        if _runs(project, other, method) & {item.site for item in built}:
            return other
    return None


def _is_init_function(ctx: FileContext, fn: FunctionFacts) -> bool:
    """Named like an init method (or only initializing), with init code in it or its
    nested helpers (``def init_func(m): ...; self.apply(init_func)``)."""
    if not (fn.name in api.INIT_METHOD_NAMES or ("init" in fn.name.lower() and fn.inits_only)):
        return False
    if fn.has_init_code:
        return True
    nested = fn.qualname + "."
    if any(f.has_init_code for f in ctx.facts.functions if f.qualname.startswith(nested)):
        return True
    # ``def _initialize_weights(self): self.apply(init_fn)`` runs init code it applies
    walks = (ctx.project.per_module(c, fn) for c in fn.calls)
    applied = (ctx.project.functions.get(w.callee) for w in walks if w is not None)
    return any(f is not None and f.has_init_code for f in applied)


def _method_reached(ctx: FileContext, cls: ClassFacts, fn: FunctionFacts) -> bool:
    project = ctx.project
    if fn.name.startswith("__") or project.external_bases(cls):
        return True  # a framework (transformers, diffusers, lightning...) may call it
    if any(b.startswith("torch.nn.") and b != api.MODULE_BASE for k in project.mro(cls)
           for b in k.bases):
        return fn.name in ("reset_parameters", "_reset_parameters") or _referenced(ctx, fn)
    return _referenced(ctx, fn)


def _referenced(ctx: FileContext, fn: FunctionFacts) -> bool:
    """Called or referenced through self in its class family, or by name from elsewhere."""
    project = ctx.project
    cls = project.classes.get(fn.cls)
    family = {k.qualname for k in project.mro(cls)} | {k.qualname for k in
                                                        project.subclasses(cls)} if cls else set()
    def own(other: FunctionFacts) -> bool:
        # its own recursion (``m.init_weights()`` on children) does not count
        return other is fn or other.qualname.startswith(fn.qualname + ".")

    # read per class of its family and per name: a scan of every call of the project for
    # each init method made a package of many models quadratic
    for klass in family:
        for other in project.functions_by_class.get(klass, ()):
            if own(other):
                continue
            for call in other.calls:
                if call.kind == "self_method" and call.name == fn.name:
                    return True
                if call.name.endswith("." + fn.name) and call.kind in ("apply", "ref",
                                                                       "function"):
                    return True
    if any(call.name == fn.qualname and not own(other)
           for other, call in project.calls_by_name.get(fn.qualname, ())):
        return True
    for other, call in project.method_calls_by_name.get(fn.name, ()):
        if (not own(other) and _same_package(other.qualname, fn.qualname)
                and _may_hold(ctx, fn, other.qualname, call.receiver)):
            return True  # obj.init_weights(): any object of its package may be this class
    return _mentioned(ctx, fn, ("." + fn.name,))


def _same_package(a: str, b: str) -> bool:
    """Code in one top-level package (a library and its own callers; loose scripts count
    as one package)."""
    return a.split(".")[0] == b.split(".")[0] or "." not in a or "." not in b


def _mentioned(ctx: FileContext, fn: FunctionFacts, refs: tuple[str, ...]) -> bool:
    """Some code other than ``fn`` itself mentions it (``obj.name``, a bare name, a string)."""
    own = fn.qualname
    for facts in ctx.project.files:
        if not _same_package(facts.module or facts.path, own):
            continue
        for ref, owner in facts.references:
            if owner == own or owner.startswith(own + "."):
                continue
            if ref in refs or (ref.startswith("@") and "." + ref.rsplit(".", 1)[-1] in refs
                               and _may_hold(ctx, fn, owner, ref[1:].rsplit(".", 1)[0])):
                return True
    return False


def _may_hold(ctx: FileContext, fn: FunctionFacts, caller: str, receiver: str) -> bool:
    """May ``receiver`` (``self.bbox_head``, in ``caller``) be an instance of ``fn``'s class?
    Yes unless the linker knows the class it holds and ``fn`` is not in its MRO."""
    project = ctx.project
    if not receiver.startswith("self."):
        return True
    caller_fn = project.functions.get(caller)
    owner = (project.classes.get(caller_fn.cls) if caller_fn is not None and caller_fn.cls
        else None)
    target = project.classes.get(fn.cls) if fn.cls else None
    if owner is None or target is None:
        return True
    placed = project.placed_by_path(owner).get(receiver[len("self."):])
    held = project.resolve_class(placed.layer.cls) if placed and placed.layer.cls else None
    if held is None:
        return True
    return target in project.mro(held) or held in project.mro(target)


def _function_reached(ctx: FileContext, fn: FunctionFacts) -> bool:
    if not fn.name.startswith("_") and _exported(ctx, fn):
        return True
    return _mentioned(ctx, fn, (fn.name, "." + fn.name))


def _exported(ctx: FileContext, fn: FunctionFacts) -> bool:
    """Public helpers a library lists in ``__all__`` are API, called by its users."""
    return fn.name in ctx.facts.exports


# --- INI202 ---------------------------------------------------------------------------------


@rule("INI202", "init-before-layers", W,
      "In __init__, an init call runs before some weight layers are assigned; those keep "
      "PyTorch's default.", fix="unsafe")
def init_before_layers(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """A layer counts only where one construction runs the call and then builds it: the
    call's tests and the layer's are evaluated under one binding of ``__init__``'s
    parameters (``if task == "cls": self.apply(init)`` never meets the ``elif`` branch)."""
    project = ctx.project
    for cls in module_classes(ctx):
        init = project.functions.get(f"{cls.qualname}.__init__")
        if init is None:
            continue
        rows = {layer.name: layer.span.row for layer in cls.layers}
        effective = project.effective(cls)
        placed = project.placed_by_path(cls)
        for call, sites in _init_calls(ctx, cls, init):
            row = call.span.row if call.span else 0
            early = {item.site for item in sites}
            after = [layer for layer in cls.layers if rows[layer.name] > row
                     and "." not in layer.name and _weight_bearing(ctx, layer)
                     and _would_cover(ctx, cls, sites, layer)
                     and project.may_meet(init.qualname, call.conditions, layer.conditions)]
            # a weight_norm/spectral_norm layer is no miss: the init's write to its
            # ``.weight`` would be recomputed away (INI209), so moving the call past it
            # would only trade this finding for that one (DINO's weight-normed head)
            late = [layer for layer in after if not _reparametrized(layer)
                    and not _initialized_elsewhere(effective, placed.get(layer.name), early)]
            if not late:
                continue
            target = max((layer.span for layer in late), key=lambda span: span.row)
            passes_reparam = any(_reparametrized(layer) and layer.span.row < target.row
                                 for layer in after)
            names = ", ".join(f"self.{layer.name}" for layer in late[:4])
            yield rule.finding(
                ctx, call.span,
                f"init runs before {names}{'…' if len(late) > 4 else ''} "
                f"{'is' if len(late) == 1 else 'are'} assigned in `{cls.name}.__init__`",
                f"`{_call_text(call)}` at line {row} initializes the layers that exist at that "
                f"moment; {names} {'is' if len(late) == 1 else 'are'} built later (line "
                f"{rows[late[0].name]}) and keep{'s' if len(late) == 1 else ''} PyTorch's "
                "default kaiming_uniform_(a=√5) instead of the init this call applies. "
                + ("Run the base's init again at the end of this `__init__`."
                   if call.receiver == "super" else
                   "Move the call to the end of `__init__`."),
                # a call under a test moved past its block would run in every construction
                None if call.receiver == "super" or call.walks or passes_reparam
                or call.conditions else fixes.move_after_layers(ctx, cls, call.span, target),
                subject=f"{cls.qualname}::{','.join(layer.name for layer in late)}")


def _reparametrized(layer: LayerFact) -> bool:
    return bool(layer.reparam) and layer.reparam in api.REPARAM_WRAPPERS


def _initialized_elsewhere(effective: EffectiveInit, placed: Placed | None,
                           early: set[InitSite]) -> bool:
    """Some other init (a later loop, an explicit call) writes the layer's weight."""
    if placed is None:
        return True
    writes = effective.writes(placed, "weight")
    return writes.possible or any(site not in early for site in writes.sites)


def _call_text(call) -> str:
    walk = next((b for b in call.walks if b.var in call.args), None)
    if walk is not None:
        name = call.name.rsplit(".", 1)[-1]
        callee = f"self.{name}" if call.kind == "self_method" else name
        return f"for {walk.var} in {walk.receiver}.{walk.source}(): {callee}({walk.var})"
    if call.kind == "apply":
        return f"{call.receiver}.apply({call.name.rsplit('.', 1)[-1]})"
    if call.kind == "self_method":
        return f"{'super()' if call.receiver == 'super' else 'self'}.{call.name}()"
    return f"{call.name.rsplit('.', 1)[-1]}(...)"


def _init_calls(ctx: FileContext, cls: ClassFacts, init: FunctionFacts):
    """Calls in ``__init__`` that run init code over the whole module, with their sites
    (``self.apply(fn)``, ``self._init()``, ``for m in self.modules(): fn(m)``)."""
    for call in init.calls:
        walk = ctx.project.per_module(call, init, cls)
        if walk is not None and walk.loop and walk.receiver == "self":
            pass  # the loop's call: moving it alone would leave the loop behind (no fix)
        elif call.kind not in ("apply", "self_method") or call.receiver not in ("self",
                                                                                "super"):
            continue
        if call.receiver == "super" and call.name != "__init__":
            continue
        sites, opaque = ctx.project.sites_run_by(cls, call)
        if sites and not opaque:
            yield call, [s for s in sites if s.how == "each_module"]


def _weight_bearing(ctx: FileContext, layer: LayerFact) -> bool:
    kind = api.LAYERS.get(layer.cls)
    return kind is not None and kind.family in api.WEIGHT_LAYER_FAMILIES | {"embedding"}


def _would_cover(ctx: FileContext, cls: ClassFacts, sites: list[Applied],
                 layer: LayerFact) -> bool:
    for item in sites:
        if item.site.target.path or item.site.target.attr != "weight":
            continue
        var = item.binding.var if item.binding else item.site.target.base
        if ctx.project.tests.on_module(item.site, var, layer.cls, layer) is True:
            return True
    return False


# --- INI203 ---------------------------------------------------------------------------------


RULES = (init_never_called, init_before_layers)
