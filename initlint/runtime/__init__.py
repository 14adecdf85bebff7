"""Runtime mode: build the linted models and confirm findings on real tensors.

The only part of initlint that imports torch or runs user code, and only when asked
(``--runtime``). Nothing here imports torch at import time; ``run_runtime`` does.
"""

from __future__ import annotations

from collections.abc import Callable

from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.runtime.options import RuntimeOptions, RuntimeSetupError, runtime_options

__all__ = ["RuntimeOptions", "RuntimeSetupError", "run_for_cli", "runtime_options"]


def run_for_cli(files: list[str], findings: list[Finding], config: Config, device: str | None,
                models: tuple[str, ...], plot: str | None, output_format: str,
                echo: Callable[[str], None],
                only_named: bool = False) -> tuple[list[Finding], str]:
    """What ``initlint check --runtime`` does after the static pass.

    Returns (findings with evidence, text for stdout after the findings). Problems with a
    model go to stdout in text output and to stderr (via ``echo``) otherwise, so machine
    formats stay parseable. Raises RuntimeSetupError for what stops the run (exit 2).
    """
    import sys

    from initlint.runtime.session import run_runtime
    from initlint.runtime.table import problem_lines, render_report

    options = runtime_options(config, device=device, models=tuple(models), plot=plot,
                              only_named=only_named)
    if plot:
        from initlint.runtime.plot import require_matplotlib

        require_matplotlib()
    from initlint.report.escape import text

    progress = ((lambda message: echo(f"initlint: runtime {text(message)}"))
        if sys.stderr.isatty() else None)
    report = run_runtime(files, findings, config, options, progress)
    if plot:
        from initlint.runtime.plot import write_plot

        write_plot(report.models, plot, report.findings)
    if output_format == "text":
        return report.findings, "\n" + render_report(report)
    for line in problem_lines(report):
        echo(line)
    return report.findings, ""
