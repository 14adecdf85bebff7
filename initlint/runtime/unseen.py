"""Findings only the runtime sees: a collapse or an explosion the static analysis missed
(a chain built in a loop, a custom block it could not follow). Stricter thresholds than
confirmation, since no static reasoning backs them, and only on models that no static
signal finding already speaks about."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from initlint import torch_api as api
from initlint.config import Config
from initlint.findings import Finding, RuntimeEvidence, Severity, Span
from initlint.runtime.confirm import DISCOVER_COLLAPSE, DISCOVER_GROWTH, fmt, json_safe
from initlint.runtime.confirm import parse_subject as _parse
from initlint.runtime.results import ModelRun
from initlint.selection import enabled_codes
from initlint.suppress import suppress

if TYPE_CHECKING:
    from initlint.runtime.session import StaticView

SIGNAL_CODES = ("INI101", "INI102", "INI103", "INI104", "INI207")
WEIGHT_TYPES = frozenset(cls.rsplit(".", 1)[-1] for cls, kind in api.LAYERS.items()
                         if kind.family in api.WEIGHT_LAYER_FAMILIES)


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


def _collapse(run: ModelRun, config: Config, files: dict[str, str]) -> Finding | None:
    # zero-initialized layers (Fixup, zero heads) output 0 on purpose: not a collapse
    chain = [w for w in run.weight_layers() if w.type in WEIGHT_TYPES and w.driven_std
             is not None and w.weight_std]
    if len(chain) < config.min_depth or not chain[0].driven_std:
        return None
    # the input-driven std, not the std: on default init the bias keeps the std up (width
    # 16: ≈ 0.14) while the output stops depending on the input
    ratio = chain[-1].driven_std / chain[0].driven_std
    if ratio >= DISCOVER_COLLAPSE:
        return None
    name = run.label.rsplit(".", 1)[-1]
    signal = chain[-1].signal
    summary = (f"input-driven std {fmt(chain[0].driven_std)} → {fmt(chain[-1].driven_std)} "
               f"over {len(chain)} weight layers (std {fmt(chain[0].out_std)} → "
               f"{fmt(chain[-1].out_std)}, signal fraction {fmt(signal)} at `{chain[-1].path}`)")
    grad = run.grad_ratio()
    if grad is not None:
        summary += f", gradient ratio first/last {fmt(grad)}"
    return _finding(
        run, "INI101",
        f"measured: the signal collapses ×{fmt(ratio)} through {len(chain)} weight layers of "
        f"`{name}` ({chain[0].path} → {chain[-1].path})",
        "The runtime mode built this model and fed it a batch: the part of each layer's "
        "output that depends on the input shrinks layer after layer, and what is left at the "
        "end is mostly the bias. The static analysis did not see this chain (built in a loop "
        "or through code it cannot follow). Initialize the layers for their activation (He "
        "for ReLU) or add normalization between them.",
        (("model", run.label), ("driven_std", [w.driven_std for w in chain]),
         ("layer_std", [w.out_std for w in chain]), ("ratio", float(f"{ratio:.4g}")),
         ("signal_fraction_end", signal),
         ("grad_ratio", None if grad is None else float(f"{grad:.4g}"))),
        summary, [w.path for w in chain], files)


def _growth(run: ModelRun, residual: bool, files: dict[str, str]) -> Finding | None:
    chain = [w for w in run.weight_layers() if w.out_std is not None]
    if not chain or not run.reference_std:
        return None
    peak = max(chain, key=lambda w: w.out_std)
    growth = peak.out_std / run.reference_std
    if growth <= DISCOVER_GROWTH:
        return None
    name = run.label.rsplit(".", 1)[-1]
    code = "INI104" if residual else "INI103"
    where = "through its residual blocks" if residual else "through its layers"
    return _finding(
        run, code,
        f"measured: activations grow ×{fmt(growth)} {where} in `{name}` (largest at "
        f"`{peak.path}`)",
        "The runtime mode built this model and fed it a unit-variance batch: the output std "
        f"of `{peak.path}` is {fmt(peak.out_std)}. "
        + ("Residual branches add up without normalization or scaling; zero-initialize the "
           "last layer of each branch or scale it by 1/√(2·n_blocks)." if residual else
           "The init gains are too large for the activations; use He for ReLU, xavier for "
           "tanh."),
        (("model", run.label), ("growth", float(f"{growth:.4g}")), ("peak_layer", peak.path),
         ("peak_std", peak.out_std)),
        f"std {fmt(run.reference_std)} → {fmt(peak.out_std)} at `{peak.path}` "
        f"(×{fmt(growth)})", [peak.path], files)


def discovered_findings(runs: list[ModelRun], findings: list[Finding], view: StaticView,
                        config: Config, files: list[str] = ()) -> list[Finding]:
    """New findings for what the measurements show and no static finding explains."""
    enabled = enabled_codes(config)
    by_abs = {os.path.abspath(f): f for f in [*files, *view.facts]}
    out: list[Finding] = []
    for run in runs:
        if run.nonfinite or not run.path or _spoken_for(run, findings):
            continue
        residual = _residual(run, view)
        # in a residual network the weight layers are no chain: the identity path carries
        # the signal past a branch that shrinks it
        found = [None if residual else _collapse(run, config, by_abs),
                 _growth(run, residual, by_abs)]
        for finding in (f for f in found if f is not None):
            facts = view.facts.get(finding.path)
            out += suppress([finding], facts, config, enabled)
    return out
