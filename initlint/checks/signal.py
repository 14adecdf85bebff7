"""INI1xx — signal propagation: the init does not match the network's activations."""

from __future__ import annotations

import math
from collections.abc import Iterator

from initlint.checks.base import FileContext, Rule, rule
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Severity, Span
from initlint.extract.facts import UNKNOWN, ClassFacts, InitSite
from initlint.fixes import signal as fixes
from initlint.semantic.effective import EffectiveInit
from initlint.semantic.records import Placed
from initlint.semantic.signal import (
    ChainLayer,
    Run,
    WeightInit,
    display_path,
    exp_bounded,
    fan_in,
    fan_out,
    format_factor,
    log_product,
    runs_of,
    second_moment,
    std_factor,
    weight_init,
)

W = Severity.WARNING
DEFAULT_VARIANCE_GAIN = 1.0 / 3.0  # kaiming_uniform_(a=√5): fan_in·Var(w) = 1/3


def module_classes(ctx: FileContext) -> Iterator[ClassFacts]:
    for cls in ctx.facts.classes:
        if ctx.project.is_module(cls):
            yield cls


def _subject(cls: ClassFacts, paths: tuple[str, ...]) -> str:
    return f"{cls.qualname}::{','.join(paths)}"


def _in_residual(ctx: FileContext, cls: ClassFacts) -> bool:
    """The class adds its input back, or sits inside a container that does."""
    if cls.residual:
        return True
    todo, seen = [cls.qualname], set()
    while todo:
        name = todo.pop()
        for container, _ in ctx.project.containers.get(name, []):
            if container in seen:
                continue
            seen.add(container)
            outer = ctx.project.classes.get(container)
            if outer is not None and outer.residual:
                return True
            todo.append(container)
    return False


def layer_span(ctx: FileContext, cls: ClassFacts, path: str) -> Span:
    """Where a layer at ``path`` of ``cls`` is built, in this file: the layer itself when
    this file builds it, else the attribute of ``cls`` that holds it (a block from another
    file), else the class."""
    placed = ctx.project.placed_by_path(cls)
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        item = placed.get(".".join(parts[:end]))
        if (item is not None and ctx.project.class_file[item.owner].path == ctx.facts.path
                and (item.owner != cls.qualname
                     or cls.span.row <= item.layer.span.row <= cls.span.end_row)):
            return item.layer.span  # (a layer built by a helper function points at its call)
    return cls.span


def plain_runs(ctx: FileContext) -> Iterator[tuple[ClassFacts, EffectiveInit,
                                                    dict[str, Placed], Run]]:
    """Every plain run of every module class of the file that no residual path wraps, with
    the class's effective init: what INI101–INI103 each ask about."""
    for cls in module_classes(ctx):
        if _in_residual(ctx, cls):
            continue
        runs = runs_of(ctx.project, cls)
        if not runs:
            continue
        effective = ctx.project.effective(cls)
        placed = _placed(effective)
        for run in runs:
            yield cls, effective, placed, run


def _paths_text(paths: tuple[str, ...]) -> str:
    shown = list(dict.fromkeys(display_path(p) for p in paths))
    return ", ".join(shown[:6]) + ("…" if len(shown) > 6 else "")


def _placed(effective: EffectiveInit) -> dict[str, Placed]:
    return {p.path: p for p in effective.placed}


def _layer_names(run: Run) -> str:
    names = sorted({layer.layer.cls.rsplit(".", 1)[-1] for layer in run.layers})
    return "/".join(names)


def _acts(run: Run) -> str:
    acts = [layer.act for layer in run.layers if layer.act]
    return "/".join(sorted({_act_label(a) for a in acts})) or "no activation"


def _act_label(act: str) -> str:
    return api.ACTIVATION_LABELS.get(act, act)




@rule("INI101", "deep-stack-on-default-init", W,
      "A plain chain of ≥ 4 weight layers with nonlinearities between them, left on "
      "PyTorch's default init, with no normalization and no residual path.", fix="unsafe")
def deep_stack_on_default(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, effective, placed, run in plain_runs(ctx):
        if len(run.layers) < ctx.config.min_depth:
            continue
        hidden = [layer.act for layer in run.layers[:-1]]
        if not all(a in api.DEEP_STACK_ACTIVATIONS for a in hidden):
            continue
        if not all(layer.path in placed and weight_init(effective, placed[layer.path]).kind
                   == "default" for layer in run.layers):
            continue
        if _ini101_shrink(run, high=True) < MIN_SHRINK:
            continue  # pooling/dropout between the layers raise it back (at most)
        yield _ini101_finding(rule, ctx, cls, run)


#: Below this overall std shrink a run is not reported: the weightless factors between its
#: layers (a max-pool raises the RMS ×1.27–1.76) make up for most of what the init loses.
MIN_SHRINK = 2.0


def _log_factor_product(run: Run, high: bool = False, upto: int | None = None) -> float:
    return log_product(f.high if high else f.low for f in run.factors(upto))


def _ini101_shrink(run: Run, high: bool = False) -> float:
    """The std shrink over the run on the default init, pooling/dropout factors included
    (summed as logs: a run of thousands of layers shrinks past what a float holds)."""
    hidden_acts = [layer.act for layer in run.layers[:-1] if layer.act]
    moment = sum(second_moment(a) for a in hidden_acts) / max(len(hidden_acts), 1)
    log_per_layer = -0.5 * math.log(DEFAULT_VARIANCE_GAIN * moment)
    return exp_bounded((len(run.layers) - 1) * log_per_layer
                       - 0.5 * math.log(DEFAULT_VARIANCE_GAIN)
                       - _log_factor_product(run, high))


def _factors_text(run: Run, upto: int | None = None) -> str:
    """" (the 2 max-pools between them raise it ×1.6 in all, measured)", for the messages."""
    factors = [f for f in run.factors(upto) if (f.low, f.high) != (1.0, 1.0)]
    if not factors:
        return ""
    kinds = ", ".join(sorted({f.kind.replace("_", "-") for f in factors}))
    product = exp_bounded(log_product(f.low for f in factors))
    verb = "raise" if product >= 1 else "lower"
    return (f" (the {len(factors)} weightless step(s) between them, {kinds}, {verb} it "
            f"×{product:.2g} in all, measured on ReLU feature maps, and do not rescue it)")


def _ini101_finding(rule: Rule, ctx: FileContext, cls: ClassFacts, run: Run) -> Finding:
    depth = len(run.layers)
    hidden_acts = [layer.act for layer in run.layers[:-1] if layer.act]
    moment = sum(second_moment(a) for a in hidden_acts) / max(len(hidden_acts), 1)
    per_layer = 1 / math.sqrt(DEFAULT_VARIANCE_GAIN * moment)
    total = _ini101_shrink(run)
    acts = _acts(Run(run.origin, run.layers[:-1]))
    where = {"forward": "forward", "Sequential": "its children"}.get(run.origin,
                                                                    f"`{run.origin}`")
    first = run.layers[0]
    relu_family = all(api.ACTIVATIONS[a].family == "relu" for a in hidden_acts)
    target = ("2/fan_in (He) for ReLU" if relu_family else
              f"≈{1 / moment:.1f}/fan_in to keep the variance through {acts}")
    measured = ("; measured on a width-256 ReLU MLP: last-layer std 0.025 at depth 5, "
                "gradient ratio first/last 0.012 at depth 10" if relu_family else
                "; measured: last-layer std 0.019 (GELU) / 0.065 (tanh) at depth 5")
    fix_hint = ("kaiming_normal_(w, nonlinearity='relu')" if relu_family else
                "xavier_uniform_(w, gain=calculate_gain('tanh'))" if "Tanh" in acts else
                "kaiming_normal_(w, nonlinearity='relu') (close enough for GELU/SiLU)")
    return rule.finding(
        ctx, layer_span(ctx, cls, first.path),
        f"{depth} {_layer_names(run)} layers with {acts} between them in "
        f"`{cls.name}` ({where}: {_paths_text(run.paths)}) "
        "are left on PyTorch's default init",
        f"PyTorch's default kaiming_uniform_(a=√5) draws Var(w)=1/(3·fan_in), but {target}: "
        f"the activation std shrinks ~{format_factor(per_layer)}× per layer, "
        f"~{format_factor(total)}× over these {depth} layers{_factors_text(run)}, and "
        f"gradients vanish alike"
        f"{measured}. There is no normalization between the layers and no residual path to "
        f"rescue the signal. Initialize them explicitly, e.g. {fix_hint}, or add "
        "BatchNorm/LayerNorm between them.",
        fixes.explicit_init(ctx, cls, [fixes.Layer(layer.path, layer.layer, layer.act,
                                                   layer.slope) for layer in run.layers]),
        subject=_subject(cls, run.paths))


# --- INI102 ---------------------------------------------------------------------------------


def _relu_fed(layer: ChainLayer) -> bool:
    return (layer.act is not None and not layer.norm_after and
        api.ACTIVATIONS[layer.act].family == "relu" and layer.act != "selu")


@rule("INI102", "xavier-before-relu", W,
      "xavier_uniform_/xavier_normal_ with gain 1 on a plain chain of ≥ 3 layers feeding "
      "ReLU-family activations.", fix="unsafe")
def xavier_before_relu(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    reported: set[tuple[str, InitSite]] = set()
    for cls, effective, placed, run in plain_runs(ctx):
        xavier = [(layer, init) for layer in run.layers
                  if layer.path in placed
                  for init in [weight_init(effective, placed[layer.path])]
                  if init.kind == "xavier" and _unit(init.gain) and _relu_fed(layer)]
        if len(xavier) < 3 or len(xavier) < len(run.layers) - 1:
            continue
        if _xavier_shrink([layer for layer, _ in xavier], run, high=True) < MIN_SHRINK:
            continue  # pooling between the layers raises the signal back (at most)
        sites = {site for _, init in xavier for site in init.sites}
        site = min(sites, key=lambda s: (s.span.row, s.span.column))
        key = (cls.qualname, site)
        if key in reported:
            continue
        reported.add(key)
        layers = [layer for layer, _ in xavier]
        yield _ini102_finding(rule, ctx, cls, layers, site, run)


def site_in_file(ctx: FileContext, site: InitSite) -> bool:
    """Is the init call in the file being checked (so the finding can point at it)? A
    finding's path, row and column come from one file: a site of another file (a helper, a
    script's module-level code) is pointed at through the model instead."""
    facts = ctx.project.site_file(site)
    if facts is not None:
        return facts.path == ctx.facts.path
    return site in ctx.facts.sites



def _unit(gain) -> bool:
    return gain is not UNKNOWN and isinstance(gain, (int, float)) and abs(gain - 1.0) < 0.05


def _xavier_shrink(layers: list[ChainLayer], run: Run, high: bool = False) -> float:
    """The std shrink of xavier(gain 1) + ReLU over ``layers``, the run's weightless factors
    between them included."""
    return exp_bounded(_log_xavier_shrink(layers, run, high))


def _log_xavier_shrink(layers: list[ChainLayer], run: Run, high: bool = False) -> float:
    factors = []
    for layer in layers:
        fi, fo = fan_in(layer.layer), fan_out(layer.layer)
        variance = 2 * fi / (fi + fo) if fi is not UNKNOWN and fo is not UNKNOWN else 1.0
        factors.append(std_factor(variance, layer.act))
    return -log_product(factors) - _log_factor_product(run, high)


def _ini102_finding(rule: Rule, ctx: FileContext, cls: ClassFacts, layers: list[ChainLayer],
                    site: InitSite, run: Run) -> Finding:
    log_total = _log_xavier_shrink(layers, run)
    total, per = exp_bounded(log_total), math.exp(log_total / len(layers))
    paths = tuple(layer.path for layer in layers)
    in_file = site_in_file(ctx, site)
    span = site.span if in_file else layer_span(ctx, cls, layers[0].path)
    return rule.finding(
        ctx, span,
        f"`{site.func}` with gain 1 on {len(layers)} layers of `{cls.name}` that feed ReLU "
        f"({_paths_text(paths)})",
        f"Xavier keeps the variance of linear/tanh units: Var(w)=2/(fan_in+fan_out), i.e. "
        f"1/fan_in when fan_in=fan_out, but ReLU zeroes half of each layer's output, so the "
        f"activation std shrinks ~{format_factor(per)}× per layer (~{format_factor(total)}× "
        f"over these {len(layers)} layers{_factors_text(run)}); measured on a width-256 "
        "ReLU MLP: std 0.16 at "
        "depth 5, 0.021 at depth 10 (He: 0.88, 0.68). Use "
        "gain=nn.init.calculate_gain('relu') or kaiming_*_(w, nonlinearity='relu').",
        fixes.relu_gain(ctx, site) if in_file else None,
        subject=_subject(cls, paths))


def init_module_spelling(ctx: FileContext) -> str | None:
    """How this file spells torch.nn.init (``nn.init``, ``init``, ``torch.nn.init``)."""
    names = ctx.facts.imports.as_dict()
    for local, qualified in sorted(names.items()):
        if qualified == "torch.nn.init":
            return local
    for local, qualified in sorted(names.items()):
        if qualified == "torch.nn":
            return f"{local}.init"
    if names.get("torch") == "torch":
        return "torch.nn.init"
    return None


# --- INI103 ---------------------------------------------------------------------------------


def _hidden(run: Run) -> list[ChainLayer]:
    """Layers whose activation output feeds another weight layer of the run."""
    return list(run.layers[:-1])


@rule("INI103", "gain-mismatch", W,
      "An init gain made for one nonlinearity on layers that feed another: kaiming (ReLU "
      "gain) before tanh/sigmoid, a leaky_relu slope unlike the network's, "
      "calculate_gain(X) before Y.", fix="unsafe")
def gain_mismatch(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    reported: set[tuple[str, InitSite]] = set()
    for cls, effective, placed, run in plain_runs(ctx):
        for layer in _hidden(run):
            if layer.path not in placed or layer.norm_after or layer.act is None:
                continue
            init = weight_init(effective, placed[layer.path])
            problem = _mismatch(init, layer)
            if problem is None:
                continue
            site = init.sites[0]
            key = (cls.qualname, site)
            if key in reported:
                continue
            reported.add(key)
            message, why = problem
            span = site.span if site_in_file(ctx, site) else layer_span(ctx, cls, layer.path)
            fix = (fixes.matching_gain(ctx, site, layer.act, layer.slope)
                if site_in_file(ctx, site) else None)
            yield rule.finding(ctx, span,
                               f"{message} (`{cls.name}.{display_path(layer.path)}`)", why,
                               fix, subject=_subject(cls, (layer.path,)))


def _mismatch(init: WeightInit, layer: ChainLayer) -> tuple[str, str] | None:
    act = layer.act
    assert act is not None
    label = _act_label(act)
    if init.kind == "kaiming" and init.gain is not UNKNOWN:
        if (act in ("tanh", "sigmoid") and init.nonlinearity in ("relu", "leaky_relu")
                and abs(init.gain**2 - 2.0) < 0.1):
            return (f"kaiming init with ReLU gain on a layer feeding {label}",
                    f"kaiming_* with nonlinearity='{init.nonlinearity}' draws "
                    f"Var(w)=2/fan_in, twice the 1/fan_in that keeps {label} out of "
                    "saturation: pre-activation variance doubles per layer, units saturate "
                    "and gradients shrink. Use xavier_*_(w) (or gain=calculate_gain("
                    f"'{act}')) for {label} layers.")
        if (act in ("leaky_relu", "prelu") and init.nonlinearity == "leaky_relu"
                and isinstance(init.slope, (int, float)) and isinstance(layer.slope,
                                                                        (int, float))
                and abs(init.slope - math.sqrt(5)) > 1e-6):
            wanted = api.variance_to_keep(act, layer.slope)
            ratio = init.gain**2 / wanted if wanted else 1.0
            if abs(ratio - 1) > 0.25:
                return (f"kaiming a={init.slope:g} but the network's LeakyReLU slope is "
                        f"{layer.slope:g}",
                        f"kaiming's gain √(2/(1+a²)) with a={init.slope:g} gives "
                        f"fan_in·Var(w)={init.gain**2:.2f}, while LeakyReLU("
                        f"{layer.slope:g}) keeps the variance at {wanted:.2f}: the std "
                        f"changes ×{math.sqrt(ratio):.2f} per layer. Pass "
                        f"a={layer.slope:g}.")
    gain_name = init.nonlinearity if init.kind in ("xavier", "orthogonal") else UNKNOWN
    if isinstance(gain_name, str) and gain_name in api.GAINS and init.gain is not UNKNOWN:
        own = api.ACTIVATIONS.get(act)
        if own is None or own.family == "smooth" or own.gain_name is None:
            return None
        wanted_gain = api.GAINS.get(own.gain_name)
        if wanted_gain is None or gain_name == own.gain_name:
            return None
        ratio = (init.gain / wanted_gain) ** 2
        if abs(ratio - 1) > 0.25:
            return (f"calculate_gain('{gain_name}') on a layer feeding {label}",
                    f"The gain is meant for {gain_name} (={init.gain:.3g}) but the layer "
                    f"feeds {label}, whose gain is {wanted_gain:.3g}: the variance is off "
                    f"×{ratio:.2f} per layer (std ×{math.sqrt(ratio):.2f}), compounding "
                    f"with depth. Use calculate_gain('{own.gain_name}').")
    return None


# --- INI104 ---------------------------------------------------------------------------------


@rule("INI104", "residual-without-norm-unscaled", W,
      "≥ 5 residual blocks without normalization whose last branch layer is neither "
      "zero-initialized nor scaled by 1/√(2·n_blocks).", fix="unsafe")
def residual_unscaled(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for container in module_classes(ctx):
        effective = ctx.project.effective(container)
        for layer in ctx.project.all_layers(container):
            block = ctx.project.resolve_class(layer.cls) if layer.cls else None
            if block is None or not block.residual or not isinstance(layer.count, int):
                continue
            count = layer.count
            if count < 5:
                continue
            problem = _unscaled_branch(ctx, effective, block, layer.name)
            if problem is None:
                continue
            kind, growth = problem
            yield rule.finding(
                ctx, layer.span,
                f"{count} residual `{block.name}` blocks without normalization, "
                f"{kind} init, unscaled",
                f"Each block adds its branch to the stream (x + f(x)) and nothing normalizes "
                f"or scales it: with {kind} init the output variance grows ~{growth} per "
                f"block, ×{format_factor(_growth_total(kind, count))} in std over {count} "
                "blocks (measured, no norm, width 256: He ×5.8 at 5 blocks, ×1,227 at 20). "
                "Zero-initialize the last layer of each branch (Fixup, zero_init_residual) "
                "or scale its std by 1/√(2·n_blocks) (GPT-2), or add normalization.",
                fixes.zero_last_branch_layer(ctx, container, layer.name, block),
                subject=f"{container.qualname}::{layer.name}")


def _growth_total(kind: str, count: int) -> float:
    if kind == "He":
        return exp_bounded(count / 2 * math.log(2))
    return {5: 1.5, 10: 2.1, 20: 4.9}.get(count, 1.0 + 0.2 * count)


def _unscaled_branch(ctx: FileContext, effective: EffectiveInit, block: ClassFacts,
                     prefix: str) -> tuple[str, str] | None:
    placed = [p for p in effective.placed if p.path.startswith(prefix + ".")]
    if not placed:
        return None
    kinds = set()
    for p in placed:
        family = api.LAYERS.get(p.layer.cls)
        if (family is None and p.layer.cls not in api.ACTIVATION_CALLABLES and
                p.layer.cls not in api.TRANSPARENT_MODULES and
                p.layer.cls not in api.SIGNAL_FACTORS):
            return None  # something we do not understand in the branch
        if family is None:
            continue
        if family.family == "norm":
            return None
        if family.family not in api.WEIGHT_LAYER_FAMILIES:
            return None
        init = weight_init(effective, p)
        if init.kind == "kaiming" and _numbers(init.gain) and init.gain >= 1.3:
            kinds.add("He")
        elif init.kind == "default":
            kinds.add("default")
        else:
            return None  # zero, scaled or otherwise deliberate
    if kinds != {"He"}:
        return None  # default init grows slowly (×1.5 at 5 blocks): not worth a warning
    return "He", "×2"


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


RULES = (deep_stack_on_default, xavier_before_relu, gain_mismatch, residual_unscaled)
