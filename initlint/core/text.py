"""Lines as Python's tokenizer counts them (``\\r\\n``, ``\\r``, ``\\n`` only).

``str.splitlines`` also breaks at form feeds, ``\\x85``, U+2028 and friends, which would
shift every row after them against the positions ``ast`` reports.
"""

from __future__ import annotations

import re
from functools import lru_cache

NEWLINE = re.compile(r"\r\n|\r|\n")


@lru_cache(maxsize=4)
def split_lines(text: str) -> tuple[str, ...]:
    """The lines of ``text`` without their endings (no empty last line, like splitlines).

    Memoized for the last few texts: rules and reporters ask once per finding, and a file
    with 10,000 findings must cost one split, not 10,000 (a ``str`` caches its hash, so a
    repeated call is O(1))."""
    lines = NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)
