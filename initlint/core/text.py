"""Lines as Python's tokenizer counts them (``\\r\\n``, ``\\r``, ``\\n`` only).

``str.splitlines`` also breaks at form feeds, ``\\x85``, U+2028 and friends, which would
shift every row after them against the positions ``ast`` reports.
"""

from __future__ import annotations

import re

NEWLINE = re.compile(r"\r\n|\r|\n")


#: The last few texts split, most recent first, with their lines.
_SPLIT: list[tuple[str, tuple[str, ...]]] = []
_SPLIT_KEPT = 4


def split_lines(text: str) -> tuple[str, ...]:
    """The lines of ``text`` without their endings (no empty last line, like splitlines).

    Memoized for the last few texts, by identity: rules and reporters ask once per finding,
    and a file with 10,000 findings must cost one split, not 10,000. (An ``lru_cache`` keyed
    by the text compared an equal copy of it character by character on every hit: 10,000
    findings in an 800 KB file cost 10,000 × 800 KB.)"""
    for known, lines in _SPLIT:
        if known is text:
            return lines
    found = NEWLINE.split(text)
    if found and found[-1] == "":
        found.pop()
    lines = tuple(found)
    _SPLIT.insert(0, (text, lines))
    del _SPLIT[_SPLIT_KEPT:]
    return lines
