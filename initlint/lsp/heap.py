"""The server's heap and Python's cycle collector.

A long-lived server holds the facts of every neighbour file: hundreds of thousands of small
objects. Each full collection of the cycle collector scans all of them, and allocation
triggers one every few lints: about 100 ms of a 3,000-line re-lint went there, to find
nothing (linking and extraction make no reference cycles; ``tests/test_lsp_heap.py`` checks
that). So the collector pauses while a lint runs, and after a lint that loaded new context,
once the diagnostics are out, one collection clears what is garbage and ``gc.freeze`` moves
the survivors out of later collections' way. Frozen objects are still freed by reference
counting, which frees all of ours.
"""

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


class Heap:
    """Settles the heap once per new context (a load of neighbour files), not per lint."""

    def __init__(self) -> None:
        self._settled_at: int | None = None

    def settle(self, generation: int) -> bool:
        """Collect and freeze if the context changed since the last settle; True if it did."""
        if generation == self._settled_at:
            return False
        self._settled_at = generation
        gc.collect()
        gc.freeze()
        return True
