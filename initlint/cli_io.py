"""``initlint check``'s input and output options: stdin, the report's destination, its
verbosity and colour, ``--add-noqa`` and ``--watch``.

They come as one decorator, :func:`io_options`, which folds them into one ``io`` argument
(:class:`IOOptions`) and runs the two modes that wrap a whole check: reading stdin
(``initlint -``) and watching for changes. Everything after the findings exist is
:func:`emit`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

import click

from initlint.config import Config, ConfigError
from initlint.findings import Finding
from initlint.notebook import Notebook, NotebookError, is_notebook, parse_notebook, to_cells
from initlint.report import REPORTERS, STYLED, escape
from initlint.report.location import source_key
from initlint.report.style import PLAIN, Style, wants_color
from initlint.report.text_format import summary

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
STDIN = "-"


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

_OPTIONS = (
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
_NAMES = ("stdin_filename", "output_file", "quiet", "verbose", "add_noqa", "watch")


def io_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options to ``command`` (listed after its own) and pass them as ``io=``."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        io = IOOptions(**{name: kwargs.pop(name) for name in _NAMES},
                       started=time.perf_counter())
        if io.watch:
            return watch(kwargs.get("paths") or (".",),
                         lambda: command(*args, io=replace(io, watch=False,
                                                           started=time.perf_counter()),
                                         **kwargs))
        if reads_stdin(kwargs.get("paths") or (), io):
            sys.exit(check_stdin(kwargs, io))
        return command(*args, io=io, **kwargs)

    holder: Callable[..., Any] = lambda: None  # noqa: E731  (collects the click params)
    for option in reversed(_OPTIONS):
        holder = option(holder)
    run.__click_params__ = [*holder.__click_params__,  # type: ignore[attr-defined]
                            *getattr(command, "__click_params__", [])]
    return run


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
                    from initlint.notebook import load

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
    from initlint.discover import read_source

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
         texts: dict[str, str] | None = None) -> None:
    """Print the report (stdout or ``--output-file``): the findings in ``output_format``,
    then, for people, a summary, or "All checks passed!" when there are no findings and
    nothing went wrong (``status`` is still clean)."""
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
                body += summary(findings) or ("All checks passed!\n"
                                              if status == EXIT_CLEAN else "")
        else:
            body = REPORTERS[output_format](findings, sources)
        stream.write(body + measured)
        stream.flush()
    finally:
        if target is not None:
            target.close()
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


# --- stdin -------------------------------------------------------------------------------------

def reads_stdin(paths: Sequence[str], io: IOOptions) -> bool:
    """``-`` among the paths, or ``--stdin-filename`` without paths (as ruff)."""
    return STDIN in paths or (bool(io.stdin_filename) and not paths)


def _stdin_text() -> str:
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else \
        sys.stdin.read().encode("utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    from initlint.discover import _declared_encoding

    encoding = _declared_encoding(data) or "utf-8"
    return data.decode(encoding, errors="strict")


@dataclass(frozen=True)
class StdinSetup:
    """How stdin is linted: as NAME's configuration says, with NAME's project as context."""

    config: Config
    context: tuple[str, ...]  # the other files of NAME's project


def _stdin_setup(name: str, options: dict[str, Any]) -> StdinSetup | None:
    """The configuration ``name`` would get as a file on disk (its nearest config file or
    ``--config``, with the command line's overrides) and its project's other files; None
    when ``--force-exclude`` excludes it."""
    from initlint.cli import _codes
    from initlint.config import with_overrides
    from initlint.context import with_project
    from initlint.selection import enabled_codes
    from initlint.walk import Resolver, Walk, WalkOptions

    overrides = functools.partial(with_overrides, select=_codes(options.get("select")),
                                  ignore=_codes(options.get("ignore")),
                                  extend_select=_codes(options.get("extend_select")))
    resolver = Resolver(options.get("config_path"), overrides)
    config = resolver.config_for(os.path.abspath(name))
    enabled_codes(config)
    if name == STDIN:
        return StdinSetup(config, ())
    walk = Walk(resolver, WalkOptions(options.get("force_exclude"),
                                      options.get("respect_gitignore")))
    if walk.named_file_excluded(name):
        return None
    real = os.path.realpath(name)
    context = tuple(p for p in with_project([], [name], walk).files
                    if os.path.realpath(p) != real)  # the buffer replaces the file on disk
    return StdinSetup(config, context)


def _neighbours(setup: StdinSetup, options: dict[str, Any]) -> list:
    """The context files, parsed (facts from the cache when it has them)."""
    if not setup.context:
        return []
    from initlint.cache import Cache
    from initlint.engine import parse_all

    cache = None if options.get("no_cache") else Cache.for_config(setup.config)
    return parse_all(list(setup.context), options.get("jobs"), cache=cache)


def check_stdin(options: dict[str, Any], io: IOOptions) -> int:
    """``initlint - --stdin-filename NAME``: lint the text on stdin as if it were NAME (its
    configuration, its excludes, its kind: ``.ipynb`` is a notebook). With ``--fix`` the
    fixed text goes to stdout and the remaining findings to stderr (as ruff does); with
    ``--diff`` the diff goes to stdout."""
    from initlint import cli
    from initlint.engine import lint_text
    from initlint.report.text_format import summary as _summary

    paths = options.get("paths") or (STDIN,)
    if len(paths) != 1:
        click.echo("initlint: error: `-` (stdin) cannot be combined with other paths", err=True)
        return EXIT_ERROR
    name = io.stdin_filename or STDIN
    try:
        setup = _stdin_setup(name, options)
        text = _stdin_text()
    except (ConfigError, UnicodeDecodeError, LookupError) as exc:
        click.echo(f"initlint: error: {escape.text(str(exc))}", err=True)
        return EXIT_ERROR
    if setup is None:  # excluded (--force-exclude): nothing to say, as ruff
        verbose(io, f"{name} is excluded")
        return EXIT_CLEAN
    config = setup.config
    verbose(io, f"stdin as {name}, configuration: {config.source or 'defaults'}, "
                f"{len(setup.context)} other files of its project as context")
    neighbours = _neighbours(setup, options)
    notebooks: dict[str, Notebook] = {}
    program = text
    if is_notebook(name):
        try:
            notebooks[name] = parse_notebook(text)
        except NotebookError as exc:
            click.echo(f"initlint: error: {escape.path(name)}: {escape.text(str(exc))}",
                       err=True)
            return EXIT_ERROR
        program = notebooks[name].program
    if options.get("fix") or options.get("diff"):
        from initlint.fix import fix_text, unified_diff

        result = fix_text(name, program, config, neighbours,
                          unsafe=bool(options.get("unsafe_fixes")))
        for message in result.dropped:
            click.echo(escape.text(message), err=True)
        after = result.after
        if name in notebooks:
            from initlint.notebook import cell_diff, render

            rendered = render(notebooks[name], result.after)
            after = rendered if rendered is not None and result.changed else text
            if options.get("diff"):
                click.echo(cell_diff(name, program, result.after, notebooks[name]), nl=False)
                return EXIT_FINDINGS if after != text else EXIT_CLEAN
        if options.get("diff"):
            click.echo(unified_diff(name, text, after), nl=False)
            return EXIT_FINDINGS if after != text else EXIT_CLEAN
        sys.stdout.write(after)
        remaining, notebooks = cell_view(result.findings, notebooks)
        from initlint.report.concise_format import format_finding

        for finding in remaining:
            click.echo(format_finding(finding), err=True)
        if not io.quiet and remaining:
            click.echo(_summary(remaining), err=True, nl=False)
        return EXIT_FINDINGS if remaining and not options.get("exit_zero") else EXIT_CLEAN
    findings = lint_text(name, program, config, neighbours)
    if io.add_noqa:
        click.echo("initlint: error: --add-noqa cannot write to stdin", err=True)
        return EXIT_ERROR
    emit(findings, options.get("output_format") or "text", EXIT_CLEAN, io,
         notebooks=notebooks, texts={name: program})
    if options.get("statistics"):
        cli._print_statistics(findings, to_stderr=options.get("output_format") != "text")
    return EXIT_FINDINGS if findings and not options.get("exit_zero") else EXIT_CLEAN


# --- watch -------------------------------------------------------------------------------------

def _watch_filter(change: Any, path: str) -> bool:
    """Python files, notebooks and configuration; never the cache's own writes."""
    parts = path.replace(os.sep, "/").split("/")
    if any(part in (".initlint_cache", ".git", "__pycache__") for part in parts):
        return False
    return path.endswith((".py", ".pyi", ".ipynb", "pyproject.toml", "initlint.toml"))


def watch(paths: Sequence[str], once: Callable[[], Any],
          stop: Any = None) -> None:
    """Run ``once``, then again after every batch of changes under ``paths``; exit 0 on
    Ctrl-C. Needs watchfiles (``pip install 'initlint[watch]'``)."""
    try:
        import watchfiles
    except ImportError:
        click.echo("initlint: error: --watch needs watchfiles: pip install 'initlint[watch]'",
                   err=True)
        sys.exit(EXIT_ERROR)
    roots = [p for p in paths if p != STDIN]
    missing = [p for p in roots if not os.path.exists(p)]
    if missing or not roots:
        click.echo(f"initlint: error: --watch needs existing paths (not "
                   f"{escape.text(', '.join(missing) or '-')})",
                   err=True)
        sys.exit(EXIT_ERROR)

    def lint() -> None:
        with contextlib.suppress(SystemExit):  # each run ends in sys.exit(status)
            once()
        sys.stdout.flush()
        click.echo("initlint: watching for changes (Ctrl-C to stop)", err=True)

    lint()
    try:
        for _changes in watchfiles.watch(*roots, watch_filter=_watch_filter, debounce=300,
                                         stop_event=stop, raise_interrupt=False):
            click.echo("initlint: files changed, linting again", err=True)
            lint()
    except KeyboardInterrupt:
        pass
    sys.exit(EXIT_CLEAN)


