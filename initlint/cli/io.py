"""``initlint check``'s input and output options: stdin, the report's destination, its
verbosity and colour, ``--add-noqa`` and ``--watch``.

They come as one decorator, :func:`io_options`, which folds them into one ``io`` argument
(:class:`IOOptions`) and runs the two modes that wrap a whole check: reading stdin
(``initlint -``, :mod:`initlint.cli.stdin`) and watching for changes
(:mod:`initlint.cli.watch`). Everything after the findings exist is :func:`emit`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

import click

from initlint.checks import ALL_RULES
from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.files.notebook import Notebook, is_notebook, to_cells
from initlint.report import REPORTERS, STYLED, escape
from initlint.report.location import source_key
from initlint.report.style import PLAIN, Style, wants_color
from initlint.report.text_format import summary

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: The environment variable that picks the output format (as ruff's RUFF_OUTPUT_FORMAT):
#: ``--output-format`` wins over it, and it over the config's ``output-format``.
OUTPUT_FORMAT_ENV = "INITLINT_OUTPUT_FORMAT"
#: Past this many findings a report for people ends with the count per rule.
SUMMARY_TABLE_AFTER = 20


class OutputFormatError(ValueError):
    """An output format named in the environment that initlint does not have."""


def output_format_for(option: str | None, config: Config) -> str:
    """The format to print in: ``--output-format``, else ``$INITLINT_OUTPUT_FORMAT``, else
    the config's ``output-format`` (checked when it was read), else ``text``."""
    if option:
        return option
    env = os.environ.get(OUTPUT_FORMAT_ENV, "").strip()
    if env:
        if env not in REPORTERS:
            raise OutputFormatError(f"{OUTPUT_FORMAT_ENV}={escape.text(env)} is not an output "
                                    f"format (one of {', '.join(sorted(REPORTERS))})")
        return env
    return config.output_format or "text"


@dataclass(frozen=True)
class IOOptions:
    """What ``check`` was asked about input and output (see the option help texts)."""

    stdin_filename: str | None = None
    output_file: str | None = None
    quiet: bool = False
    verbose: bool = False
    add_noqa: bool = False
    watch: bool = False
    started: float = 0.0  # time.perf_counter() when the command started (for -v)


NO_IO_OPTIONS = IOOptions()
#: Formats whose locations are file lines only (annotations, code scanning): a notebook
#: finding's message starts with its cell, the rows count from that cell.
CELL_IN_MESSAGE = frozenset({"github", "sarif"})

IO_OPTIONS = (
    click.option("--stdin-filename", metavar="PATH",
                 help="The name of the file read from stdin (`-`): findings are reported "
                      "under it, and its configuration and excludes apply."),
    click.option("--output-file", "-o", type=click.Path(dir_okay=False),
                 help="Write the report to this file instead of stdout."),
    click.option("--quiet", "-q", is_flag=True,
                 help="Print the findings only: no summary, no 'All checks passed!'."),
    click.option("--verbose", "-v", is_flag=True,
                 help="Also say on stderr which configuration and files were used, and how "
                      "long it took."),
    click.option("--add-noqa", is_flag=True,
                 help="Add `# noqa: CODE` comments that silence every current finding."),
    click.option("--watch", "-w", is_flag=True,
                 help="Lint, then lint again whenever a file under PATHS changes (Ctrl-C "
                      "stops)."),
)
IO_OPTION_NAMES = ("stdin_filename", "output_file", "quiet", "verbose", "add_noqa", "watch")


# --- output ------------------------------------------------------------------------------------

def cell_view(findings: Iterable[Finding],
              notebooks: dict[str, Notebook] | None = None) -> tuple[list[Finding],
                                                                      dict[str, Notebook]]:
    """Findings in notebooks moved to (cell, row); the notebooks read (or given) for it."""
    known = dict(notebooks or {})
    out = []
    for finding in findings:
        if finding.cell is None and is_notebook(finding.path):
            if finding.path not in known:
                try:
                    from initlint.files.notebook import load

                    known[finding.path] = load(finding.path)
                except (OSError, ValueError):
                    out.append(finding)
                    continue
            finding = to_cells(finding, known[finding.path])
        out.append(finding)
    return out, known


def sources_for(findings: Iterable[Finding], notebooks: dict[str, Notebook],
                given: dict[str, str] | None = None) -> dict[str, str]:
    """The texts excerpts come from: each file's, or for a notebook each cell's source."""
    from initlint.files.discover import read_source

    sources: dict[str, str] = {}
    for finding in findings:
        key = source_key(finding.path, finding.cell)
        if key in sources:
            continue
        if finding.cell is not None and finding.path in notebooks:
            sources[key] = notebooks[finding.path].cell_source(finding.cell)
        elif given is not None and finding.path in given:
            sources[key] = given[finding.path]
        else:
            sources[key] = read_source(finding.path).text
    return sources


def emit(findings: list[Finding], output_format: str, status: int, io: IOOptions, *,
         measured: str = "", notebooks: dict[str, Notebook] | None = None,
         texts: dict[str, str] | None = None, statistics: bool = False) -> None:
    """Print the report (stdout or ``--output-file``): the findings in ``output_format``,
    then, for people, a summary, or "All checks passed!" when there are no findings and
    nothing went wrong (``status`` is still clean). ``statistics``: a count per rule
    instead of the findings (JSON for ``json``, else a table), as ruff's ``--statistics``."""
    if statistics:
        body = statistics_report(findings, output_format, status, io.quiet)
        _write(io, body + measured if output_format == "json" else escape.lines(body + measured))
        _say_time(io, findings)
        return
    findings, notebooks = cell_view(findings, notebooks)
    if output_format in CELL_IN_MESSAGE:  # formats with no place for a cell: say it
        findings = [replace(f, message=f"cell {f.cell}: {f.message}") if f.cell else f
                    for f in findings]
    sources = sources_for(findings, notebooks, texts) if output_format == "text" else {}
    stream: TextIO = sys.stdout
    target = None
    if io.output_file:
        target = open(io.output_file, "w", encoding="utf-8", newline="")  # noqa: SIM115
        stream = target
    try:
        if output_format in STYLED:
            style = Style(wants_color(stream)) if target is None else PLAIN
            body = REPORTERS[output_format](findings, sources, style=style)  # type: ignore[call-arg]
            if not io.quiet:
                body += closing(findings) or ("All checks passed!\n"
                                              if status == EXIT_CLEAN else "")
        else:
            body = REPORTERS[output_format](findings, sources)
        if output_format in STYLED:  # the runtime tables too (machine formats escape
            body = escape.lines(body + measured)  # themselves: github's lines ARE commands)
            measured = ""
        stream.write(body + measured)
        stream.flush()
    finally:
        if target is not None:
            target.close()
    _say_time(io, findings)


def closing(findings: Sequence[Finding]) -> str:
    """The lines that end a report for people: past a screenful of findings (a first run
    over a project), the count per rule first, so the end of the output says what was
    found; then ``Found N findings.`` and what ``--fix`` would fix."""
    tail = summary(list(findings))
    if len(findings) <= SUMMARY_TABLE_AFTER:
        return tail
    return (f"{_table(_rows(findings))}(only this table: --statistics; one line per finding: "
            f"--output-format concise)\n{tail}")


def _write(io: IOOptions, body: str) -> None:
    """``body`` to stdout, or to ``--output-file``."""
    if not io.output_file:
        sys.stdout.write(body)
        sys.stdout.flush()
        return
    with open(io.output_file, "w", encoding="utf-8", newline="") as target:
        target.write(body)


def _say_time(io: IOOptions, findings: Sequence[Finding]) -> None:
    if io.verbose:
        seconds = time.perf_counter() - io.started if io.started else 0.0
        click.echo(f"initlint: {len(findings)} finding{'s' if len(findings) != 1 else ''} "
                   f"in {seconds:.2f} s", err=True)


def verbose(io: IOOptions, message: str) -> None:
    """One ``-v`` line on stderr (it names files and config paths: escaped)."""
    if io.verbose:
        click.echo(f"initlint: {escape.text(message)}", err=True)


def describe_run(io: IOOptions, files: Sequence[str], report: Iterable[str],
                 configs: Iterable[Config]) -> None:
    """``-v``: how many files, how many of them only context, which configuration files."""
    if not io.verbose:
        return
    reported = len(set(report) & set(files))
    sources = sorted({c.source for c in configs if c.source}) or ["defaults"]
    verbose(io, f"{reported} file{'s' if reported != 1 else ''} to report"
                f"{f', {len(files) - reported} more as context' if len(files) > reported else ''}"
                f"; configuration: {', '.join(sources)}")


def _rows(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """One row per rule, most frequent first, with ruff's statistics fields."""
    counts = Counter(f.code for f in findings)
    fixable = Counter(f.code for f in findings if f.fix and f.fix.applicability == "safe")
    return [{"code": code, "name": ALL_RULES[code].name if code in ALL_RULES else "",
             "count": count, "fixable": fixable[code] > 0, "fixable_count": fixable[code]}
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _table(rows: list[dict[str, Any]]) -> str:
    width = max((len(str(row["count"])) for row in rows), default=1)
    return "".join(f"{row['count']:>{width}}\t{row['code']}\t"
                   f"{'[*]' if row['fixable'] else '[ ]'} {row['name']}\n" for row in rows)


def statistics_report(findings: Sequence[Finding], output_format: str, status: int = EXIT_CLEAN,
                      quiet: bool = False) -> str:
    """``--statistics``: one line per rule, most frequent first (``count  code  [*] name``,
    ``[*]`` where a safe fix exists), then the summary; for ``json``, the same as a list of
    ``{code, name, count, fixable, fixable_count}`` (ruff's fields)."""
    rows = _rows(findings)
    if output_format == "json":
        return json.dumps(rows, indent=2) + "\n"
    if quiet:
        return _table(rows)
    return _table(rows) + (summary(list(findings))
                           or ("All checks passed!\n" if status == EXIT_CLEAN else ""))
