"""Files done / total on stderr while a long run parses, only when a person is watching.

Silent when the stream is not a terminal (CI logs, pre-commit, pipes), so machine-read
output and logs never see carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: Runs with fewer files than this finish before a counter would help.
MIN_FILES = 50
#: Seconds between redraws: redrawing is cheap, but a terminal flooded with it is not.
INTERVAL = 0.1


class Progress:
    """A one-line counter, redrawn in place; :meth:`close` erases it."""

    def __init__(self, total: int, stream: TextIO | None = None,
                 enabled: bool | None = None, label: str = "initlint"):
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.label = label
        if enabled is None:
            enabled = total >= MIN_FILES and _is_terminal(self.stream)
        self.enabled = enabled
        self._last = 0.0
        self._drawn = False

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= INTERVAL or self.done == self.total:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        percent = 100 * self.done // self.total if self.total else 100
        self.stream.write(f"\r{self.label}: {self.done}/{self.total} files ({percent}%)")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Erase the counter so the findings start on a clean line."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
