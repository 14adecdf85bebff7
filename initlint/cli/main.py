"""The ``initlint`` command line (click). Exit codes: 0 clean, 1 findings, 2 errors."""

from __future__ import annotations

import difflib
import gc
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from initlint import __version__
from initlint.checks import ALL_RULES
from initlint.checks.docs import rule_doc
from initlint.checks.selection import enabled_codes
from initlint.cli.discovery import (
    NO_DISCOVERY_OPTIONS,
    DiscoveryOptions,
    Run,
    discovery_options,
    parse_codes,
    resolve_run,
    show_files,
    show_settings,
)
from initlint.cli.help_text import CHECK_EPILOG, MAIN_EPILOG
from initlint.cli.io import (
    NO_IO_OPTIONS,
    IOOptions,
    OutputFormatError,
    describe_run,
    emit,
    output_format_for,
)
from initlint.cli.io_options import io_options
from initlint.core.config import Config, ConfigError, with_overrides
from initlint.core.findings import Finding
from initlint.engine.fix import ModelCheck
from initlint.engine.lint import RunResult, lint_paths
from initlint.files.walk import Resolver
from initlint.report import REPORTERS, escape

if TYPE_CHECKING:  # loaded late at run time: start-up cost
    from initlint.cache.store import Cache

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130


class DefaultGroup(click.Group):
    """``initlint PATHS…`` means ``initlint check PATHS…``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                       "--version", "-V"):
            self._reject_misspelled_command(ctx, args[0])
            args = ["check", *args]
        elif not args:
            args = ["check"]
        return super().parse_args(ctx, args)

    def _reject_misspelled_command(self, ctx: click.Context, word: str) -> None:
        """``initlint chek``: a word that is no path but close to a command is a typo, not
        a file that does not exist (exit 2, naming the command it resembles)."""
        if word.startswith("-") or os.path.exists(word) or any(c in word for c in "/\\."):
            return
        close = difflib.get_close_matches(word, list(self.commands), n=1, cutoff=0.6)
        if close:
            click.echo(f"initlint: error: unknown command `{escape.text(word)}`; did you "
                       f"mean `initlint {close[0]}`? (no file or directory of that name "
                       "either)", err=True)
            ctx.exit(EXIT_ERROR)

    def invoke(self, ctx: click.Context) -> Any:
        """An unexpected exception is an initlint bug: one line and exit 2, never exit 1
        (which means "findings")."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C: 130 as shells report SIGINT, never 1 (findings)
            click.echo("initlint: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if os.environ.get("INITLINT_TRACEBACK"):
                raise
            click.echo(f"initlint: internal error: {type(exc).__name__}: "
                       f"{escape.text(str(exc))} (set INITLINT_TRACEBACK=1 for the traceback)",
                       err=True)
            ctx.exit(EXIT_ERROR)


def _resolve(paths: tuple[str, ...], config_path: str | None, discovery: DiscoveryOptions,
             **overrides: tuple[str, ...]) -> tuple[Resolver, Run]:
    """Each file's settings (its nearest config file, or ``--config``, with the command
    line's overrides) and the files to read. Raises ConfigError."""
    resolver = Resolver(config_path, lambda config: with_overrides(config, **overrides))
    run = resolve_run(paths, resolver, discovery)
    for settings in resolver.configs():
        enabled_codes(settings)
    return resolver, run


#: Help is wrapped at the terminal's width up to this many columns (click's default, 80,
#: cut the option texts into narrow columns).
HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=DefaultGroup, context_settings=HELP, epilog=MAIN_EPILOG)
@click.version_option(__version__, "--version", "-V", prog_name="initlint",
                      message="%(prog)s %(version)s")
def main() -> None:
    """initlint: find weight-initialization mistakes in PyTorch model code.

    Without a command, `initlint PATHS` runs `initlint check PATHS`.
    """


@main.command(short_help="Lint files or directories (the default command).",
              epilog=CHECK_EPILOG, context_settings=HELP)
@io_options
@discovery_options
# readable=False: an unreadable file is its own INI000, not a usage error that stops the run
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option("--select", help="Comma-separated rule codes or prefixes to enable (replaces).")
@click.option("--ignore", help="Comma-separated rule codes or prefixes to disable.")
@click.option("--extend-select", help="Rule codes to enable on top of the selection.")
@click.option("--output-format", type=click.Choice(sorted(REPORTERS)), default=None,
              help="How findings are printed (default: $INITLINT_OUTPUT_FORMAT, else the "
                   "config's `output-format`, else text).")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when there are findings (errors still exit 2).")
@click.option("--statistics", is_flag=True,
              help="Print only a count of findings per rule, instead of the findings.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--config", "config_path", type=click.Path(),
              help="A pyproject.toml or initlint.toml for every file (default: each file's "
                   "nearest).")
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: cores).")
@click.option("--fix", is_flag=True, help="Apply safe fixes, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff: also unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--verify", is_flag=True,
              help="With --fix or --diff: build each fixed file's default-constructible "
                   "models before and after (child processes, needs torch) and drop the "
                   "fixes that break one or, safe ones, change its initial values.")
@click.option("--runtime", is_flag=True,
              help="Build the models (runs your code, needs torch) and confirm findings on "
                   "real tensors.")
@click.option("--device", default=None, help="With --runtime: cpu (default), cuda, cuda:N, mps.")
@click.option("--runtime-model", "runtime_models", multiple=True, metavar="PKG.MOD:FACTORY",
              help="With --runtime: also build this factory (repeatable; "
                   "PKG.MOD:FACTORY@8x3x224x224 gives the input shape).")
@click.option("--runtime-plot", type=click.Path(dir_okay=False), default=None,
              help="With --runtime: write a PNG of activation std per layer (matplotlib).")
@click.option("--runtime-only-named", is_flag=True,
              help="With --runtime: build only the --runtime-model / configured factories, "
                   "not every default-constructible class of the linted files.")
def check(paths: tuple[str, ...], select: str | None, ignore: str | None,
          extend_select: str | None, output_format: str | None, exit_zero: bool,
          statistics: bool,
          no_cache: bool, config_path: str | None, jobs: int | None, fix: bool,
          unsafe_fixes: bool, diff: bool, verify: bool = False, runtime: bool = False,
          device: str | None = None,
          runtime_models: tuple[str, ...] = (), runtime_plot: str | None = None,
          runtime_only_named: bool = False,
          discovery: DiscoveryOptions = NO_DISCOVERY_OPTIONS,
          io: IOOptions = NO_IO_OPTIONS) -> None:
    """Lint PATHS (files or directories; default: the current directory)."""
    paths = paths or (".",)
    try:
        resolver, run = _resolve(paths, config_path, discovery, select=parse_codes(select),
                                 ignore=parse_codes(ignore),
                                 extend_select=parse_codes(extend_select))
    except ConfigError as exc:
        click.echo(f"initlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        output_format = output_format_for(output_format, run.config)
    except OutputFormatError as exc:
        click.echo(f"initlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    for message in run.errors + run.warnings:
        click.echo(escape.path(message), err=True)  # names from the tree: escaped
    status = EXIT_ERROR if run.errors else EXIT_CLEAN
    if discovery.show_settings or discovery.show_files:
        click.echo(show_settings(paths, run, resolver) if discovery.show_settings
                   else show_files(run), nl=False)
        sys.exit(status)
    for path in run.empty:
        click.echo(f"initlint: warning: no Python files found under {path}", err=True)
    config, files = run.config, run.files
    describe_run(io, files, run.report, resolver.configs())
    if verify:
        _check_verify(fix or diff)
    if diff:
        sys.exit(status or _show_diff(files, config, unsafe_fixes, jobs, no_cache, run.configs,
                                      run.report, verify))
    findings = (_apply_fixes(files, config, unsafe_fixes, jobs, no_cache, run.configs,
                             run.report, verify) if fix
                else _lint(files, config, jobs, no_cache, run.configs, run.report).findings)
    measured = ""
    if runtime or device or runtime_models or runtime_plot or runtime_only_named:
        reported = [f for f in files if f in run.report]
        findings, measured = _runtime(reported, findings, config, device, runtime_models,
                                      runtime_plot, output_format, runtime_only_named)
    if io.add_noqa:
        from initlint.cli.add_noqa import add_noqa_cli

        sys.exit(add_noqa_cli(findings, status))
    if output_format in ("json", "sarif") and not statistics:  # they carry each fix's
        from initlint.engine.fix import with_edits_from_files  # edits: computed now

        findings = with_edits_from_files(findings)
    emit(findings, output_format, status, io, measured=measured, statistics=statistics)
    if findings and not exit_zero and status == EXIT_CLEAN:
        status = EXIT_FINDINGS
    sys.exit(status)


def _runtime(files: list[str], findings: list[Finding], config: Config, device: str | None,
             models: tuple[str, ...], plot: str | None, output_format: str,
             only_named: bool = False) -> tuple[list[Finding], str]:
    """``--runtime``: measure the models; a setup problem (no torch, no device) exits 2."""
    from initlint.runtime import RuntimeSetupError, run_for_cli

    try:
        return run_for_cli(files, findings, config, device, models, plot, output_format,
                           lambda line: click.echo(line, err=True), only_named=only_named)
    except RuntimeSetupError as exc:
        click.echo(f"initlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def _cache(config: Config, no_cache: bool) -> Cache | None:
    from initlint.cache.store import Cache

    return None if no_cache else Cache.for_config(
        config, warn=lambda message: click.echo(f"initlint: warning: {message}", err=True))


def _lint(files: list[str], config: Config, jobs: int | None, no_cache: bool,
          configs: dict[str, Config], report: frozenset[str]) -> RunResult:
    """The static run: cached unless --no-cache, a files-done counter on a terminal."""
    from initlint.engine.progress import Progress

    with Progress(len(files)) as progress:
        return lint_paths(files, config, jobs=jobs, cache=_cache(config, no_cache),
                          progress=progress, configs=configs, report=report)


def _check_verify(fixing: bool) -> None:
    """``--verify`` goes with ``--fix``/``--diff`` and builds models: torch must be there."""
    import importlib.util

    if not fixing:
        click.echo("initlint: error: --verify checks fixes: use it with --fix or --diff",
                   err=True)
        sys.exit(EXIT_ERROR)
    if importlib.util.find_spec("torch") is None:
        click.echo("initlint: error: --verify builds the models and needs torch "
                   "(initlint's `runtime` extra): pip install torch", err=True)
        sys.exit(EXIT_ERROR)


def _model_check(verify: bool) -> ModelCheck | None:
    """``--verify``: the runtime mode's check of fixed files (loaded only when asked)."""
    if not verify:
        return None
    from initlint.runtime.fix_verify import verified

    return verified


def _show_diff(files: list[str], config: Config, unsafe: bool, jobs: int | None,
               no_cache: bool, configs: dict[str, Config], report: frozenset[str],
               verify: bool = False) -> int:
    """``--diff``: print what ``--fix`` would change; exit 1 when it would change anything."""
    from initlint.engine.fix import fix_paths, unified_diff

    run = fix_paths(files, config, unsafe=unsafe, write=False, jobs=jobs,
                    cache=_cache(config, no_cache), configs=configs, report=report,
                    verify=_model_check(verify))
    for message in run.errors:
        click.echo(message, err=True)
    for result in run.changed:
        click.echo(unified_diff(result.path, result.before, result.after), nl=False)
    if run.changed:
        click.echo(f"Would fix {run.fixed} finding{'s' if run.fixed != 1 else ''} in "
                   f"{len(run.changed)} file{'s' if len(run.changed) != 1 else ''}.", err=True)
    return EXIT_FINDINGS if run.changed else EXIT_CLEAN


def _apply_fixes(files: list[str], config: Config, unsafe: bool, jobs: int | None,
                 no_cache: bool, configs: dict[str, Config], report: frozenset[str],
                 verify: bool = False) -> list[Finding]:
    """``--fix``: write the fixes, say so on stderr, return the findings that remain."""
    from initlint.engine.fix import fix_paths

    run = fix_paths(files, config, unsafe=unsafe, write=True, jobs=jobs,
                    cache=_cache(config, no_cache), configs=configs, report=report,
                    verify=_model_check(verify))
    for message in run.errors:
        click.echo(message, err=True)
    if run.fixed:
        click.echo(f"Fixed {run.fixed} finding{'s' if run.fixed != 1 else ''} in "
                   f"{len(run.changed)} file{'s' if len(run.changed) != 1 else ''}.", err=True)
    from initlint.engine.fix import remaining_summary

    summary = remaining_summary(run.findings, unsafe)
    if summary:
        click.echo(summary, err=True)
    return run.findings


@main.command("rule", short_help="Print a rule's documentation (or every rule's).",
              context_settings=HELP)
@click.argument("code", required=False)
@click.option("--all", "all_rules", is_flag=True, help="Print the documentation of every rule.")
def rule_command(code: str | None, all_rules: bool) -> None:
    """Print the documentation of rule CODE (e.g. INI101), or of all rules with --all."""
    if all_rules or code is None:
        if not all_rules:
            click.echo("initlint: error: give a rule code (e.g. INI101) or --all", err=True)
            sys.exit(EXIT_ERROR)
        click.echo("\n\n".join((rule_doc(c) or f"# {c}\n").rstrip() for c in ALL_RULES))
        return
    doc = rule_doc(code)
    if doc is None:
        click.echo(f"initlint: error: unknown rule code: {code} "
                   f"(known: {', '.join(ALL_RULES)})", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(doc)


@main.command("lsp", short_help="Run the language server for editors (stdio).",
              context_settings=HELP)
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only "
              "transport; accepted because many editor clients pass it).")
def lsp_command(stdio: bool) -> None:
    """Run the language server for editors (diagnostics, quick fixes, noqa, fix-all)."""
    try:
        import pygls  # noqa: F401  (the lsp extra; fail here, before the protocol starts)

        from initlint.lsp import main as serve_lsp
    except ImportError as exc:
        click.echo(f"initlint: error: the language server needs pygls 2 (initlint's `lsp` "
                   f"extra): pip install 'pygls>=2,<3' ({exc})", err=True)
        sys.exit(EXIT_ERROR)
    serve_lsp()


@main.command("version", short_help="Print initlint's version.", context_settings=HELP)
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="`json`: {\"version\": ...}.")
def version_command(output_format: str) -> None:
    """Print initlint's version (`initlint 0.1.0`), as `initlint --version` does."""
    if output_format == "json":
        click.echo(json.dumps({"version": __version__}, indent=2))
    else:
        click.echo(f"initlint {__version__}")


@main.command("help", short_help="Print this help, or a command's: initlint help check.",
              context_settings=HELP)
@click.argument("command", required=False)
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> None:
    """Print initlint's help, or COMMAND's (as `initlint COMMAND --help`)."""
    parent = ctx.parent
    assert parent is not None  # a subcommand always has the group's context
    if command is None:
        click.echo(main.get_help(parent))
        return
    found = main.get_command(parent, command)
    if found is None:
        click.echo(f"initlint: error: unknown command `{escape.text(command)}` (commands: "
                   f"{', '.join(main.list_commands(parent))})", err=True)
        sys.exit(EXIT_ERROR)
    with click.Context(found, info_name=command, parent=parent) as sub:
        click.echo(found.get_help(sub))


def entry() -> None:
    """The ``initlint`` command (console script, ``python -m initlint``): :func:`main`, then
    an exit that does not free the run's objects one by one. A run over a big project leaves
    about a million facts in reference cycles (the linker's memos); the interpreter's last
    full collection would walk and free them all, which costs a third of a warm partial run
    in timm (0.3 s). Frozen, they are left to the OS; output is flushed and atexit handlers
    run as usual. (Not in :func:`main`: tests and other callers run it in their process.)"""
    try:
        main(prog_name="initlint")
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    entry()
