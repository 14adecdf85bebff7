"""The per-layer table of each measured model, for people (text output)."""

from __future__ import annotations

from collections import Counter

from initlint.runtime.confirm import fmt
from initlint.runtime.results import LayerStats, ModelRun, RuntimeReport, Skipped

COLUMNS = ("layer", "type", "out std", "×input", "dead", "signal", "w std/He", "w std/Xavier",
           "grad norm")


def _row(layer: LayerStats, label: str, reference: float | None) -> tuple[str, ...]:
    ratio = layer.out_std / reference if layer.out_std is not None and reference else None
    he = layer.weight_std / layer.he_std if layer.weight_std is not None and layer.he_std \
        else None
    xavier = layer.weight_std / layer.xavier_std if layer.weight_std is not None and \
        layer.xavier_std else None
    return (label, layer.type, "-" if layer.out_std is None else fmt(layer.out_std),
            "-" if ratio is None else fmt(ratio),
            "-" if layer.dead is None else f"{layer.dead:.2f}",
            "-" if layer.signal is None else f"{layer.signal:.2f}",
            "-" if he is None else f"{he:.2f}",
            "-" if xavier is None else f"{xavier:.2f}",
            "-" if layer.grad_norm is None else fmt(layer.grad_norm))


def _labels(layers: tuple[LayerStats, ...]) -> list[str]:
    """``act``, ``act#2``…: a module called several times gets one row per call."""
    seen: Counter[str] = Counter()
    out = []
    for layer in layers:
        seen[layer.path] += 1
        name = layer.path or "<model>"
        out.append(name if seen[layer.path] == 1 else f"{name}#{seen[layer.path]}")
    return out


def model_table(run: ModelRun) -> str:
    shape = ", ".join(map(str, run.input_shape))
    kind = "token ids" if run.input_dtype == "long" else "float32"
    head = (f"Runtime: {run.label}: input ({shape}) {kind} on {run.device}, "
            f"{run.seconds:.2f} s" if run.ran else
            f"Runtime: {run.label}: weights only (it defines no forward())")
    leaves = run.leaves if run.ran else run.uncalled
    rows = [COLUMNS] + [_row(layer, label, run.reference_std)
                        for layer, label in zip(leaves, _labels(leaves), strict=True)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [head] + ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths,
                                                                          strict=True)).rstrip()
                      for r in rows]
    lines.append("  " + model_summary(run))
    return "\n".join(lines)


def model_summary(run: ModelRun) -> str:
    if run.nonfinite:
        return f"not finite: {run.nonfinite}"
    weights = [w for w in run.weight_layers() if w.out_std is not None]
    parts = []
    if weights:
        parts.append(f"std {fmt(run.reference_std)} (input) → {fmt(weights[-1].out_std)} at "
                     f"`{weights[-1].path}` over {len(weights)} weight layers")
    grad = run.grad_ratio()
    if grad is not None:
        parts.append(f"gradient ratio first/last weight layer {fmt(grad)}")
    if run.note:
        parts.append(run.note)
    return "; ".join(parts) or "no weight layers"


def skipped_line(skipped: Skipped) -> str:
    return f"Runtime: skipped {skipped.label}: {skipped.reason}"


def problem_lines(report: RuntimeReport) -> list[str]:
    """One line per model that was skipped or did not stay finite (for stderr)."""
    lines = [skipped_line(s) for s in report.skipped if not s.quiet]
    lines += [f"Runtime: {run.label}: {run.nonfinite}" for run in report.models if run.nonfinite]
    return lines


def render_report(report: RuntimeReport) -> str:
    """Every model's table, then the skipped models, one line each."""
    blocks = [model_table(run) for run in report.models]
    skipped = [skipped_line(s) for s in report.skipped if not s.quiet]
    if skipped:
        blocks.append("\n".join(skipped))
    if not blocks:
        blocks.append("Runtime: no model was built (no nn.Module class in the linted files "
                      "can be built without arguments; name factories under "
                      "[tool.initlint.runtime] models)")
    return "\n\n".join(blocks) + "\n"
