"""Static findings meet measured numbers: confirm, refute, or say why nothing was measured.

A finding's ``subject`` is ``pkg.mod.Class::path1,path2`` (layer paths inside that class).
The class is found among the built models, as the model itself or as a submodule of one;
the paths are then looked up among the module calls recorded during the forward pass.
Thresholds follow RULES.md ("The numbers behind the rules"): a healthy chain keeps its std
within ×0.8–1.25 per layer (He ≈ 1, BatchNorm/LayerNorm rescued ≈ flat), the broken ones
lose ×0.41 (default + ReLU) or ×0.71 (xavier + ReLU) per layer, or grow ×1.41 (He
residual blocks without norm).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from initlint.findings import Finding, RuntimeEvidence
from initlint.runtime.results import LayerStats, ModelRun, Skipped

#: A chain shrinking faster than this per layer is collapsing (default+ReLU ≈ 0.41/layer).
COLLAPSE_PER_LAYER = 0.8
#: Across-batch variance / second moment below this: the output no longer depends on the input.
SIGNAL_LOST = 0.1
#: First/last gradient-norm ratio below this: the first layers barely learn.
GRAD_VANISHED = 0.1
#: A residual stack whose std grows more than this is exploding (He, no norm: ×5.8 at 5 blocks;
#: default init: ×1.5; with BN/LN: ×1.3–3.3 at 5–10 blocks).
RESIDUAL_GROWTH = 4.0
#: An init gain off by more than this in variance (as the static rule: 25%).
GAIN_TOLERANCE = 0.25
#: Norm outputs with a std below this: γ ≈ 0 is scaling the signal away (γ = 1 gives ≈ 1).
NORM_DEAD = 0.1
#: Bias rms against the input-driven part of the output (as INI206's static ratio).
BIAS_LOUD = 0.25
#: Weight std within this of PyTorch's default 1/√(3·fan_in) counts as still on the default.
DEFAULT_TOLERANCE = 0.15

#: Runtime discoveries (no static finding on that model): stricter, as nothing else backs them.
DISCOVER_COLLAPSE = 1 / 16
DISCOVER_GROWTH = 16.0

#: Activation module → fan_in·Var(w) that keeps the variance through it (std gain²).
WANTED_GAIN2: dict[str, Callable[[float | None], float]] = {
    "ReLU": lambda s: 2.0, "ReLU6": lambda s: 2.0, "PReLU": lambda s: 2.0 / (1 + 0.25**2),
    "LeakyReLU": lambda s: 2.0 / (1 + (s if s is not None else 0.01) ** 2),
    "Tanh": lambda s: 1.0, "Sigmoid": lambda s: 1.0, "Hardtanh": lambda s: 1.0,
    "SELU": lambda s: 1.0,
}
ACTIVATIONS = {*WANTED_GAIN2, "GELU", "SiLU", "ELU", "Mish", "Hardswish", "CELU",
               "Softplus", "Identity"}


def fmt(value: float | None) -> str:
    """0.0231, 2.1e-6, 1.23e+03 → short, readable numbers."""
    if value is None:
        return "n/a"
    if value == 0 or math.isinf(value) or math.isnan(value):
        return f"{value:g}"
    text = f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.2g}"
    return text.replace("e-0", "e-").replace("e+0", "e+")


def parse_subject(subject: str) -> tuple[str, tuple[str, ...]]:
    key, _, paths = subject.partition("::")
    return key, tuple(p.strip() for p in paths.split(",") if p.strip())


def locate(runs: list[ModelRun], key: str) -> tuple[ModelRun, str] | None:
    """The model that is ``key`` or holds an instance of it, and that instance's path."""
    for run in runs:
        if run.key == key:
            return run, ""
    for run in runs:
        for cls, path in run.instances:
            if cls == key:
                return run, path
    return None


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


def first_call(run: ModelRun, path: str) -> LayerStats | None:
    return next((layer for layer in run.layers if layer.path == path), None)


def expand(run: ModelRun, pattern: str) -> list[str]:
    """Static paths name list members with ``*`` (``blocks.*.fc2``): the called paths it
    covers, outermost only, in call order. A plain path is itself."""
    if "*" not in pattern:
        return [pattern]
    parts = pattern.split(".")
    out: list[str] = []
    for layer in run.layers:
        names = layer.path.split(".")
        if len(names) == len(parts) and all(p == "*" or p == n for p, n in
                                            zip(parts, names, strict=True)) \
                and layer.path not in out:
            out.append(layer.path)
    return out


def expand_all(run: ModelRun, patterns: list[str]) -> list[str]:
    return [path for pattern in patterns for path in expand(run, pattern)]


def under(run: ModelRun, path: str) -> list[LayerStats]:
    """The calls of ``path`` and of everything below it, in start order."""
    return [layer for layer in run.layers
            if not path or layer.path == path or layer.path.startswith(path + ".")]


# --- measures, one per rule ----------------------------------------------------------------

Measure = Callable[[ModelRun, list[str]], RuntimeEvidence]


def _missing(paths: list[str]) -> RuntimeEvidence:
    return RuntimeEvidence("not-run", (("missing_layers", paths),),
                           f"{', '.join(paths[:3])} did not run in forward()")


def measure_collapse(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI101/INI102: the std through the chain, its end's signal, the gradient ratio."""
    layers = [first_call(run, p) for p in paths]
    missing = [p for p, layer in zip(paths, layers, strict=True) if layer is None]
    if missing:
        return _missing(missing)
    chain = [layer for layer in layers if layer is not None and layer.out_std is not None]
    if len(chain) < 2:
        return _missing(paths)
    stds = [layer.out_std for layer in chain]
    ratio = stds[-1] / stds[0] if stds[0] else 0.0
    per_layer = ratio ** (1 / (len(chain) - 1)) if ratio > 0 else 0.0
    signal = chain[-1].signal
    grads = (chain[0].grad_norm, chain[-1].grad_norm)
    grad_ratio = grads[0] / grads[1] if None not in grads and grads[1] else None
    reasons = []
    if per_layer < COLLAPSE_PER_LAYER:
        reasons.append("std")
    if signal is not None and signal < SIGNAL_LOST:
        reasons.append("signal")
    if grad_ratio is not None and grad_ratio < GRAD_VANISHED:
        reasons.append("gradient")
    start = chain[0].in_std
    summary = (f"std {fmt(start)} → {fmt(stds[-1])} over {len(chain)} layers "
               f"(×{fmt(per_layer)} per layer after the first), signal fraction "
               f"{fmt(signal)} at `{chain[-1].path}`")
    if grad_ratio is not None:
        summary += f", gradient ratio first/last {fmt(grad_ratio)}"
    evidence = (("input_std", start), ("layer_std", stds), ("per_layer", _r(per_layer)),
                ("signal_fraction_end", signal), ("grad_ratio", _r(grad_ratio)),
                ("dead_fraction", _dead_after(run, chain)), ("broken", reasons))
    return RuntimeEvidence("confirmed" if reasons else "not-confirmed", evidence,
                           summary)


def _dead_after(run: ModelRun, chain: list[LayerStats]) -> float | None:
    """Mean dead fraction of the ReLU calls inside the chain."""
    lo, hi = chain[0].start, chain[-1].end
    dead = [layer.dead for layer in run.leaves if lo < layer.start < hi and layer.dead is not None]
    return _r(sum(dead) / len(dead)) if dead else None


def _next_activation(run: ModelRun, layer: LayerStats) -> LayerStats | None:
    for call in run.leaves:
        if call.start > layer.end:
            return call if call.type in ACTIVATIONS else None
    return None


def measure_gain(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI103: the layer's measured std gain against the one its activation wants."""
    layer = first_call(run, paths[0]) if paths else None
    if layer is None or layer.out_rms is None or not layer.in_rms:
        return _missing(list(paths[:1]))
    gain = layer.out_rms / layer.in_rms
    act = _next_activation(run, layer)
    wanted2 = WANTED_GAIN2[act.type](act.slope) if act is not None and act.type in \
        WANTED_GAIN2 else None
    evidence: list[tuple[str, Any]] = [("gain", _r(gain)), ("activation",
                                                           act.type if act else None)]
    if act is not None and act.saturated is not None:
        evidence.append(("saturated_fraction", act.saturated))
    if wanted2 is None:
        return RuntimeEvidence("not-confirmed", tuple(evidence),
                               f"std gain ×{fmt(gain)} at `{layer.path}`; the "
                               "activation after it is not a module, so the gain it wants is "
                               "unknown")
    off = gain**2 / wanted2
    evidence += [("wanted_gain", _r(math.sqrt(wanted2))), ("variance_ratio", _r(off))]
    summary = (f"std gain ×{fmt(gain)} at `{layer.path}`, {act.type} wants "
               f"×{fmt(math.sqrt(wanted2))} (variance off ×{fmt(off)} per layer)")
    if act.saturated is not None:
        summary += f"; {fmt(100 * act.saturated)}% of {act.type} outputs saturated"
    status = "confirmed" if abs(off - 1) > GAIN_TOLERANCE else "not-confirmed"
    return RuntimeEvidence(status, tuple(evidence), summary)


def measure_growth(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI104: std into the first block against std out of the last."""
    calls = [c for p in paths for c in under(run, p)]
    if not calls:
        return _missing(paths)
    first = min(calls, key=lambda c: c.start)
    last = max(calls, key=lambda c: c.end)
    if not first.in_std or last.out_std is None:
        return _missing(paths)
    growth = last.out_std / first.in_std
    depth = {p: p.count(".") + 1 for p in paths}
    blocks = [c for c in calls if any(c.path.startswith(p + ".") and c.path.count(".") ==
                                      depth[p] for p in paths)]
    count = len({c.path for c in blocks}) or len(paths)
    per_block = growth ** (1 / count) if growth > 0 else 0.0
    stds = [c.out_std for c in sorted(blocks, key=lambda c: c.end)]
    evidence = (("input_std", first.in_std), ("output_std", last.out_std),
                ("growth", _r(growth)), ("blocks", count), ("per_block", _r(per_block)),
                ("block_std", stds))
    status = "confirmed" if growth > RESIDUAL_GROWTH else "not-confirmed"
    return RuntimeEvidence(status, evidence,
                           f"std {fmt(first.in_std)} → {fmt(last.out_std)} through "
                           f"{count} blocks (×{fmt(growth)}, ×{fmt(per_block)} per block)")


def measure_norm_scale(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI207/INI204: norm layers whose γ was re-drawn: their output std and γ mean."""
    layers = [first_call(run, p) for p in paths]
    present = [layer for layer in layers if layer is not None and layer.out_std is not None]
    if not present:
        return _missing(paths)
    stds = [layer.out_std for layer in present]
    gammas = [layer.weight_mean for layer in present]
    typical = sorted(stds)[len(stds) // 2]
    status = "confirmed" if typical < NORM_DEAD else "not-confirmed"
    return RuntimeEvidence(status, (("norm_output_std", stds), ("gamma_mean", gammas)),
                           f"norm output std {fmt(typical)} (γ mean "
                           f"{fmt(gammas[0])}) at `{present[0].path}`"
                           + (f" and {len(present) - 1} more" if len(present) > 1 else ""))


def measure_bias(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI206: the default bias against the input-driven part of the layer's output."""
    layer = first_call(run, paths[0]) if paths else None
    if layer is None or layer.bias_rms is None or layer.out_rms is None or layer.signal is None:
        return _missing(list(paths[:1]))
    driven = math.sqrt(max(layer.signal, 0.0)) * layer.out_rms
    ratio = layer.bias_rms / driven if driven > 1e-12 else math.inf
    evidence = (("bias_rms", layer.bias_rms), ("input_driven_std", _r(driven)),
                ("ratio", _r(ratio)))
    status = "confirmed" if ratio >= BIAS_LOUD else "not-confirmed"
    tail = ("the output is the bias alone" if math.isinf(ratio) else
            f"bias/signal {fmt(ratio)}")
    return RuntimeEvidence(status, evidence,
                           f"bias rms {fmt(layer.bias_rms)} vs input-driven std "
                           f"{fmt(driven)} at `{layer.path}`: {tail}")


def measure_default(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI202/INI203: are these weights still PyTorch's default draw?"""
    layers = [first_call(run, p) for p in paths]
    present = [layer for layer in layers if layer is not None and layer.default_std]
    if not present:
        return _missing(paths)
    ratios = [layer.weight_std / layer.default_std for layer in present]
    still = [layer.path for layer, r in zip(present, ratios, strict=True)
             if abs(r - 1) <= DEFAULT_TOLERANCE]
    status = "confirmed" if still else "not-confirmed"
    return RuntimeEvidence(status, (("weight_std_over_default", [_r(r) for r in ratios]),
                                    ("on_default", still)),
                           f"weight std / PyTorch default 1/√(3·fan_in) = "
                           f"{', '.join(fmt(r) for r in ratios[:4])} "
                           f"({len(still)} of {len(present)} still on the default)")


def measure_padding(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI205: is the padding row still zero after the model's init?"""
    layer = first_call(run, paths[0]) if paths else None
    if layer is None or layer.padding_rms is None:
        return _missing(list(paths[:1]))
    status = "confirmed" if layer.padding_rms > 0 else "not-confirmed"
    return RuntimeEvidence(status, (("padding_row_rms", layer.padding_rms),),
                           f"padding row rms {fmt(layer.padding_rms)} at "
                           f"`{layer.path}` (0 when intact)")


MEASURES: dict[str, Measure] = {
    "INI101": measure_collapse, "INI102": measure_collapse, "INI103": measure_gain,
    "INI104": measure_growth, "INI202": measure_default, "INI203": measure_default,
    "INI204": measure_norm_scale, "INI205": measure_padding, "INI206": measure_bias,
    "INI207": measure_norm_scale,
}


def _r(value: float | None) -> float | None:
    if value is None or math.isinf(value) or math.isnan(value):
        return value
    return float(f"{value:.4g}")


def evidence_for(finding: Finding, runs: list[ModelRun],
                 skipped: dict[str, Skipped]) -> RuntimeEvidence | None:
    """The runtime verdict on one finding; None for rules the runtime cannot measure."""
    measure = MEASURES.get(finding.code)
    if measure is None or not finding.subject:
        return None
    key, paths = parse_subject(finding.subject)
    found = locate(runs, key)
    if found is None:
        reason = skipped[key].reason if key in skipped else \
            "no built model holds it (name a factory under [tool.initlint.runtime] models)"
        return RuntimeEvidence("not-run", (("model", key),),
                               f"`{key.rsplit('.', 1)[-1]}` was not built: "
                               f"{reason}")
    run, prefix = found
    if run.nonfinite:
        return RuntimeEvidence("not-run", (("model", run.label),),
                               f"the forward pass of {run.label} is not finite "
                               f"({run.nonfinite})")
    full = [_join(prefix, p) for p in paths] or [prefix]
    if finding.code == "INI104":
        full = [p[:-2] if p.endswith(".*") else p for p in full]
    evidence = measure(run, expand_all(run, full) or full)
    where = (("model", run.label), ("input_shape", list(run.input_shape)))
    return RuntimeEvidence(evidence.status, where + evidence.evidence, evidence.summary)


def attach_evidence(findings: list[Finding], runs: list[ModelRun],
                    skipped: list[Skipped]) -> list[Finding]:
    by_key = {s.key: s for s in skipped if s.key}
    out = []
    for finding in findings:
        evidence = evidence_for(finding, runs, by_key)
        out.append(finding if evidence is None else finding.with_runtime(evidence))
    return out
