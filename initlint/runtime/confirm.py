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

from initlint.core import torch_api as api
from initlint.core.findings import Finding, RuntimeEvidence
from initlint.runtime import confirm_params
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
#: Collapse: the input-driven std (√signal·rms) of the last weight layer against the first's
#: (default + ReLU, depth 6: ≈ 1e-3; LayerNorm + ReLU, depth 20: 0.12; He: ≈ 1).
DISCOVER_COLLAPSE = 1 / 16
DISCOVER_GROWTH = 16.0

#: Activation module class names (``ReLU``) → the activation names of torch_api (``relu``).
ACTIVATION_NAMES = {cls[len(api.NN):]: act for cls, act in api.ACTIVATION_CALLABLES.items()
                    if cls.startswith(api.NN)}
ACTIVATIONS = {*ACTIVATION_NAMES, "Identity"}


def wanted_gain2(module_type: str, slope: float | None) -> float | None:
    """fan_in·Var(w) that keeps the variance through an activation module (std gain²)."""
    return api.variance_to_keep(ACTIVATION_NAMES.get(module_type), slope)


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
    """The model that holds an instance of ``key`` in context (a block inside the network
    that builds and initializes it), else the model built from ``key`` itself."""
    for run in runs:
        for cls, path in run.instances:
            if cls == key and path:
                return run, path
    for run in runs:
        if any(cls == key for cls, path in run.instances if not path):
            return run, ""
    return None


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


def first_call(run: ModelRun, path: str) -> LayerStats | None:
    return next((layer for layer in run.layers if layer.path == path), None)


def expand(run: ModelRun, pattern: str) -> list[str]:
    """Static paths name list members with ``*`` (``blocks.*.fc2``): the module paths of
    the same depth it matches, in call order. A plain path is itself."""
    if "*" not in pattern:
        return [pattern]
    parts = pattern.split(".")
    out: list[str] = []
    for layer in run.layers:
        names = layer.path.split(".")
        if (len(names) == len(parts) and all(p == "*" or p == n for p, n in
                                            zip(parts, names, strict=True))
                and layer.path not in out):
            out.append(layer.path)
    return out


def expand_all(run: ModelRun, patterns: list[str]) -> list[str]:
    """Every pattern expanded, each path once, in the subject's order."""
    return list(dict.fromkeys(path for pattern in patterns for path in expand(run, pattern)))


def under(run: ModelRun, path: str) -> list[LayerStats]:
    """The calls of ``path`` and of everything below it, in start order."""
    return [layer for layer in run.layers
            if not path or layer.path == path or layer.path.startswith(path + ".")]


# --- measures, one per rule ----------------------------------------------------------------

Measure = Callable[[ModelRun, list[str]], RuntimeEvidence]


def _missing(paths: list[str]) -> RuntimeEvidence:
    return RuntimeEvidence("not-run", (("missing_layers", paths),),
                           f"{', '.join(f'`{p}`' for p in paths[:3])} not found among the "
                           "modules the forward pass ran")


def measure_collapse(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI101/INI102: the input-driven std through the chain (the measure the static why
    uses; the bias part of each output is shown apart), its end's signal, the gradients."""
    layers = [first_call(run, p) for p in paths]
    missing = [p for p, layer in zip(paths, layers, strict=True) if layer is None]
    if missing:
        return _missing(missing)
    measured = [(layer, std) for layer in layers
                if layer is not None and (std := layer.driven_std) is not None]
    if len(measured) < 2:
        return _missing(paths)
    chain = [layer for layer, _ in measured]
    stds = [layer.out_std for layer in chain]
    driven = [std for _, std in measured]
    ratio = driven[-1] / driven[0] if driven[0] else 0.0
    per_layer = ratio ** (1 / (len(chain) - 1)) if ratio > 0 else 0.0
    signal = chain[-1].signal
    first_grad, last_grad = chain[0].grad_norm, chain[-1].grad_norm
    grad_ratio = first_grad / last_grad if first_grad is not None and last_grad else None
    reasons = []
    if per_layer < COLLAPSE_PER_LAYER:
        reasons.append("std")
    if signal is not None and signal < SIGNAL_LOST:
        reasons.append("signal")
    if grad_ratio is not None and grad_ratio < GRAD_VANISHED:
        reasons.append("gradient")
    start = chain[0].driven_in
    summary = (f"input-driven std {fmt(start)} → {fmt(driven[-1])} over {len(chain)} layers "
               f"({per_step(per_layer)} per layer after the first); the bias holds the raw "
               f"std at {fmt(stds[-1])} (signal fraction {fmt(signal)} at `{chain[-1].path}`)")
    if grad_ratio is not None:
        summary += f", gradient ratio first/last {fmt(grad_ratio)}"
    evidence = (("input_std", start), ("layer_std", stds), ("driven_std", [_r(d) for d in driven]),
                ("per_layer", _r(per_layer)),
                ("signal_fraction_end", signal), ("grad_ratio", _r(grad_ratio)),
                ("dead_fraction", _dead_after(run, chain)), ("broken", reasons))
    return RuntimeEvidence("confirmed" if reasons else "not-confirmed", evidence,
                           summary)


def per_step(factor: float) -> str:
    """×1.41 for growth, ÷2.45 for shrinking: the way the static why writes it."""
    if factor <= 0:
        return "×0"
    return f"×{fmt(factor)}" if factor >= 1 else f"÷{fmt(1 / factor)}"


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


def _inferred_activation(run: ModelRun, layer: LayerStats) -> tuple[str, float] | None:
    """A functional activation (``torch.tanh(self.fc(x))``) has no module: tell it by the
    range of what the next weight layer receives. (name, fan_in·Var(w) it wants)."""
    after = next((c for c in run.leaves if c.start > layer.end and c.is_weight_layer), None)
    if after is None or after.in_min is None or after.in_max is None:
        return None
    if -1.0 <= after.in_min < 0 and after.in_max <= 1.0:
        return "tanh (inferred: inputs in [-1, 1])", 1.0
    if after.in_min == 0 and (after.in_zero or 0) > 0.2:  # sigmoid is never exactly 0
        return "ReLU (inferred: ≥ 0 with many zeros)", 2.0
    if after.in_min >= 0 and after.in_max <= 1.0:
        return "sigmoid (inferred: inputs in [0, 1])", 1.0
    return None


def measure_gain(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI103: the layer's measured std gain against the one its activation wants."""
    layer = first_call(run, paths[0]) if paths else None
    if layer is None or layer.out_rms is None or not layer.in_rms:
        return _missing(list(paths[:1]))
    gain = layer.out_rms / layer.in_rms
    act = _next_activation(run, layer)
    name, wanted2, saturated = None, None, None
    if act is not None and wanted_gain2(act.type, act.slope) is not None:
        name, wanted2, saturated = act.type, wanted_gain2(act.type, act.slope), act.saturated
    elif act is None and (inferred := _inferred_activation(run, layer)) is not None:
        name, wanted2 = inferred
        after = next(c for c in run.leaves if c.start > layer.end and c.is_weight_layer)
        saturated = after.in_sat if name.startswith("tanh") else None
    evidence: list[tuple[str, Any]] = [("gain", _r(gain)), ("activation", name)]
    if saturated is not None:
        evidence.append(("saturated_fraction", saturated))
    if wanted2 is None:
        return RuntimeEvidence("not-run", tuple(evidence),
                               f"std gain ×{fmt(gain)} at `{layer.path}`, but the activation "
                               "after it could not be identified, so the gain it wants is "
                               "unknown")
    off = gain**2 / wanted2
    evidence += [("wanted_gain", _r(math.sqrt(wanted2))), ("variance_ratio", _r(off))]
    summary = (f"std gain ×{fmt(gain)} at `{layer.path}`, {name} wants "
               f"×{fmt(math.sqrt(wanted2))} (variance off ×{fmt(off)} per layer)")
    if saturated is not None:
        summary += f"; {fmt(100 * saturated)}% of its outputs saturated (|y| > 0.95)"
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


def _norm_scale(layer: LayerStats) -> float | None:
    """What a norm layer scales its unit-variance output to: measured, else γ's rms."""
    return layer.out_std if layer.out_std is not None else layer.weight_rms


def measure_norm_scale(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI207: norm layers whose γ is drawn around 0: their output std (or γ) ≈ 0."""
    return _norm_measure(run, paths, redrawn_counts=False)


def measure_gamma(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI204: norm γ re-drawn by a parameter loop: ≈ 0, or far from its 1."""
    return _norm_measure(run, paths, redrawn_counts=True)


def _norm_measure(run: ModelRun, paths: list[str], redrawn_counts: bool) -> RuntimeEvidence:
    layers = [first_call(run, p) for p in paths]
    measured = [(layer, scale) for layer in layers
                if layer is not None and (scale := _norm_scale(layer)) is not None]
    if not measured:
        return _missing(paths)
    present = [layer for layer, _ in measured]
    scales = [scale for _, scale in measured]
    gammas = [layer.weight_mean for layer in present]
    typical = sorted(scales)[len(scales) // 2]
    redrawn = any(g is not None and abs(g - 1) > 0.5 for g in gammas)
    dead = typical < NORM_DEAD
    status = "confirmed" if dead or (redrawn and redrawn_counts) else "not-confirmed"
    what = "output std" if present[0].out_std is not None else "γ rms (no forward)"
    return RuntimeEvidence(status, (("norm_scale", scales), ("gamma_mean", gammas)),
                           f"norm {what} {fmt(typical)} (γ mean {fmt(gammas[0])}) at "
                           f"`{present[0].path}`"
                           + (f" and {len(present) - 1} more" if len(present) > 1 else ""))


def measure_bias(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI206: the default bias against the input-driven part of the layer's output
    (measured; without a forward pass, weight std·√fan_in for a unit-variance input)."""
    layer = first_call(run, paths[0]) if paths else None
    if layer is None or layer.bias_rms is None:
        return _missing(list(paths[:1]))
    if layer.out_rms is not None and layer.signal is not None:
        driven = math.sqrt(max(layer.signal, 0.0)) * layer.out_rms
    elif layer.weight_std is not None and layer.fan_in:  # no forward: for a unit input
        driven = layer.weight_std * math.sqrt(layer.fan_in)
    else:
        return _missing(list(paths[:1]))
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
    # weight_numbers sets weight_std with the fans that default_std reads: never None here
    measured = [(layer, layer.weight_std / default) for layer in layers
                if layer is not None and (default := layer.default_std)
                and layer.weight_std is not None]
    if not measured:
        return _missing(paths)
    ratios = [ratio for _, ratio in measured]
    still = [layer.path for layer, r in measured if abs(r - 1) <= DEFAULT_TOLERANCE]
    status = "confirmed" if still else "not-confirmed"
    return RuntimeEvidence(status, (("weight_std_over_default", [_r(r) for r in ratios]),
                                    ("on_default", still)),
                           f"weight std / PyTorch default 1/√(3·fan_in) = "
                           f"{', '.join(fmt(r) for r in ratios[:4])} "
                           f"({len(still)} of {len(measured)} still on the default)")


def measure_padding(run: ModelRun, paths: list[str]) -> RuntimeEvidence:
    """INI205: is the padding row still zero after the model's init?"""
    layer = first_call(run, paths[0]) if paths else None
    if layer is None or layer.padding_rms is None:
        return _missing(list(paths[:1]))
    status = "confirmed" if layer.padding_rms > 0 else "not-confirmed"
    return RuntimeEvidence(status, (("padding_row_rms", layer.padding_rms),),
                           f"padding row rms {fmt(layer.padding_rms)} at "
                           f"`{layer.path}` (0 when intact)")


#: Rules whose measure needs a forward pass (the others read the built weights).
FORWARD_CODES = ("INI101", "INI102", "INI103", "INI104")

#: One measure per rule code. To confirm a new rule, add its function here (and its code to
#: FORWARD_CODES when it needs a forward pass); nothing else dispatches on codes.
MEASURES: dict[str, Measure] = {
    "INI101": measure_collapse, "INI102": measure_collapse, "INI103": measure_gain,
    "INI104": measure_growth, "INI202": measure_default, "INI203": measure_default,
    "INI204": measure_gamma, "INI205": measure_padding, "INI206": measure_bias,
    "INI207": measure_norm_scale,
}


def json_safe(value: Any) -> Any:
    """Evidence goes into JSON: NaN and inf become strings ("inf"), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _r(value: float | None) -> float | None:
    if value is None or math.isinf(value) or math.isnan(value):
        return value
    return float(f"{value:.4g}")


def evidence_for(finding: Finding, runs: list[ModelRun],
                 skipped: dict[str, Skipped]) -> RuntimeEvidence | None:
    """The runtime verdict on one finding; None for rules the runtime cannot measure."""
    measure = MEASURES.get(finding.code)
    if (measure is None and finding.code not in confirm_params.CODES) or not finding.subject:
        return None
    key, paths = parse_subject(finding.subject)
    found = locate(runs, key)
    if found is None:
        reason = (skipped[key].reason if key in skipped else
            "no built model holds it (name a factory under [tool.initlint.runtime] models)")
        return RuntimeEvidence("not-run", (("model", key),),
                               f"`{key.rsplit('.', 1)[-1]}` was not built: "
                               f"{reason}")
    run, prefix = found
    if finding.code in confirm_params.CODES:  # read from the parameters, not the forward
        found_evidence = confirm_params.evidence(finding.code, run, prefix, paths)
        if found_evidence is not None:
            pairs = (("model", run.label), *found_evidence.evidence)
            return RuntimeEvidence(found_evidence.status, tuple(
                (k, json_safe(v)) for k, v in pairs), found_evidence.summary)
    if measure is None:  # not reached: confirm_params.evidence answers each of its CODES
        return None
    if finding.code in FORWARD_CODES and not run.ran:
        return RuntimeEvidence("not-run", (("model", run.label),),
                               f"{run.label}: {run.note or 'no forward pass'}, so the signal "
                               "could not be measured")
    if run.nonfinite:
        return RuntimeEvidence("not-run", (("model", run.label),),
                               f"the forward pass of {run.label} is not finite "
                               f"({run.nonfinite})")
    if any("?" in p for p in paths):
        return RuntimeEvidence("not-run", (("model", run.label),),
                               "the static analysis could not name the layers "
                               f"({', '.join(paths[:3])}), so they cannot be matched")
    full = [_join(prefix, p) for p in paths] or [prefix]
    if finding.code == "INI104":
        full = [p[:-2] if p.endswith(".*") else p for p in full]
    evidence = measure(run, expand_all(run, full) or full)
    where = (("model", run.label), ("input_shape", list(run.input_shape)))
    pairs = tuple((k, json_safe(v)) for k, v in where + evidence.evidence)
    return RuntimeEvidence(evidence.status, pairs, evidence.summary)


def attach_evidence(findings: list[Finding], runs: list[ModelRun],
                    skipped: list[Skipped]) -> list[Finding]:
    by_key = {s.key: s for s in skipped if s.key}
    out = []
    for finding in findings:
        evidence = evidence_for(finding, runs, by_key)
        out.append(finding if evidence is None else finding.with_runtime(evidence))
    return out
