"""Findings only the runtime sees, held to the static rules' standard of proof: they name
the layers, the measured factor, the init that causes it, and advice that fits the model.

Measured where init controls the signal:
- a block network (residual blocks found in the built model, ``stream.py``, or classes the
  static analysis saw adding a residual): its residual stream, block after block, against
  the first block's input. Only growth that keeps compounding counts: a pre-norm
  transformer's stream grows like √blocks by design (each block adds a bounded update);
  unnormalized He blocks double its variance every block;
- otherwise the plain chain of weight layers, in the input-driven std (the bias part is not
  signal), cut where a layer reads fewer values per sample than the one before wrote
  (pooling, a CLS token): averaging synthetic i.i.d. inputs removes variance no init causes.
Stricter thresholds than confirmation, and only on models that no static signal finding
already speaks about.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from initlint.checks.selection import enabled_codes
from initlint.checks.suppress import suppress
from initlint.core import torch_api as api
from initlint.core.config import Config
from initlint.core.findings import Finding, RuntimeEvidence, Severity, Span
from initlint.runtime.confirm import (
    ACTIVATION_NAMES,
    DISCOVER_COLLAPSE,
    DISCOVER_GROWTH,
    fmt,
    json_safe,
    per_step,
)
from initlint.runtime.confirm import parse_subject as _parse
from initlint.runtime.results import LayerStats, ModelRun
from initlint.runtime.static_view import StaticView
from initlint.runtime.stream import Point, points

SIGNAL_CODES = ("INI101", "INI102", "INI103", "INI104", "INI207")
WEIGHT_TYPES = frozenset(cls.rsplit(".", 1)[-1] for cls, kind in api.LAYERS.items()
                         if kind.family in api.WEIGHT_LAYER_FAMILIES)
#: A stream must keep growing by this much per block over its second half to be exploding
#: (He blocks without norm: ×1.41–1.73; a pre-norm transformer, measured: ×1.1–1.22).
COMPOUNDING = 1.35
MIN_BLOCKS = 4
#: Weight std within this of a known init counts as that init.
INIT_TOLERANCE = 0.15


def _spoken_for(run: ModelRun, findings: list[Finding]) -> bool:
    keys = {key for key, _ in run.instances}
    return any(f.code in SIGNAL_CODES and f.subject and _parse(f.subject)[0] in keys
               for f in findings)


def _residual(run: ModelRun, view: StaticView) -> bool:
    classes = {cls.qualname: cls for facts in view.facts.values() for cls in facts.classes}
    return any(getattr(classes.get(key), "residual", False) for key, _ in run.instances)


def _span(path: str, row: int) -> Span:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        line = lines[row - 1] if 0 < row <= len(lines) else ""
    except OSError:
        line = ""
    indent = len(line) - len(line.lstrip())
    return Span(row, indent + 1, row, max(len(line.rstrip()) + 1, indent + 2))


def _finding(run: ModelRun, code: str, message: str, why: str, evidence: tuple,
             summary: str, paths: list[str], files: dict[str, str]) -> Finding:
    path = files.get(os.path.abspath(run.path), run.path)
    subject = f"{run.key}::{','.join(paths)}"
    evidence = tuple((k, json_safe(v)) for k, v in evidence)
    return Finding(code, Severity.WARNING, path, _span(path, run.row), message, why,
                   runtime=RuntimeEvidence("confirmed", evidence, summary), subject=subject)


# --- what the layers were initialized with, and what they feed -----------------------------


def init_of(layers: list[LayerStats]) -> str:
    """The init the weights were drawn with, read from their std against each fan rule."""
    named: Counter[str] = Counter()
    fixed: list[tuple[float, float]] = []  # (weight std, He's std) of the layers off every rule
    for layer in layers:
        std, he = layer.weight_std, layer.he_std
        if not std or he is None:  # he_std is None exactly when fan_in is unknown or 0
            continue
        for name, expected in (("PyTorch's default kaiming_uniform_(a=√5)", layer.default_std),
                               ("He (kaiming, gain √2)", he),
                               ("xavier", layer.xavier_std)):
            if expected and abs(std / expected - 1) <= INIT_TOLERANCE:
                named[name] += 1
                break
        else:
            fixed.append((std, he))
    if fixed:  # one std for every fan (normal_(std=0.02)): name the std and its He ratio
        stds = sorted(std for std, _ in fixed)
        middle_std, middle_he = fixed[len(fixed) // 2]
        what = (f"a fixed std {fmt(stds[len(stds) // 2])}" if stds[-1] <= 1.2 * stds[0]
            else "stds off every fan rule")
        named[f"{what} (×{fmt(middle_std / middle_he)} of He)"] += len(fixed)
    if not named:
        return "an unknown init"
    name, count = named.most_common(1)[0]
    return name if count == sum(named.values()) else f"mostly {name}"


def activation_between(run: ModelRun, first: LayerStats, last: LayerStats) -> str | None:
    """The activation module most often called between two layers (torch_api's name)."""
    found = Counter(ACTIVATION_NAMES[c.type] for c in run.leaves
                    if first.start < c.start < last.end and c.type in ACTIVATION_NAMES)
    return found.most_common(1)[0][0] if found else None


def inferred_activation(run: ModelRun, chain: list[LayerStats]) -> str | None:
    """A functional activation (``torch.relu(layer(x))``) told by what the next layers read:
    ≥ 0 with many exact zeros is ReLU, [-1, 1] is tanh."""
    names = [_inferred(run, layer) for layer in chain[:-1]]
    found = Counter(n for n in names if n)
    return (found.most_common(1)[0][0] if found and found.most_common(1)[0][1] * 2 >
        len(names) else None)


def _inferred(run: ModelRun, layer: LayerStats) -> str | None:
    from initlint.runtime.confirm import _inferred_activation

    found = _inferred_activation(run, layer)
    if found is None:
        return None
    return {"tanh": "tanh", "sigmoid": "sigmoid", "ReLU": "relu"}.get(found[0].split()[0])


def _chain_advice(act: str | None, shrinking: bool) -> str:
    if act is None:
        return ("Draw each layer's weights at std √(gain²/fan_in) for the activation that "
                "follows it, or add normalization between the layers.")
    gain2 = api.variance_to_keep(act)
    if gain2 == 2.0 or act in ("leaky_relu", "prelu", "rrelu"):
        rule = f"kaiming_normal_(w, nonlinearity='{'relu' if gain2 == 2.0 else act}')"
    elif gain2 == 1.0:
        rule = "xavier_uniform_(w)" + (" (gain 5/3 for tanh)" if act == "tanh" else "")
    else:
        rule = "kaiming_normal_(w, nonlinearity='relu') (close enough for smooth ReLUs)"
    fix = f"Initialize them for {act} with {rule}"
    return fix + (", or add normalization between them." if shrinking else
                  ", which keeps the std flat; or add normalization between them.")


# --- plain chains --------------------------------------------------------------------------


def chain_segments(run: ModelRun) -> list[list[LayerStats]]:
    """Runs of weight layers in call order, cut where a layer reads fewer values per sample
    than its predecessor wrote (pooling, token selection: no init causes that drop)."""
    layers = [w for w in run.weight_layers() if w.type in WEIGHT_TYPES and
              w.driven_std is not None and w.weight_std]
    segments: list[list[LayerStats]] = []
    for layer in layers:
        last = segments[-1][-1] if segments else None
        if last is not None and (layer.in_units is None or last.out_units is None or
                                 layer.in_units >= last.out_units):
            segments[-1].append(layer)
        else:
            segments.append([layer])
    return segments


def _chain(run: ModelRun, config: Config, files: dict[str, str]) -> Finding | None:
    for chain in chain_segments(run):
        first, last = chain[0].driven_std, chain[-1].driven_std
        # chain_segments keeps measured layers only (last is never None); a 0 has no ratio
        if len(chain) < config.min_depth or not first or last is None:
            continue
        ratio = last / first
        if DISCOVER_COLLAPSE <= ratio <= DISCOVER_GROWTH:
            continue
        shrinking = ratio < 1
        per_layer = ratio ** (1 / (len(chain) - 1))
        act = activation_between(run, chain[0], chain[-1]) or inferred_activation(run, chain)
        init = init_of(chain)
        name = run.label.rsplit(".", 1)[-1]
        layers = f"{chain[0].path} → {chain[-1].path}"
        verb = "collapses" if shrinking else "grows"
        factor, step = per_step(ratio), per_step(per_layer)  # ×0 when the signal died
        signal = chain[-1].signal
        summary = (f"input-driven std {fmt(chain[0].driven_std)} → {fmt(chain[-1].driven_std)}"
                   f" over {len(chain)} weight layers ({step} per layer); with the bias the "
                   f"std is {fmt(chain[-1].out_std)} at `{chain[-1].path}` (signal fraction "
                   f"{fmt(signal)})")
        grad = run.grad_ratio()
        if grad is not None:
            summary += f", gradient ratio first/last {fmt(grad)}"
        why = (f"The runtime mode built this model and fed it a batch: through these "
               f"{len(chain)} weight layers ({init}"
               + (f", {act} between them" if act else "") + ") the part of each layer's "
               f"output that depends on the input changes {step} per layer, {factor} in all"
               + (", so what reaches the end is mostly bias." if shrinking else ".")
               + " The static analysis could not prove it (the chain or its init goes "
               "through code it cannot follow). " + _chain_advice(act, shrinking))
        return _finding(
            run, "INI101" if shrinking else "INI103",
            f"measured: the signal {verb} {factor} through {len(chain)} weight layers of "
            f"`{name}` ({layers}, {init})", why,
            (("model", run.label), ("driven_std", [w.driven_std for w in chain]),
             ("layer_std", [w.out_std for w in chain]), ("ratio", float(f"{ratio:.4g}")),
             ("per_layer", float(f"{per_layer:.4g}")), ("init", init), ("activation", act),
             ("signal_fraction_end", signal),
             ("grad_ratio", None if grad is None else float(f"{grad:.4g}"))),
            summary, [w.path for w in chain], files)
    return None


# --- residual streams ----------------------------------------------------------------------


def compounding(stream: list[Point]) -> float | None:
    """Per-block growth of the stream over its second half (None: too short)."""
    outs = [p.std for p in stream if p.side == "out"]
    if len(outs) < MIN_BLOCKS:
        return None
    half, last = outs[len(outs) // 2 - 1], outs[-1]
    if not half or last is None:
        return None
    return (last / half) ** (1 / (len(outs) - len(outs) // 2))


def _branch_last_layers(run: ModelRun, blocks: list[str]) -> list[LayerStats]:
    """The last weight layer called inside each block (the end of its branch)."""
    out = []
    for block in blocks:
        inside = [w for w in run.weight_layers() if w.path.startswith(block + ".")]
        if inside:
            out.append(max(inside, key=lambda w: w.end))
    return out


def _streams(run: ModelRun, files: dict[str, str]) -> Finding | None:
    for stream in run.streams:
        found = points(run.layers, stream)
        per_block = compounding(found)
        if per_block is None:  # too short (past here, found holds MIN_BLOCKS outputs)
            continue
        first, last = found[0].std, found[-1].std
        if not first or last is None:  # last is set: the output compounding read last
            continue
        growth = last / first
        if growth <= DISCOVER_GROWTH or per_block < COMPOUNDING:
            continue
        blocks = [p.block for p in found if p.side == "out"]
        lasts = _branch_last_layers(run, blocks)
        init = init_of(lasts) if lasts else "an unknown init"
        name = run.label.rsplit(".", 1)[-1]
        norms = any(c.type in api_norm_types() for c in run.leaves
                    if c.path.startswith(blocks[0] + "."))
        advice = ("Zero-initialize the last layer of each block's branch"
                  + (f" (`{lasts[0].path.rsplit('.', 1)[-1]}`)" if lasts else "")
                  + f" or scale it by 1/√(2·{len(blocks)}), as Fixup and GPT-2 do"
                  + ("" if norms else ", or add a norm layer to each branch") + ".")
        stds = [p.std for p in found]
        return _finding(
            run, "INI104",
            f"measured: the residual stream of `{name}` grows ×{fmt(growth)} over "
            f"{len(blocks)} blocks ({blocks[0]} → {blocks[-1]}, ×{fmt(per_block)} per block "
            "and still compounding)",
            f"The runtime mode built this model and fed it a batch: the std of the residual "
            f"stream goes {fmt(found[0].std)} (input of `{blocks[0]}`) → {fmt(found[-1].std)} "
            f"(output of `{blocks[-1]}`). Each block adds a branch whose last layer "
            f"({', '.join(f'`{w.path}`' for w in lasts[:2])}{'…' if len(lasts) > 2 else ''}) "
            f"is drawn with {init}, so every block multiplies the stream's variance instead "
            f"of adding a bounded update. " + advice,
            (("model", run.label), ("stream_std", stds), ("growth", float(f"{growth:.4g}")),
             ("per_block", float(f"{per_block:.4g}")), ("blocks", len(blocks)),
             ("init", init)),
            f"stream std {fmt(found[0].std)} → {fmt(found[-1].std)} over {len(blocks)} blocks "
            f"(×{fmt(per_block)} per block in the second half)",
            blocks, files)
    return None


def api_norm_types() -> frozenset[str]:
    return frozenset(cls.rsplit(".", 1)[-1] for cls, kind in api.LAYERS.items()
                     if kind.family == "norm")


def discovered_findings(runs: list[ModelRun], findings: list[Finding], view: StaticView,
                        config: Config, files: Sequence[str] = (),
                        silenced: list[Finding] | None = None) -> list[Finding]:
    """New findings for what the measurements show and no static finding explains (those a
    ``# noqa`` silences go to ``silenced``: that directive is used after all)."""
    enabled = enabled_codes(config)
    by_abs = {os.path.abspath(f): f for f in [*files, *view.facts]}
    out: list[Finding] = []
    for run in runs:
        if run.nonfinite or not run.path or not run.ran or _spoken_for(run, findings):
            continue
        blocky = bool(run.streams) or _residual(run, view)
        found = _streams(run, by_abs) if blocky else _chain(run, config, by_abs)
        if found is not None:
            facts = view.facts.get(found.path)
            kept = suppress([found], facts, config, enabled)
            out += kept
            if not kept and silenced is not None:
                silenced.append(found)
    return out


def used_noqa_dropped(findings: list[Finding], silenced: list[Finding]) -> list[Finding]:
    """``findings`` without the INI901 (unused-noqa) ones whose directive silenced a
    finding only the measurements found (the static analysis could not see it used)."""
    answered = {(f.path, f.span.row, f.code) for f in silenced}
    return [f for f in findings if f.code != "INI901" or not any(
        (f.path, f.span.row, code) in answered
        for code in f.subject.removeprefix("noqa:").split(", "))]
