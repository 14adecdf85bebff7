"""The per-layer table of each measured model, for people (text output).

Every printed quantity is explained once, in LEGEND, one line each. Names that come from
the model (module paths, class names, reasons) are printed through ``printable``
(``report.escape.text``): a module registered as ``"\\x1b[2J"`` must not clear the screen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from initlint.report import escape
from initlint.runtime.confirm import fmt
from initlint.runtime.results import LayerStats, ModelRun, RuntimeReport, Skipped
from initlint.runtime.stream import points

COLUMNS = ("layer", "type", "in std", "out std", "driven", "×ref", "bias", "dead", "w/He",
           "w/xavier", "grad")

LEGEND = (
    "Runtime columns (one forward pass in train mode, one backward pass, on a seeded batch):",
    "  in std, out std  std of the layer's input and output, bias included",
    "  driven           the part of the output's std that varies with the input "
    "(√signal · rms): the measure the static why uses",
    "  ×ref             driven / the model's reference (the input-driven std at the first "
    "residual block's input, else at the first weight layer's input)",
    "  bias             share of the output's second moment that does not vary with the "
    "input (bias, constant offsets): 1 = the output is its bias",
    "  dead             ReLU units that are 0 for every sample in the batch",
    "  w/He, w/xavier   weight std over √(2/fan_in) (He) and √(2/(fan_in+fan_out)) "
    "(xavier); PyTorch's default is 0.41 of He",
    "  grad             norm of the weight's gradient after the backward pass",
    "  residual stream  std at each residual block's input and outputs, and its ×ref",
)


def printable(text: str) -> str:
    """Text from the model's code (names, reasons, its output) made safe for one line."""
    return escape.text(text)


def _ratio(value: float | None, reference: float | None) -> str:
    return "-" if value is None or not reference else fmt(value / reference)


def _row(layer: LayerStats, label: str, reference: float | None) -> tuple[str, ...]:
    he = (layer.weight_std / layer.he_std if layer.weight_std is not None and layer.he_std
        else None)
    xavier = (layer.weight_std / layer.xavier_std if layer.weight_std is not None and
        layer.xavier_std else None)
    share = layer.bias_share
    return (printable(label), printable(layer.type),
            fmt(layer.in_std) if layer.in_std is not None else "-",
            fmt(layer.out_std) if layer.out_std is not None else "-",
            fmt(layer.driven_std) if layer.driven_std is not None else "-",
            _ratio(layer.driven_std, reference),
            "-" if share is None else f"{share:.2f}",
            "-" if layer.dead is None else f"{layer.dead:.2f}",
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


def _grid(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]


def stream_lines(run: ModelRun) -> list[str]:
    """One small table per residual stream: block, side, std, driven, ×ref."""
    out = []
    for stream in run.streams:
        found = points(run.layers, stream)
        if not found:
            continue
        rows = [("block", "", "std", "driven", "×ref")]
        rows += [(printable(p.block), p.side, fmt(p.std), fmt(p.driven),
                  _ratio(p.driven, run.reference_std)) for p in found]
        out.append(f"  residual stream: {len(found) - 1} blocks "
                   f"({printable(stream[0])} … {printable(stream[-1])})")
        out += ["  " + line for line in _grid(rows)]
    return out


def model_table(run: ModelRun) -> str:
    where = f" ({printable(run.reference_at)})" if run.reference_at else ""
    head = (f"Runtime: {printable(run.label)}: input {printable(run.inputs or '?')} on "
            f"{run.device}, {run.seconds:.2f} s; reference: input-driven std "
            f"{fmt(run.reference_std)}{where}" if run.ran else
            f"Runtime: {printable(run.label)}: weights only ({printable(run.note)})")
    leaves = run.leaves if run.ran else run.uncalled
    rows = [COLUMNS] + [_row(layer, label, run.reference_std)
                        for layer, label in zip(leaves, _labels(leaves), strict=True)]
    lines = [head, *_grid(rows), *stream_lines(run), "  " + model_summary(run)]
    return "\n".join(lines)


def model_summary(run: ModelRun) -> str:
    if run.nonfinite:
        return f"not finite: {printable(run.nonfinite)}"
    weights = [w for w in run.weight_layers() if w.driven_std is not None]
    parts = []
    if weights:
        last = weights[-1]
        parts.append(f"input-driven std {fmt(run.reference_std)} (reference) → "
                     f"{fmt(last.driven_std)} at `{printable(last.path)}` over {len(weights)} "
                     f"weight layers (std with bias {fmt(last.out_std)})")
    grad = run.grad_ratio()
    if grad is not None:
        parts.append(f"gradient ratio first/last weight layer {fmt(grad)}")
    if run.note and run.ran:
        parts.append(printable(run.note))
    return "; ".join(parts) or "no weight layers"


def skipped_line(skipped: Skipped) -> str:
    """One line; the model's last line of output, when it printed one, ends it."""
    last = next((line.strip() for line in reversed(skipped.output.splitlines())
                 if line.strip()), "")
    tail = f" (its last output: {printable(last[-160:])})" if last else ""
    return f"Runtime: skipped {printable(skipped.label)}: {printable(skipped.reason)}{tail}"


def problem_lines(report: RuntimeReport) -> list[str]:
    """One line per model that was skipped or did not stay finite (for stderr)."""
    lines = [skipped_line(s) for s in report.skipped if not s.quiet]
    lines += [f"Runtime: {printable(run.label)}: {printable(run.nonfinite)}"
              for run in report.models if run.nonfinite]
    lines += [f"Runtime: {printable(run.label)}: weights only ({printable(run.note)})"
              for run in report.models if not run.ran]
    return lines


def render_report(report: RuntimeReport) -> str:
    """The legend, every model's table, then the skipped models, one line each."""
    blocks = ["\n".join(LEGEND)] if report.models else []
    blocks += [model_table(run) for run in report.models]
    skipped = [skipped_line(s) for s in report.skipped if not s.quiet]
    if skipped:
        blocks.append("\n".join(skipped))
    if not report.models and not skipped:
        blocks.append("Runtime: no model was built (no nn.Module class in the linted files "
                      "can be built without arguments; name factories under "
                      "[tool.initlint.runtime] models)")
    return "\n\n".join(blocks) + "\n"
