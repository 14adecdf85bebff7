"""Pausing Python's cycle collector around work that makes no reference cycles: the full
collections its allocations would trigger scan everything alive and find nothing
(``engine/lint.py``: one file's parse and extraction; ``lsp/heap.py``: a lint in the server)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cycle collection while the block runs (the collector's state is restored after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
