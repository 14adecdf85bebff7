"""``initlint -``: lint the text on stdin as if it were the file ``--stdin-filename`` names
(that file's configuration, excludes and project as context; ``.ipynb``: a notebook)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from initlint.cli.discovery import parse_codes
from initlint.cli.io import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    IOOptions,
    OutputFormatError,
    cell_view,
    emit,
    output_format_for,
    verbose,
)
from initlint.core.config import Config, ConfigError
from initlint.engine.lint import Parsed
from initlint.files.notebook import Notebook, NotebookError, is_notebook, parse_notebook
from initlint.files.safe_fs import MAX_FILE_BYTES, FileTooLargeError
from initlint.report import escape

STDIN = "-"


def reads_stdin(paths: Sequence[str], io: IOOptions) -> bool:
    """``-`` among the paths, or ``--stdin-filename`` without paths (as ruff)."""
    return STDIN in paths or (bool(io.stdin_filename) and not paths)


@dataclass(frozen=True)
class StdinText:
    """What came on stdin: the text, and how to write a fixed version back the same way."""

    text: str
    encoding: str = "utf-8"
    bom: bool = False

    def write(self, text: str) -> None:
        """``text`` to stdout as bytes in the input's encoding (and BOM), whatever the
        locale's encoding is."""
        data = (b"\xef\xbb\xbf" if self.bom else b"") + text.encode(self.encoding)
        if hasattr(sys.stdout, "buffer"):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:  # a test runner's captured stream
            sys.stdout.write(text)


def _stdin_text(limit: int = MAX_FILE_BYTES) -> StdinText:
    """Read stdin as a file is read: a BOM and a PEP 263 coding line are honoured, and no
    more than a file's size cap is read (``initlint - < /dev/zero`` must end, in bounded
    memory): FileTooLargeError past it."""
    from initlint.files.source import declared_encoding

    data = (sys.stdin.buffer.read(limit + 1) if hasattr(sys.stdin, "buffer") else
        sys.stdin.read(limit + 1).encode("utf-8"))
    if len(data) > limit:
        raise FileTooLargeError(0, f"stdin: more than the {limit / (1024 * 1024):g} MB limit "
                                   "a file may have; not checked")
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    encoding = declared_encoding(data) or "utf-8"
    return StdinText(data.decode(encoding, errors="strict"), encoding, bom)


@dataclass(frozen=True)
class StdinSetup:
    """How stdin is linted: as NAME's configuration says, with NAME's project as context."""

    config: Config
    context: tuple[str, ...]  # the other files of NAME's project


def _stdin_setup(name: str, options: dict[str, Any]) -> StdinSetup | None:
    """The configuration ``name`` would get as a file on disk (its nearest config file or
    ``--config``, with the command line's overrides) and its project's other files; None
    when ``--force-exclude`` excludes it."""
    from initlint.checks.selection import enabled_codes
    from initlint.core.config import with_overrides
    from initlint.files.context import with_project
    from initlint.files.walk import Resolver, Walk, WalkOptions

    overrides = functools.partial(with_overrides, select=parse_codes(options.get("select")),
                                  ignore=parse_codes(options.get("ignore")),
                                  extend_select=parse_codes(options.get("extend_select")))
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


def _neighbours(setup: StdinSetup, options: dict[str, Any]) -> list[Parsed]:
    """The context files, parsed (facts from the cache when it has them)."""
    if not setup.context:
        return []
    from initlint.cache.store import Cache
    from initlint.engine.lint import parse_all

    cache = None if options.get("no_cache") else Cache.for_config(setup.config)
    return parse_all(list(setup.context), options.get("jobs"), cache=cache)


def check_stdin(options: dict[str, Any], io: IOOptions) -> int:
    """``initlint - --stdin-filename NAME``: lint the text on stdin as if it were NAME (its
    configuration, its excludes, its kind: ``.ipynb`` is a notebook). With ``--fix`` the
    fixed text goes to stdout and the remaining findings to stderr (as ruff does); with
    ``--diff`` the diff goes to stdout."""
    from initlint.engine.lint import lint_text
    from initlint.report.text_format import summary as _summary

    paths = options.get("paths") or (STDIN,)
    if len(paths) != 1:
        click.echo("initlint: error: `-` (stdin) cannot be combined with other paths", err=True)
        return EXIT_ERROR
    name = io.stdin_filename or STDIN
    if io.add_noqa:
        click.echo("initlint: error: --add-noqa cannot write to stdin", err=True)
        return EXIT_ERROR
    fixing = bool(options.get("fix")) and not options.get("diff")
    try:
        setup = _stdin_setup(name, options)
        source = _stdin_text()
    except (ConfigError, UnicodeDecodeError, LookupError) as exc:
        click.echo(f"initlint: error: {escape.text(str(exc))}", err=True)
        return EXIT_ERROR
    except FileTooLargeError as exc:
        click.echo(f"initlint: error: {exc.strerror}", err=True)
        return EXIT_ERROR
    text = source.text
    if setup is None:  # excluded (--force-exclude): nothing to say, as ruff; a --fix
        verbose(io, f"{name} is excluded")  # filter still gives its input back unchanged
        if fixing:
            source.write(text)
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
        from initlint.engine.fix import fix_text, unified_diff

        result = fix_text(name, program, config, neighbours,
                          unsafe=bool(options.get("unsafe_fixes")))
        for message in result.dropped:
            click.echo(escape.text(message), err=True)
        after = result.after
        if name in notebooks:
            from initlint.files.notebook import cell_diff, render

            rendered = render(notebooks[name], result.after)
            after = rendered if rendered is not None and result.changed else text
            if options.get("diff"):
                click.echo(cell_diff(name, program, result.after, notebooks[name]), nl=False)
                return EXIT_FINDINGS if after != text else EXIT_CLEAN
        if options.get("diff"):
            click.echo(unified_diff(name, text, after), nl=False)
            return EXIT_FINDINGS if after != text else EXIT_CLEAN
        source.write(after)
        remaining, notebooks = cell_view(result.findings, notebooks)
        from initlint.report.concise_format import format_finding

        for finding in remaining:
            click.echo(format_finding(finding), err=True)
        if not io.quiet and remaining:
            click.echo(_summary(remaining), err=True, nl=False)
        return EXIT_FINDINGS if remaining and not options.get("exit_zero") else EXIT_CLEAN
    findings = lint_text(name, program, config, neighbours)
    try:
        output_format = output_format_for(options.get("output_format"), config)
    except OutputFormatError as exc:
        click.echo(f"initlint: error: {exc}", err=True)
        return EXIT_ERROR
    emit(findings, output_format, EXIT_CLEAN, io, notebooks=notebooks, texts={name: program},
         statistics=bool(options.get("statistics")))
    return EXIT_FINDINGS if findings and not options.get("exit_zero") else EXIT_CLEAN
