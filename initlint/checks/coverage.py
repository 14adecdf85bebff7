"""INI2xx — coverage: init code that misses what its author meant it to cover."""

from __future__ import annotations

import math
from collections.abc import Iterator

from initlint.checks.base import FileContext, Rule, rule
from initlint.checks.signal import layer_span, module_classes, site_in_file
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Fix, Severity, Span
from initlint.extract.facts import UNKNOWN, CallRef, ClassFacts, Condition, InitSite, LayerFact
from initlint.fixes import coverage as fixes
from initlint.semantic.effective import EffectiveInit, hits
from initlint.semantic.evaluate import (
    tests_on,
)
from initlint.semantic.norms import norm_info
from initlint.semantic.project import ProjectFacts
from initlint.semantic.records import Applied, Placed
from initlint.semantic.signal import describe, display_path, fan_in, weight_init

W = Severity.WARNING
I = Severity.INFO  # noqa: E741


# --- INI201 ---------------------------------------------------------------------------------


_ROLE = {"conv": "conv", "conv_transpose": "conv"}


@rule("INI203", "isinstance-gap", I,
      "An init loop dispatches on some layer types while the model holds weight layers of "
      "other types in the same role, which stay on the default.", fix="unsafe")
def isinstance_gap(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    project = ctx.project
    seen: set[tuple[str, str]] = set()
    for cls in module_classes(ctx):
        effective = project.effective(cls)
        if effective.opaque:
            continue
        handled: dict[InitSite, set[str]] = {}
        walked: set[str] = set()  # the subtrees the dispatching walks visit ("" = the model)
        for item in effective.applied:
            if item.how != "each_module" or item.site.target.attr != "weight":
                continue
            var = item.binding.var if item.binding else ""
            types = _handled_types(project, item.site, var)
            if types:
                handled[item.site] = types
                walked.add(item.scope)
        if not handled:
            continue
        all_types = set().union(*handled.values())
        roles = {_ROLE.get(api.LAYERS[t].family) for t in all_types if t in api.LAYERS}
        missed: dict[str, Placed] = {}
        for placed in effective.placed:
            kind = api.LAYERS.get(placed.layer.cls)
            if kind is None or _ROLE.get(kind.family) not in roles - {None}:
                continue
            if not any(_under(placed.path, scope) for scope in walked):
                continue  # ``self.encoder.apply(fn)`` never hands fn the decoder's layers
            if placed.layer.cls in all_types:
                continue
            init = weight_init(effective, placed, own_only=True)
            if init.kind == "default":
                missed.setdefault(placed.layer.cls, placed)
        if not missed:
            continue
        site = min(handled, key=lambda s: (s.span.row, s.span.column))
        key = (site.function, ",".join(sorted(missed)))
        if key in seen:
            continue
        seen.add(key)
        handled_names = ", ".join(sorted(t.rsplit(".", 1)[-1] for t in all_types))
        missed_names = ", ".join(sorted(t.rsplit(".", 1)[-1] for t in missed))
        example = next(iter(missed.values()))
        layer_file = project.class_file.get(example.owner)
        span = (site.span if site_in_file(ctx, site)
            else example.layer.span if layer_file is not None
            and layer_file.path == ctx.facts.path else _name_span(cls))
        yield rule.finding(
            ctx, span,
            f"init dispatch handles {handled_names} but `{cls.name}` also holds "
            f"{missed_names} (e.g. `{display_path(example.path)}`), left on the default",
            f"The isinstance dispatch in `{site.function.rsplit('.', 1)[-1]}` initializes "
            f"{handled_names} explicitly; the {missed_names} layers of the same role fall "
            "through and keep PyTorch's default kaiming_uniform_(a=√5) (Var(w)=1/(3·fan_in)), "
            "so layers doing the same job start at different scales. Add them to the "
            "isinstance tuple if that was the intent.",
            fixes.add_missed_types(ctx, handled, sorted(missed)),
            subject=f"{cls.qualname}::{','.join(p.path for p in missed.values())}")


def _under(path: str, scope: str) -> bool:
    """Is the layer at ``path`` among the modules a walk of ``scope`` yields?"""
    return not scope or path == scope or path.startswith(scope + ".")


def _name_span(cls: ClassFacts) -> Span:
    """The ``class Name`` of a class: where a finding about it goes when the code it is
    about lives in other files."""
    start = cls.span.column + len("class ")
    return Span(cls.span.row, start, cls.span.row, start + len(cls.name))


def _handled_types(project, site: InitSite, var: str) -> set[str]:
    """All weight-layer types the tests in the site's function let through for ``var``
    (evaluated: isinstance, ``type(m) in``, class-name tests in any spelling); for a site as
    one call ran it (its closure's values bound), that site's own."""
    fn = project.functions.get(site.function)
    if fn is None:
        return set()
    written = project.sites_in(fn)
    sites = written if site in written else [site]
    types = {t for one in sites
             for t in project.tests.dispatched_types(one, var, api.WEIGHT_LAYER_FAMILIES)}
    # LazyConv2d is a Conv2d: name the class the code tests, not its lazy twin
    return {t for t in types if api.NN + t.rsplit(".", 1)[-1].removeprefix("Lazy") not in types
            or not t.rsplit(".", 1)[-1].startswith("Lazy")}


# --- INI204 ---------------------------------------------------------------------------------

_SHRINKING = {"normal", "uniform", "zeros", "orthogonal", "sparse", "other"}


@rule("INI204", "name-filter-hits-norm", W,
      "A named_parameters()/parameters() loop re-draws every parameter matching 'weight' (or "
      "every parameter) in a model with norm layers: their γ scales are re-drawn too.",
      fix="unsafe")
def name_filter_hits_norm(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    project = ctx.project
    for cls in module_classes(ctx):
        effective = project.effective(cls)
        for item in effective.applied:
            if (item.how != "each_param" or not site_in_file(ctx, item.site)
                    or item.site.style == "helper"):
                continue
            site = item.site
            kind, _gain, std, mean, _a = describe(site)
            if kind in ("xavier", "kaiming", "orthogonal", "sparse", "eye", "dirac"):
                continue  # raises on 1-D tensors: INI004 reports it
            if kind not in _SHRINKING or (kind == "normal" and mean not in (0, 0.0)):
                continue
            binding = item.binding
            found = _first_norm_hit(ctx.project, effective, item)
            if found is None:
                continue
            hit, scale = found
            drawn = {"normal": f"N(0, {std:g})" if isinstance(std, (int, float)) else "N(0, σ)",
                     "zeros": "0"}.get(kind, f"{site.func}")
            yield rule.finding(
                ctx, site.span,
                f"the parameter loop re-draws the γ of norm layer `{display_path(hit.path)}` "
                f"({hit.layer.cls.rsplit('.', 1)[-1]}) with `{site.func}`",
                f"{_filter_text(site, binding)} `{display_path(hit.path)}.{scale}`, a norm layer's "
                f"scale γ (PyTorch starts it at 1). Drawn from {drawn} instead, every normalized "
                "output is scaled to ≈0 (and flips sign at random), so the signal dies at "
                "init. Filter with `p.dim() > 1` or skip names containing 'norm'.",
                fixes.dim_filter(ctx, site),
                subject=f"{cls.qualname}::{hit.path}")


def _filter_text(site: InitSite, binding) -> str:
    names = (binding.var, binding.name_var) if binding else ()
    if tests_on(site, names):
        return "The loop's filter lets through"
    return "The loop re-draws every parameter, including"


def _first_norm_hit(project: ProjectFacts, effective: EffectiveInit,
                    item: Applied) -> tuple[Placed, str] | None:
    """The first norm layer (torch's, derived, or a project's own) whose γ the loop re-draws,
    with γ's name."""
    for placed in effective.placed:
        info = norm_info(project, placed.layer.cls)
        kind = info.torch_kind if info else None
        if info is None or info.scale is None or (kind is not None and (
                kind.affine_param is None
                or placed.layer.arg(kind.affine_param, None, kind.affine_default) is False)):
            continue
        if item.scope and not placed.path.startswith(item.scope + "."):
            continue
        # the same question every rule asks of a parameter loop (hits): with the module a
        # dispatching callback lets through, when the loop walks one
        if hits(project.tests, item, placed.path, placed.layer, info.scale,
                effective.classes_at) == "yes":
            return placed, info.scale
    return None



# --- INI205 ---------------------------------------------------------------------------------


@rule("INI205", "padding-idx-overwritten", W,
      "An nn.Embedding(padding_idx=p) whose weight is re-initialized without zeroing row p.",
      fix="unsafe")
def padding_idx_overwritten(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    project = ctx.project
    reported: set[tuple[str, int]] = set()
    for cls in module_classes(ctx):
        effective = project.effective(cls)
        for placed in effective.placed:
            if placed.layer.cls not in (api.NN + "Embedding",):
                continue
            pad = placed.layer.literal("padding_idx", 2, None)
            if not isinstance(pad, int) or isinstance(pad, bool):
                continue
            writes = effective.writes(placed, "weight")
            redraws = [s for s in writes.sites if not s.target.index and s.style != "assign"
                       and describe(s)[0] in _REDRAWS]
            if not redraws or (writes.possible and not _only_exclusive_unknowns(
                    project, cls, effective, placed, redraws)):
                continue
            if (_rezeroed(project, effective, placed, writes.sites)
                    or _replaced_after(project, cls, placed, redraws, writes.sites)):
                continue
            site = redraws[0]
            key = (site.function, site.span.row)
            if key in reported:
                continue
            reported.add(key)
            span = site.span if site_in_file(ctx, site) else layer_span(ctx, cls, placed.path)
            yield rule.finding(
                ctx, span,
                f"`{cls.name}.{display_path(placed.path)}` is built with padding_idx={pad} "
                f"but `{site.func}` re-draws its whole weight, row {pad} included",
                f"nn.Embedding zeroes row {pad} at construction and never updates it (its "
                f"gradient is 0), so it must be re-zeroed after a custom init. Here the "
                f"padding vector gets a random draw that is never trained and leaks into "
                "every padded position (summed position inputs, attention, logits). Add "
                f"`module.weight.data[module.padding_idx].zero_()` after the draw (as "
                "transformers' _init_weights does).",
                fixes.rezero_padding(ctx, site) if site_in_file(ctx, site) else None,
                subject=f"{cls.qualname}::{placed.path}")


#: Inits that replace every row (a pretrained copy_, a clamp_ or a zeroing do not count).
_REDRAWS = frozenset({"normal", "uniform", "xavier", "kaiming", "orthogonal", "sparse",
                      "constant", "ones", "eye"})


def _rezeroed(project, effective: EffectiveInit, placed: Placed,
              sites: tuple[InitSite, ...]) -> bool:
    """A write to a row of the weight (``weight.data[padding_idx].zero_()``) anywhere in the
    functions that initialize it, or torch's own ``_fill_padding_idx_with_zero()``."""
    for fn in {project.site_function(s) for s in sites}:
        if fn is None:
            return True
        if any(s.target.index and s.target.attr in ("weight", "") for s in project.sites_in(fn)):
            return True
        if any(c.name in ("_fill_padding_idx_with_zero", "zero_") for c in fn.calls):
            return True
    for item in effective.applied:
        if item.site.target.index and item.site.target.attr == "weight":
            return True
    return False


def _replaced_after(project: ProjectFacts, cls: ClassFacts, placed: Placed,
                    redraws: list[InitSite], sites: tuple[InitSite, ...]) -> bool:
    """After the re-draw, the whole weight gets other values: torch's ``reset_parameters()``
    of the Embedding (it draws again and re-zeroes the padding row), or a copy of loaded
    ones (``weight.data.copy_(vectors)``: the padding row is what they hold). Where their
    order is not known, a reset is taken to come after (it only undoes a draw), a copy not
    (a load in another function is often the other branch of ``if pretrained:``)."""
    def replaces(site: InitSite) -> bool:
        if site.target.index:
            return False
        if site.style == "reset":
            return placed.layer.cls in api.RESET_REZEROES_PADDING and all(
                _runs_after(project, cls, site, redraw, True) for redraw in redraws)
        return (site.func == "copy_" or site.style == "assign") and all(
            _runs_after(project, cls, site, redraw, False) for redraw in redraws)

    return any(replaces(site) for site in sites)


def _only_exclusive_unknowns(project: ProjectFacts, cls: ClassFacts, effective: EffectiveInit,
                             placed: Placed, redraws: list[InitSite]) -> bool:
    """What may also write the weight (a load, code we cannot see) runs only where the re-draw
    does not: ``if stage == "pretrain": self.apply(init) else: self.load_state_dict(...)``."""
    items = effective.unknown_writers(placed, "weight")
    if not items:
        return False
    return all(_exclusive(project, cls, item.site, redraw)
               for item in items for redraw in redraws)


def _exclusive(project: ProjectFacts, cls: ClassFacts, a: InitSite, b: InitSite) -> bool:
    """``a`` and ``b`` are reached, in one function, under one test taken opposite ways."""
    for place in dict.fromkeys((a.function, b.function, f"{cls.qualname}.__init__")):
        tests_a, tests_b = _tests_in(project, cls, a, place), _tests_in(project, cls, b, place)
        if tests_a is None or tests_b is None:
            continue
        return any(x.test == y.test and x.positive != y.positive
                   for x in tests_a for y in tests_b)
    return False


def _tests_in(project: ProjectFacts, cls: ClassFacts, site: InitSite,
              place: str) -> tuple[Condition, ...] | None:
    """The tests in function ``place`` under which ``site`` runs: its own, or those of the
    call there that reaches it."""
    if site.function == place:
        return site.conditions
    call = _call_reaching(project, cls, site, place)
    return call.conditions if call is not None else None


def _runs_after(project: ProjectFacts, cls: ClassFacts, later: InitSite, earlier: InitSite,
                unknown: bool) -> bool:
    """Does ``later`` run after ``earlier`` while ``cls`` is built? Compared in a function
    that reaches both (one's own, or ``__init__``), at the rows of the sites or of the calls
    that lead to them; ``unknown`` when no function shows their order."""
    for place in dict.fromkeys((earlier.function, later.function, f"{cls.qualname}.__init__")):
        a, b = _row_in(project, cls, later, place), _row_in(project, cls, earlier, place)
        if a is not None and b is not None and a != b:
            return a > b
    return unknown


def _row_in(project: ProjectFacts, cls: ClassFacts, site: InitSite, place: str,
            depth: int = 3) -> int | None:
    """The row in function ``place`` where ``site`` runs: its own, or the row of the call
    (a method, a function, an ``apply`` callback, a few calls deep) that reaches it."""
    if site.function == place:
        return site.span.row
    call = _call_reaching(project, cls, site, place, depth)
    return call.span.row if call is not None and call.span is not None else None


def _call_reaching(project: ProjectFacts, cls: ClassFacts, site: InitSite, place: str,
                   depth: int = 3) -> CallRef | None:
    """The call in function ``place`` (a method, a function, an ``apply`` callback, a few
    calls deep) that runs ``site``."""
    fn = project.functions.get(place)
    if fn is None or depth == 0:
        return None
    for call in fn.calls:
        if call.span is None:
            continue
        target = (project.method(cls, call.name) if call.kind == "self_method"
                  and call.receiver == "self" else project.functions.get(call.name)
                  if call.kind in ("function", "apply") else None)
        if target is None and call.kind == "apply":
            target = project.callback(cls, call.name)
        if target is not None and (target.qualname == site.function or _call_reaching(
                project, cls, site, target.qualname, depth - 1) is not None):
            return call
    return None


# --- INI206 ---------------------------------------------------------------------------------


@rule("INI206", "bias-left-default", W,
      "A layer whose weight gets an explicit init while its bias keeps PyTorch's default draw "
      "U(±1/√fan_in).", fix="unsafe")
def bias_left_default(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """Every layer is judged; one finding per init site, the most severe of the layers it
    reaches (an info on one layer never hides a warning on another). Info findings are
    made whatever is selected: the selection filters them (``selection.shown``)."""
    project = ctx.project
    best: dict[tuple[str, int], tuple[int, Finding]] = {}
    for cls in module_classes(ctx):
        effective = project.effective(cls)
        for placed in effective.placed:
            kind = api.LAYERS.get(placed.layer.cls)
            if kind is None or kind.family not in api.WEIGHT_LAYER_FAMILIES:
                continue
            if placed.layer.literal("bias", api.POSITIONAL_BIAS_INDEX.get(kind.family),
                                    True) is not True:
                continue
            weight = weight_init(effective, placed)
            if weight.kind in ("default", "unknown") or not weight.sites:
                continue
            bias = effective.writes(placed, "bias")
            if bias.sites or bias.possible:
                continue
            severity, detail = _bias_severity(weight, placed.layer)
            site = weight.sites[0]
            key = (site.function, site.span.row)
            rank = 1 if severity is W else 0
            if key in best and best[key][0] >= rank:
                continue
            in_file = site_in_file(ctx, site)
            best[key] = (rank, rule.finding(
                ctx, site.span if in_file else layer_span(ctx, cls, placed.path),
                f"`{cls.name}.{display_path(placed.path)}` gets `{site.func}` on its weight "
                "but its bias keeps PyTorch's default draw",
                f"The default bias is U(±1/√fan_in), std 1/√(3·fan_in); {detail} The "
                "convention is zeros: `nn.init.zeros_(m.bias)`.",
                _bias_fix(ctx, site) if in_file else None,
                severity=severity,
                subject=f"{cls.qualname}::{placed.path}"))
    for _, finding in best.values():
        yield finding


def _bias_severity(weight, layer: LayerFact) -> tuple[Severity, str]:
    if weight.kind in ("zeros", "eye", "dirac"):
        return W, (f"the weight is {weight.kind}-initialized, so the author wants an exact "
                   "starting output (a zero head, an adaLN modulation), and the random "
                   "default bias defeats it.")
    fan = fan_in(layer)
    std = weight.std
    if weight.kind in ("kaiming", "xavier", "orthogonal") and fan is not UNKNOWN:
        return I, "next to a fan-scaled weight this bias is small; harmless but unconventional."
    if isinstance(std, (int, float)) and std > 0 and fan is not UNKNOWN and fan > 0:
        ratio = (1 / math.sqrt(3 * fan)) / (std * math.sqrt(fan))
        if ratio >= 0.25:
            return W, (f"with the weight drawn at std {std:g} on fan_in={fan}, the bias std "
                       f"{1 / math.sqrt(3 * fan):.3g} is {ratio:.2f}× the std the weights "
                       "give each output (std·√fan_in): the random bias dominates the "
                       "signal at init.")
        return I, f"its std is {ratio:.2f}× the weight's output std: harmless."
    return I, "its size against the weight's draw is not statically known."


def _bias_fix(ctx: FileContext, site: InitSite) -> Fix | None:
    return fixes.zero_bias(ctx, site)


# --- INI207 ---------------------------------------------------------------------------------


@rule("INI207", "norm-scale-near-zero", W,
      "A norm layer's γ drawn around 0 (normal_(w, 0, 0.02), zeros_) for every norm layer: "
      "each normalized output is scaled to ≈0.", fix="unsafe")
def norm_scale_near_zero(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for site in ctx.facts.sites:
        if (site.target.attr not in api.NORM_SCALE_NAMES or site.target.path
                or site.target.index):
            continue
        types = _norm_dispatch(ctx, site)
        if not types:
            continue
        kind, _gain, std, mean, _a = describe(site)
        known_std = isinstance(std, (int, float)) and not isinstance(std, bool)
        # a normal draw with mean 0 centres γ on 0 whatever its std (an unknown std, such
        # as ``config.initializer_range``, included): only a known large std is left out
        near_zero = (kind in ("zeros",) or (kind == "normal" and mean in (0, 0.0)
                                            and (not known_std or std < 0.5))
                     or (kind == "uniform" and _small_uniform(site)))
        if not near_zero:
            continue
        if kind == "zeros" and _in_residual_class(ctx, site):
            continue  # identity at init: the branch's norm γ zeroed on purpose
        names = ", ".join(sorted(t for t in types))
        sigma = f"{std:g}" if known_std else "σ"
        drawn = (f"drawn from N(0, {sigma})" if kind == "normal" else "set to 0"
            if kind == "zeros" else f"drawn from U({site.arg('a'):g}, {site.arg('b'):g})")
        size = ("0" if kind != "normal" else f"{abs(std) * math.sqrt(2 / math.pi):.3g}"
            if known_std else "0.8·σ")
        yield rule.finding(
            ctx, site.span,
            f"the scale γ of every {names} is {drawn}",
            f"γ multiplies each normalized output: drawn around 0 every channel is scaled to "
            f"|γ|≈{size} on average (half of them negative) instead of 1, so the "
            "signal after each norm layer is ~0 at init (measured on pix2pix's U-Net: BN "
            "output std 0.021 instead of ~1). The DCGAN recipe is "
            "`normal_(m.weight, 1.0, 0.02)`; zero-init only the last γ of a residual branch "
            "(zero_init_residual) on purpose.",
            fixes.gamma_around_one(ctx, site, kind),
            subject=_norm_subject(ctx, site, types))


def _norm_subject(ctx: FileContext, site: InitSite, types: list[str]) -> str:
    """``Model::path,...`` of the norm layers this site draws, in the first model running it."""
    for model in ctx.project.models_running(site):
        paths = [p.path for p in ctx.project.placed_layers(model)
                 if p.layer.cls.rsplit(".", 1)[-1] in types]
        if paths:
            return f"{model.qualname}::{','.join(paths)}"
    return ""


def _in_residual_class(ctx: FileContext, site: InitSite) -> bool:
    fn = ctx.project.functions.get(site.function)
    cls = ctx.project.classes.get(fn.cls) if fn is not None and fn.cls else None
    return cls is not None and cls.residual


def _small_uniform(site: InitSite) -> bool:
    low, high = site.arg("a", 0.0), site.arg("b", 1.0)
    return (isinstance(low, (int, float)) and isinstance(high, (int, float)) and
        max(abs(low), abs(high)) < 0.5)


def _norm_dispatch(ctx: FileContext, site: InitSite) -> list[str]:
    """The norm classes (short names) a module-dispatch site writes γ of, every one of them
    rather than a chosen layer: the site's tests evaluated on each torch norm class."""
    types = [t for t in ctx.project.tests.dispatched_types(site, site.target.base,
                                                           frozenset({"norm"}))
             if api.LAYERS[t].affine_param]
    present = {p.layer.cls for model in ctx.project.models_running(site)
               for p in ctx.project.placed_layers(model)}
    own = sorted(cls for cls in present if cls not in api.LAYERS and (
        info := norm_info(ctx.project, cls)) is not None and info.scale == site.target.attr
        and ctx.project.tests.on_module(site, site.target.base, cls) is True)
    if own:  # a project's own norm classes (LayerNorm2d with weight/bias, forward normalizes)
        return sorted({t.rsplit(".", 1)[-1] for t in [*types, *own]
                       if t in present})
    shown = [t for t in types if t in present] or [
        t for t in types if not t.rsplit(".", 1)[-1].startswith(("Lazy", "Sync"))] or types
    return [t.rsplit(".", 1)[-1] for t in shown]


RULES = (isinstance_gap, name_filter_hits_norm, padding_idx_overwritten, bias_left_default,
         norm_scale_near_zero)
