"""The ``initlint`` command line (click). Exit codes: 0 clean, 1 findings, 2 errors."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import click

from initlint import __version__
from initlint.checks import ALL_RULES
from initlint.config import Config, ConfigError, find_pyproject, load_config, with_overrides
from initlint.discover import DiscoveryError, discover
from initlint.docs import rule_doc
from initlint.engine import lint_paths
from initlint.report import REPORTERS
from initlint.selection import enabled_codes

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class DefaultGroup(click.Group):
    """``initlint PATHS…`` means ``initlint check PATHS…``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                       "--version"):
            args = ["check", *args]
        elif not args:
            args = ["check"]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        """An unexpected exception is an initlint bug: one line and exit 2, never exit 1
        (which means "findings")."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("INITLINT_TRACEBACK"):
                raise
            click.echo(f"initlint: internal error: {type(exc).__name__}: {exc} (set "
                       "INITLINT_TRACEBACK=1 for the traceback)", err=True)
            ctx.exit(EXIT_ERROR)


def _codes(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())


def _load(config_path: str | None, paths: tuple[str, ...]) -> Config:
    if config_path:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"{config_path}: config file not found")
        return load_config(path)
    start = Path(paths[0]) if paths else Path.cwd()
    return load_config(find_pyproject(start if start.exists() else Path.cwd()))


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="initlint")
def main() -> None:
    """initlint: find weight-initialization mistakes in PyTorch model code."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", help="Comma-separated rule codes or prefixes to enable (replaces).")
@click.option("--ignore", help="Comma-separated rule codes or prefixes to disable.")
@click.option("--extend-select", help="Rule codes to enable on top of the selection.")
@click.option("--output-format", type=click.Choice(sorted(REPORTERS)), default="text",
              show_default=True, help="How findings are printed.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Print a count of findings per rule.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--config", "config_path", type=click.Path(), help="Path to a pyproject.toml.")
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: cores).")
@click.option("--fix", is_flag=True, help="Apply safe fixes, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff: also unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--runtime", is_flag=True,
              help="Build the models (runs your code, needs torch) and confirm findings on "
                   "real tensors.")
@click.option("--device", default=None, help="With --runtime: cpu (default), cuda, cuda:N, mps.")
@click.option("--runtime-model", "runtime_models", multiple=True, metavar="PKG.MOD:FACTORY",
              help="With --runtime: also build this factory (repeatable; "
                   "PKG.MOD:FACTORY@8x3x224x224 gives the input shape).")
@click.option("--runtime-plot", type=click.Path(dir_okay=False), default=None,
              help="With --runtime: write a PNG of activation std per layer (matplotlib).")
def check(paths: tuple[str, ...], select: str | None, ignore: str | None,
          extend_select: str | None, output_format: str, exit_zero: bool, statistics: bool,
          no_cache: bool, config_path: str | None, jobs: int | None, fix: bool,
          unsafe_fixes: bool, diff: bool, runtime: bool = False, device: str | None = None,
          runtime_models: tuple[str, ...] = (), runtime_plot: str | None = None) -> None:
    """Lint PATHS (files or directories; default: the current directory)."""
    paths = paths or (".",)
    try:
        config = with_overrides(_load(config_path, paths), select=_codes(select),
                                ignore=_codes(ignore), extend_select=_codes(extend_select))
        enabled_codes(config)
    except ConfigError as exc:
        click.echo(f"initlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    status = EXIT_CLEAN
    files: list[str] = []
    for path in paths:
        try:
            found = discover([path], config)
        except DiscoveryError as exc:
            click.echo(f"initlint: error: {exc}", err=True)
            status = EXIT_ERROR
            continue
        if not found:
            click.echo(f"initlint: warning: no Python files found under {path}", err=True)
        files += found
    files = list(dict.fromkeys(files))
    if diff:
        sys.exit(status or _show_diff(files, config, unsafe_fixes, jobs))
    findings = (_apply_fixes(files, config, unsafe_fixes, jobs) if fix
                else _lint(files, config, jobs, no_cache).findings)
    measured = ""
    if runtime or device or runtime_models or runtime_plot:
        findings, measured = _runtime(files, findings, config, device, runtime_models,
                                      runtime_plot, output_format)
    if output_format in ("json", "sarif"):  # they carry each fix's edits: computed now
        from initlint.fix import with_edits_from_files

        findings = with_edits_from_files(findings)
    sources = _sources_for(findings) if output_format == "text" else {}
    click.echo(REPORTERS[output_format](findings, sources), nl=False)
    click.echo(measured, nl=False)
    if statistics:  # beside a machine-readable report, on stderr so stdout still parses
        _print_statistics(findings, to_stderr=output_format != "text")
    if findings and not exit_zero and status == EXIT_CLEAN:
        status = EXIT_FINDINGS
    sys.exit(status)


def _runtime(files: list[str], findings: list, config: Config, device: str | None,
             models: tuple[str, ...], plot: str | None, output_format: str) -> tuple[list, str]:
    """``--runtime``: measure the models; a setup problem (no torch, no device) exits 2."""
    from initlint.runtime import RuntimeSetupError, run_for_cli

    try:
        return run_for_cli(files, findings, config, device, models, plot, output_format,
                           lambda line: click.echo(line, err=True))
    except RuntimeSetupError as exc:
        click.echo(f"initlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def _lint(files: list[str], config: Config, jobs: int | None, no_cache: bool):
    """The static run: cached unless --no-cache, a files-done counter on a terminal."""
    from initlint.cache import Cache
    from initlint.progress import Progress

    cache = None if no_cache else Cache.for_config(config)
    with Progress(len(files)) as progress:
        return lint_paths(files, config, jobs=jobs, cache=cache, progress=progress)


def _sources_for(findings) -> dict[str, str]:
    from initlint.discover import read_source

    return {path: read_source(path).text for path in {f.path for f in findings}}


def _show_diff(files: list[str], config: Config, unsafe: bool, jobs: int | None) -> int:
    """``--diff``: print what ``--fix`` would change; exit 1 when it would change anything."""
    from initlint.fix import fix_paths, unified_diff

    run = fix_paths(files, config, unsafe=unsafe, write=False, jobs=jobs)
    for message in run.errors:
        click.echo(message, err=True)
    for result in run.changed:
        click.echo(unified_diff(result.path, result.before, result.after), nl=False)
    if run.changed:
        click.echo(f"Would fix {run.fixed} finding{'s' if run.fixed != 1 else ''} in "
                   f"{len(run.changed)} file{'s' if len(run.changed) != 1 else ''}.", err=True)
    return EXIT_FINDINGS if run.changed else EXIT_CLEAN


def _apply_fixes(files: list[str], config: Config, unsafe: bool, jobs: int | None) -> list:
    """``--fix``: write the fixes, say so on stderr, return the findings that remain."""
    from initlint.fix import fix_paths

    run = fix_paths(files, config, unsafe=unsafe, write=True, jobs=jobs)
    for message in run.errors:
        click.echo(message, err=True)
    if run.fixed:
        click.echo(f"Fixed {run.fixed} finding{'s' if run.fixed != 1 else ''} in "
                   f"{len(run.changed)} file{'s' if len(run.changed) != 1 else ''}.", err=True)
    from initlint.fix import remaining_summary

    summary = remaining_summary(run.findings, unsafe)
    if summary:
        click.echo(summary, err=True)
    return run.findings


def _print_statistics(findings, to_stderr: bool = False) -> None:
    counts = Counter(f.code for f in findings)
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name = ALL_RULES[code].name if code in ALL_RULES else ""
        click.echo(f"{count:6d}  {code}  {name}", err=to_stderr)


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the documentation of rule CODE (e.g. INI101)."""
    doc = rule_doc(code)
    if doc is None:
        click.echo(f"initlint: error: unknown rule code: {code} "
                   f"(known: {', '.join(ALL_RULES)})", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(doc)


@main.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only "
              "transport; accepted because many editor clients pass it).")
def lsp_command(stdio: bool) -> None:
    """Run the language server for editors (diagnostics, quick fixes, noqa, fix-all)."""
    try:
        import pygls  # noqa: F401  (the lsp extra; fail here, before the protocol starts)

        from initlint.lsp import main as serve_lsp
    except ImportError as exc:
        click.echo(f"initlint: error: the language server needs pygls: "
                   f"pip install 'initlint[lsp]' ({exc})", err=True)
        sys.exit(EXIT_ERROR)
    serve_lsp()


if __name__ == "__main__":  # pragma: no cover
    main()
