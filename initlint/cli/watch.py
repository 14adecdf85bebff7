"""``--watch``: lint, then lint again after every batch of changes (watchfiles)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from initlint.cli.io import EXIT_CLEAN, EXIT_ERROR
from initlint.cli.stdin import STDIN
from initlint.report import escape


def _watch_filter(change: Any, path: str) -> bool:
    """Python files, notebooks and configuration; never the cache's own writes."""
    parts = path.replace(os.sep, "/").split("/")
    if any(part in (".initlint_cache", ".git", "__pycache__") for part in parts):
        return False
    return path.endswith((".py", ".pyi", ".ipynb", "pyproject.toml", "initlint.toml"))


def watch(paths: Sequence[str], once: Callable[[], Any],
          stop: Any = None) -> None:
    """Run ``once``, then again after every batch of changes under ``paths``; exit 0 on
    Ctrl-C. Needs watchfiles (initlint's ``watch`` extra)."""
    try:
        import watchfiles
    except ImportError:
        click.echo("initlint: error: --watch needs watchfiles (initlint's `watch` extra): "
                   "pip install watchfiles", err=True)
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
