"""The server's heap and Python's cycle collector.

A long-lived server holds the facts of every neighbour file: hundreds of thousands of small
objects. Loading them freezes them (``workspace._frozen_after``), so full collections skip
them. What a lint allocates (the document's tree and facts, a linked project) would still
trigger collections mid-lint, each scanning everything not frozen, to find nothing: linking
and extraction make no reference cycles (``tests/test_lsp_heap.py`` checks that). So the
collector pauses while a lint runs; reference counting frees all of it.
"""

from __future__ import annotations

from initlint.core.collector import collector_paused

__all__ = ["collector_paused"]
