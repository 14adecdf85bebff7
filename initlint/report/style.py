"""Colour for terminal output: ANSI styles, or nothing.

Whether to colour is decided once per run by :func:`wants_color` (``NO_COLOR`` and
``FORCE_COLOR`` as https://no-color.org and https://force-color.org define them, else
whether the stream is a terminal); reporters only receive a :class:`Style`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TextIO

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
          "cyan": "36", "bold_red": "1;31"}
#: severity → style of its rule code
SEVERITY = {"error": "bold_red", "warning": "yellow", "info": "blue"}


@dataclass(frozen=True)
class Style:
    """Wraps text in ANSI codes when ``enabled``; text passes through unchanged otherwise.
    Callers escape the text first: styling adds the only escape sequences in the output."""

    enabled: bool = False

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m"


PLAIN = Style(False)


def wants_color(stream: TextIO | None, environ: dict[str, str] | None = None) -> bool:
    """NO_COLOR (non-empty) wins, then FORCE_COLOR (non-empty), then: is it a terminal?"""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False
