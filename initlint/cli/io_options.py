"""The input/output options as a decorator: it reads them into :class:`IOOptions` and, before
the command runs, hands ``--watch`` and stdin (``-``) runs to their own loops."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from initlint.cli.io import IO_OPTION_NAMES, IO_OPTIONS, IOOptions
from initlint.cli.stdin import check_stdin, reads_stdin
from initlint.cli.watch import watch


def io_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options to ``command`` (listed after its own) and pass them as ``io=``."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        io = IOOptions(**{name: kwargs.pop(name) for name in IO_OPTION_NAMES},
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
    for option in reversed(IO_OPTIONS):
        holder = option(holder)
    run.__click_params__ = [*holder.__click_params__,  # type: ignore[attr-defined]
                            *getattr(command, "__click_params__", [])]
    return run
