"""``--runtime-plot PATH``: activation std per layer, one line per model, as a PNG."""

from __future__ import annotations

from initlint.runtime.options import RuntimeSetupError
from initlint.runtime.results import ModelRun


def require_matplotlib() -> None:
    """Fail before anything runs, not after minutes of measuring."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RuntimeSetupError("--runtime-plot needs matplotlib: pip install "
                                "'initlint[plot]'") from None


def write_plot(runs: list[ModelRun], path: str) -> None:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 5.5))
    try:
        for run in runs:
            # weight layers only: activations and norms in between make a saw-tooth that
            # hides the trend
            leaves = [layer for layer in run.weight_layers() if layer.out_std is not None] or \
                [layer for layer in run.leaves if layer.out_std is not None]
            if not leaves or run.nonfinite:
                continue
            reference = run.reference_std or 1.0
            xs = list(range(1, len(leaves) + 1))
            ys = [max(layer.out_std / reference, 1e-12) for layer in leaves]
            axis.plot(xs, ys, marker="." if len(xs) < 60 else None, label=run.label)
        from matplotlib.ticker import MaxNLocator

        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_yscale("log")
        axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
        axis.set_xlabel("weight layer (Linear/Conv, in call order)")
        axis.set_ylabel("output std / input std")
        axis.set_title("initlint runtime: activation std per layer at init (train mode)")
        if runs:
            axis.legend(fontsize="small", loc="best")
        figure.tight_layout()
        try:
            figure.savefig(path, dpi=110)
        except OSError as exc:
            raise RuntimeSetupError(f"--runtime-plot: cannot write {path}: {exc}") from None
    finally:
        plt.close(figure)
