"""The signal-propagation model behind INI101–INI104.

A model's chains (``forward`` statements, Sequential literals, expanded local blocks) are
flattened into weight layers and the activations that follow them; a plain *run* is a
stretch of weight layers with a nonlinearity between each pair and no normalization or
code we cannot follow. Each layer's effective init gives its variance gain
``fan_in·Var(w)``; times the activation's ``E[φ(z)²]/Var(z)`` that is the per-layer factor
on the pre-activation variance (RULES.md, "The numbers behind the rules").
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.facts import UNKNOWN, Chain, ClassFacts, FlowStep, InitSite, LayerFact
from initlint.semantic.effective import EffectiveInit
from initlint.semantic.norms import norm_info
from initlint.semantic.project import ProjectFacts
from initlint.semantic.records import Placed

MAX_EXPANSION_DEPTH = 4


@dataclass(frozen=True)
class Factor:
    """A weightless operation in the chain and its measured RMS factor (typical, at most)."""

    kind: str
    low: float
    high: float


@dataclass(frozen=True)
class ChainLayer:
    """A weight layer in a chain and what follows it before the next weight layer."""

    path: str
    layer: LayerFact
    act: str | None  # the activation after it, if any
    slope: Any = None  # LeakyReLU slope when known
    norm_after: bool = False  # its output is normalized before anything else
    # pooling, dropout, upsampling... between it and the next weight layer (api.SIGNAL_FACTORS)
    factors: tuple[Factor, ...] = ()


@dataclass(frozen=True)
class Run:
    """Consecutive weight layers with a nonlinearity between each pair, nothing else."""

    origin: str
    layers: tuple[ChainLayer, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(layer.path for layer in self.layers)

    def factors(self, upto: int | None = None) -> tuple[Factor, ...]:
        """The weightless factors between the run's layers (not after the last one)."""
        layers = self.layers[:-1] if upto is None else self.layers[:upto]
        return tuple(f for layer in layers for f in layer.factors)


@dataclass(frozen=True)
class WeightInit:
    """What a weight ends up drawn from, as far as statically known."""

    kind: str  # "default" | "kaiming" | "xavier" | "orthogonal" | "normal" | "uniform" |
    # "zeros" | "constant" | "eye" | "other" | "unknown"
    sites: tuple[InitSite, ...] = ()
    gain: Any = UNKNOWN  # gain for kaiming/xavier/orthogonal
    std: Any = UNKNOWN  # std for normal/uniform draws
    nonlinearity: Any = UNKNOWN
    slope: Any = UNKNOWN  # kaiming's a


# --- chains -----------------------------------------------------------------------------


def runs_of(project: ProjectFacts, cls: ClassFacts) -> list[Run]:
    """Plain runs in every chain of ``cls`` (forward first, then Sequential attributes)."""
    layers = {layer.name: layer for layer in project.all_layers(cls)}
    chains = sorted(cls.chains, key=lambda c: c.origin != "forward")
    out: list[Run] = []
    seen: set[tuple[str, ...]] = set()
    for chain in chains:
        items = _flatten(project, cls, chain.steps, layers, "", 0)
        for run in _split(chain.origin, items):
            if any(set(run.paths) <= set(s) for s in seen) or _inside_child(project, layers,
                                                                            run):
                continue
            seen.add(run.paths)
            out.append(run)
    return out


def _inside_child(project: ProjectFacts, layers: dict[str, LayerFact], run: Run) -> bool:
    """The whole run lives inside one submodule of a class of ours: reported there."""
    heads = {path.split(".", 1)[0] for path in run.paths}
    if len(heads) != 1 or not all("." in path for path in run.paths):
        return False
    child = layers.get(heads.pop())
    return child is not None and bool(child.cls) and project.resolve_class(child.cls) is not None


#: One step of a flattened chain, tagged: ("W", path, layer) a weight layer, ("A", act,
#: slope) an activation, ("N",) a norm, ("F", factor) a scaling functional, ("X", why) code
#: the chain cannot follow.
Item = tuple[Any, ...]


def _chain_named(cls: ClassFacts, origin: str) -> Chain | None:
    return next((c for c in cls.chains if c.origin == origin), None)


def _flatten(project: ProjectFacts, cls: ClassFacts, steps: tuple[FlowStep, ...],
             layers: dict[str, LayerFact], prefix: str, depth: int) -> list[Item]:
    """Steps → ("W", path, layer) / ("A", act, slope) / ("N",) / ("F", Factor) / ("X", why)."""
    items: list[Item] = []
    for step in steps:
        if step.kind == "act":
            items.append(("A", step.ref, step.slope))
            continue
        if step.kind == "factor":
            items.append(("F", factor_of(step.ref, dict(step.params))))
            continue
        if step.kind != "module":
            items.append(("X", step.ref))
            continue
        layer = step.layer or layers.get(step.ref)
        if layer is None:
            items.append(("X", step.ref))
            continue
        items += _layer_items(project, cls, layer, layers, prefix, depth)
    return items


def _layer_items(project: ProjectFacts, cls: ClassFacts, layer: LayerFact,
                 layers: dict[str, LayerFact], prefix: str, depth: int) -> list[Item]:
    path = prefix + layer.name
    if layer.cls in api.ACTIVATION_CALLABLES:
        act = api.ACTIVATION_CALLABLES[layer.cls]
        return [("A", act, layer.arg("negative_slope", 0, 0.01) if act == "leaky_relu"
                 else None)]
    if layer.cls in api.TRANSPARENT_MODULES:
        return []
    if layer.cls in api.SIGNAL_FACTORS:
        return [("F", factor_of(layer.cls, _layer_params(layer)))]
    kind = api.LAYERS.get(layer.cls)
    if kind is not None:
        if kind.family in api.WEIGHT_LAYER_FAMILIES:
            return [("W", path, layer)]
        if kind.family == "norm":
            return [("N",)]
        return [("X", path)]
    if layer.cls == api.SEQUENTIAL:
        inner = _chain_named(cls, layer.name)
        if inner is None:
            return [("X", path)]
        return _flatten(project, cls, inner.steps, layers, prefix, depth)
    if norm_info(project, layer.cls) is not None:  # a project's own norm class
        return [("N",)]
    child = project.resolve_class(layer.cls) if layer.cls else None
    if child is None or depth >= MAX_EXPANSION_DEPTH or child.residual or child is cls:
        return [("X", path)]
    chain = _chain_named(child, "forward") or _chain_named(child, "Sequential")
    if chain is None:
        return [("X", path)]
    child_layers = {lf.name: lf for lf in project.all_layers(child)}
    return _flatten(project, child, chain.steps, child_layers, path + ".", depth + 1)


def _split(origin: str, items: list[Item]) -> list[Run]:
    runs: list[Run] = []
    current: list[ChainLayer] = []
    pending: Item | None = None  # the last weight layer, waiting to see what follows it
    act: Item | None = None
    norm = False
    factors: list[Factor] = []

    def close(final: ChainLayer | None) -> None:
        nonlocal current
        if final is not None:
            current.append(final)
        if current:
            runs.append(Run(origin, tuple(current)))
        current = []

    for item in items:
        tag = item[0]
        if tag == "W":
            if pending is not None:
                done = ChainLayer(pending[1], pending[2], act[1] if act else None,
                                  act[2] if act else None, norm, tuple(factors))
                if act is not None and not norm:
                    current.append(done)
                else:
                    close(done)
            pending, act, norm, factors = item, None, False, []
        elif tag == "F":
            if pending is not None:
                factors.append(item[1])
        elif tag == "A":
            if pending is not None and act is None:
                act = item
        elif tag == "N":
            if pending is not None and act is None:
                norm = True
            elif pending is not None and act is not None:
                close(ChainLayer(pending[1], pending[2], act[1], act[2], False, tuple(factors)))
                pending, act, norm, factors = None, None, False, []
        else:  # opaque code: the chain ends here
            if pending is not None:
                close(ChainLayer(pending[1], pending[2], act[1] if act else None,
                                 act[2] if act else None, norm, tuple(factors)))
            else:
                close(None)
            pending, act, norm, factors = None, None, False, []
    if pending is not None:
        close(ChainLayer(pending[1], pending[2], act[1] if act else None,
                         act[2] if act else None, norm, tuple(factors)))
    else:
        close(None)
    return runs


def factor_of(name: str, params: dict[str, Any]) -> Factor:
    """The measured factor of a pooling/dropout/upsampling/attention module or functional,
    adjusted by its literal arguments (dropout's p, interpolation mode)."""
    spec = api.SIGNAL_FACTORS[name]
    if spec.kind == "dropout":
        p = params.get("p", params.get("1", 0.5))
        training = params.get("training", True)
        if training is False:
            return Factor("dropout", 1.0, 1.0)
        if _numbers(p):
            value = api.dropout_factor(float(p))
            return Factor("dropout", value, value)
        return Factor("dropout", 1.0, spec.high)
    if spec.kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        size = params.get("output_size", params.get("1", UNKNOWN))  # module arg / functional
        if size == 1 or size == (1, 1) or size == (1, 1, 1):  # global: the measured values
            global_ = (0.56, 0.58) if spec.kind == "adaptive_avg_pool" else (4.16, 4.66)
            return Factor(spec.kind, *global_)
        return Factor(spec.kind, spec.low, spec.high)
    if spec.kind == "upsample":
        mode = params.get("mode", "nearest")
        if not isinstance(mode, str):
            return Factor("upsample", api.SMOOTHING_MODES["bilinear"].low, 1.0)
        spec = api.SMOOTHING_MODES.get(mode, spec)
    return Factor(spec.kind, spec.low, spec.high)


def _layer_params(layer: LayerFact) -> dict[str, Any]:
    """A factor module's arguments by name: ``nn.Dropout(0.1)``, ``nn.Upsample(mode=...)``."""
    out = {"p": layer.arg("p", 0, UNKNOWN), "mode": layer.arg("mode", 2, UNKNOWN),
           "output_size": layer.arg("output_size", 0, UNKNOWN)}
    if api.SIGNAL_FACTORS[layer.cls].kind == "upsample" and layer.cls.endswith("Bilinear2d"):
        out["mode"] = "bilinear"
    return {k: v for k, v in out.items() if v is not UNKNOWN or layer.star}


# --- inits --------------------------------------------------------------------------------


def weight_init(effective: EffectiveInit, placed: Placed, own_only: bool = False) -> WeightInit:
    """The effective init of ``placed``'s weight: default, a known draw, or unknown."""
    writes = effective.writes(placed, "weight", own_only)
    if writes.possible:
        return WeightInit("unknown", writes.sites)
    if not writes.sites:
        return WeightInit("default")
    kinds = {describe(site) for site in writes.sites}
    sites = writes.sites
    if len(kinds) != 1 and _overwritten_in_order(sites):
        sites = (max(sites, key=lambda site: (site.span.row, site.span.column)),)
        kinds = {describe(sites[0])}
    if len(kinds) != 1:
        return WeightInit("unknown", writes.sites)
    kind, gain, std, nonlinearity, slope = kinds.pop()
    return WeightInit(kind, sites, gain, std, nonlinearity, slope)


def _overwritten_in_order(sites: tuple[InitSite, ...]) -> bool:
    """Whole-tensor writes, one after another in one function, none under a test: the last
    one is what the tensor holds (``zeros_(w)`` then ``uniform_(w)`` is a uniform draw)."""
    return len({s.function for s in sites}) == 1 and all(
        not s.conditions and not s.target.index and s.style in ("init", "inplace")
        and not s.bindings for s in sites)


def describe(site: InitSite) -> tuple[str, Any, Any, Any, Any]:
    """(kind, gain, std, nonlinearity, a) of one init site."""
    name = api.DEPRECATED_ALIASES.get(site.func, site.func)
    if site.style == "reset":  # torch's reset_parameters: the layer's default draw again
        return ("default", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    if site.style in ("helper", "assign", "opaque"):
        return ("other", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    if site.style == "inplace":
        kind = {"normal_": "normal", "uniform_": "uniform", "fill_": "constant",
                "zero_": "zeros"}.get(site.func, "other")
        if site.target.via_data is False and kind == "other":
            return ("other", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    else:
        spec = api.INIT_FUNCTIONS.get(name)
        kind = spec.kind if spec else "other"
    if kind == "kaiming":
        nonlinearity = site.arg("nonlinearity", "leaky_relu")
        slope = site.arg("a", 0)
        return (kind, _kaiming_gain(nonlinearity, slope), UNKNOWN, nonlinearity, slope)
    if kind in ("xavier", "orthogonal"):
        return (kind, site.arg("gain", 1.0), UNKNOWN, site.arg("gain_name", UNKNOWN), UNKNOWN)
    if kind == "normal":
        return (kind, UNKNOWN, site.arg("std", 1.0), site.arg("mean", 0.0), UNKNOWN)
    if kind == "uniform":
        low, high = site.arg("a", 0.0), site.arg("b", 1.0)
        std = (high - low) / math.sqrt(12) if _numbers(low, high) else UNKNOWN
        return (kind, UNKNOWN, std, UNKNOWN, UNKNOWN)
    if kind == "constant":
        value = site.arg("val", UNKNOWN)
        return ("zeros" if value == 0 else "constant", UNKNOWN, 0.0, UNKNOWN, UNKNOWN)
    if kind in ("zeros", "eye", "dirac", "ones"):
        return (kind, UNKNOWN, 0.0, UNKNOWN, UNKNOWN)
    return (kind, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _kaiming_gain(nonlinearity: Any, slope: Any) -> Any:
    if nonlinearity == "leaky_relu":
        return api.leaky_relu_gain(slope) if _numbers(slope) else UNKNOWN
    return api.GAINS.get(nonlinearity, UNKNOWN) if isinstance(nonlinearity, str) else UNKNOWN


def fan_in(layer: LayerFact) -> Any:
    """torch's fan_in of the weight: in_features, or in_channels/groups·∏kernel_size
    (out_channels/groups·∏kernel_size for a transposed conv); UNKNOWN when not literal."""
    return _fans(layer)[0]


def fan_out(layer: LayerFact) -> Any:
    """torch's fan_out: out_features, or out_channels·∏kernel_size (in_channels·∏kernel_size
    for a transposed conv, whose weight is laid out (in, out/groups, *kernel))."""
    return _fans(layer)[1]


def _fans(layer: LayerFact) -> tuple[Any, Any]:
    kind = api.LAYERS.get(layer.cls)
    if kind is None or kind.family not in api.WEIGHT_LAYER_FAMILIES:
        return UNKNOWN, UNKNOWN
    if kind.family == "linear":
        fans = layer.arg("in_features", 0), layer.arg("out_features", 1)
        return tuple(v if _numbers(v) else UNKNOWN for v in fans)
    channels_in, channels_out = layer.arg("in_channels", 0), layer.arg("out_channels", 1)
    kernel = layer.arg("kernel_size", 2)
    groups = layer.arg("groups", 8 if kind.family == "conv" else 6, 1)
    ndim = (kind.weight_ndim or 4) - 2
    size = math.prod(kernel) if isinstance(kernel, tuple) and _numbers(*kernel) else (
        kernel**ndim if _numbers(kernel) else UNKNOWN)
    if not _numbers(channels_in, channels_out, groups, size) or not groups:
        return UNKNOWN, UNKNOWN
    if kind.family == "conv_transpose":
        return channels_out * size // groups, channels_in * size
    return channels_in * size // groups, channels_out * size


def display_path(path: str) -> str:
    """``layers.*`` → ``layers[i]``; ``model.?1.0`` (from a ``*list``) → ``model[1].0``."""
    path = path.replace(".*", "[i]")
    return re.sub(r"\.\?(\d+)", r"[\1]", path)


def second_moment(act: str | None) -> float:
    """E[φ(z)²]/Var(z) near unit scale; 1 for no activation."""
    return api.ACTIVATIONS[act].second_moment if act in api.ACTIVATIONS else 1.0


def std_factor(variance_gain: float, act: str | None) -> float:
    """Per-layer multiplier of the activation std."""
    return math.sqrt(variance_gain * second_moment(act))


#: The natural log of the largest float: a factor past it is infinite.
_MAX_LOG = math.log(sys.float_info.max)


def exp_bounded(log_value: float) -> float:
    """``e ** log_value``, infinite past a float's range instead of an OverflowError:
    thousands of layers multiply their factors past 1e308 and the check must still answer."""
    return math.exp(log_value) if log_value < _MAX_LOG else math.inf


def log_product(values: Iterable[float]) -> float:
    """The log of a product of positive factors (never over- or underflows)."""
    return math.fsum(math.log(v) for v in values)


def format_factor(value: float) -> str:
    if math.isinf(value):
        return f"more than {sys.float_info.max:.0e}"
    if value >= 1e6:
        return f"{value:.1e}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.1f}"
