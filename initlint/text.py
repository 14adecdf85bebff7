"""Lines as Python's tokenizer counts them (``\\r\\n``, ``\\r``, ``\\n`` only).

``str.splitlines`` also breaks at form feeds, ``\\x85``, U+2028 and friends, which would
shift every row after them against the positions ``ast`` reports.
"""

from __future__ import annotations

import re

NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their endings (no empty last line, like splitlines)."""
    lines = NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
