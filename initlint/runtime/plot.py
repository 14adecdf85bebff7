"""``--runtime-plot PATH``: one panel per model (the worst ``MAX_PANELS``), input-driven std
per weight layer against the model's reference, the residual stream beside it, and each
finding marked on the layers it names."""

from __future__ import annotations

import math
from collections.abc import Sequence

from initlint.core.findings import Finding
from initlint.runtime.confirm import expand_all, locate, parse_subject
from initlint.runtime.options import RuntimeSetupError
from initlint.runtime.results import LayerStats, ModelRun
from initlint.runtime.stream import points

MAX_PANELS = 12
COLUMNS = 3


def require_matplotlib() -> None:
    """Fail before anything runs, not after minutes of measuring."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RuntimeSetupError("--runtime-plot needs matplotlib: pip install "
                                "'initlint[plot]'") from None


def _weights(run: ModelRun) -> list[tuple[LayerStats, float]]:
    """The weight layers whose input-driven std was measured, each with that std."""
    return [(w, std) for w in run.weight_layers() if (std := w.driven_std) is not None]


def badness(run: ModelRun, marks: dict[str, list[str]]) -> float:
    """How far the model's signal strays from its reference (findings first)."""
    reference = run.reference_std or 1.0
    spread = max((abs(math.log(max(std, 1e-12) / reference)) for _, std in _weights(run)),
                 default=0.0)
    return spread + (100.0 if marks else 0.0)


def marks_for(run: ModelRun, findings: list[Finding]) -> dict[str, list[str]]:
    """Layer path → the codes of the findings that name it in this model."""
    out: dict[str, list[str]] = {}
    for finding in findings:
        if not finding.subject or finding.runtime is None:
            continue
        key, paths = parse_subject(finding.subject)
        found = locate([run], key)
        if found is None:
            continue
        prefix = found[1]
        full = [f"{prefix}.{p}" if prefix and p else prefix or p for p in paths] or [prefix]
        for path in expand_all(run, full) or full:
            out.setdefault(path, []).append(finding.code)
    return out


def _panel(axis, run: ModelRun, marks: dict[str, list[str]]) -> None:
    reference = run.reference_std or 1.0
    weights = _weights(run)
    xs = list(range(1, len(weights) + 1))
    axis.plot(xs, [max(std / reference, 1e-12) for _, std in weights],
              marker="." if len(xs) < 60 else None, linewidth=1, label="weight layers")
    for stream in run.streams:
        found = points(run.layers, stream)
        block_end = {layer.path: layer.end for layer in run.layers}
        place = [sum(1 for w, _ in weights if w.end <= block_end.get(p.block, 0)) + 0.5
                 if p.side == "out" else 0.5 for p in found]
        axis.plot(place, [max((p.std or 0) / reference, 1e-12) for p in found],
                  color="tab:orange", linewidth=1.2, marker="s", markersize=2,
                  label="residual stream" if stream is run.streams[0] else None)
    labelled: set[str] = set()
    for index, (layer, std) in enumerate(weights, 1):
        block = next((path for path in marks if layer.path == path or
                      layer.path.startswith(path + ".")), None)
        if block is None:
            continue
        axis.plot([index], [max(std / reference, 1e-12)], "o",
                  color="tab:red", markersize=6, fillstyle="none")
        label = ",".join(sorted(set(marks[block])))
        if label not in labelled:  # once per finding: the first layer it names
            labelled.add(label)
            axis.annotate(label, (index, std / reference), fontsize=6,
                          color="tab:red", xytext=(2, 4), textcoords="offset points")
    axis.set_yscale("log")
    axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axis.set_title(run.label.rsplit(".", 1)[-1][:40], fontsize=8)
    axis.tick_params(labelsize=6)


def figure_for(runs: list[ModelRun], findings: Sequence[Finding] = (),
               path: str | None = None):
    """The figure (one panel per model, the worst MAX_PANELS), saved to ``path`` if given."""
    require_matplotlib()
    import matplotlib.pyplot as plt

    drawn = [run for run in runs if run.ran and not run.nonfinite and _weights(run)]
    marks = {id(run): marks_for(run, list(findings)) for run in drawn}
    drawn.sort(key=lambda run: badness(run, marks[id(run)]), reverse=True)
    shown = drawn[:MAX_PANELS]
    rows = max(1, math.ceil(len(shown) / COLUMNS))
    columns = min(COLUMNS, max(1, len(shown)))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows),
                                squeeze=False)
    for axis, run in zip(axes.flat, shown, strict=False):
        _panel(axis, run, marks[id(run)])
    for axis in list(axes.flat)[len(shown):]:
        axis.set_visible(False)
    if shown:
        axes.flat[0].legend(fontsize=6, loc="best")
    more = (f" (the {len(shown)} worst of {len(drawn)} models)" if len(drawn) > len(shown)
        else "")
    figure.suptitle("initlint runtime: input-driven std / reference per weight layer\n"
                    f"orange: residual stream; red: findings{more}", fontsize=8)
    figure.supxlabel("weight layer (Linear/Conv, in call order)", fontsize=8)
    figure.supylabel("std / reference (log)", fontsize=8)
    figure.tight_layout()
    if path is not None:
        try:
            figure.savefig(path, dpi=110)
        except OSError as exc:
            plt.close(figure)
            raise RuntimeSetupError(f"--runtime-plot: cannot write {path}: {exc}") from None
    return figure


def write_plot(runs: list[ModelRun], path: str, findings: Sequence[Finding] = ()) -> None:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close(figure_for(runs, findings, path))
