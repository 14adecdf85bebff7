"""``# noqa: INIxxx`` comments: where to add a code, and which code the cursor is on.

The comment syntax is the engine's own (:data:`initlint.extract.extractor.NOQA`), so a comment this
module writes is one the engine honours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from initlint.extract.extractor import NOQA

_CODE = re.compile(r"[A-Z]+[0-9]+", re.I)


@dataclass(frozen=True)
class Insertion:
    """Replace 1-based code-point columns [start, end) of the line with ``content``."""

    start: int
    end: int
    content: str


def noqa_insertion(line: str, code: str) -> Insertion | None:
    """The edit that silences ``code`` on ``line``; None when it is silenced already."""
    match = NOQA.search(line)
    if match is not None:
        codes = match.group("codes")
        if not codes:
            return None  # a bare `# noqa` silences every code
        if code.upper() in {c.upper() for c in _CODE.findall(codes)}:
            return None
        end = match.end("codes") + 1
        return Insertion(end, end, f", {code}")
    content_end = len(line.rstrip())
    return Insertion(content_end + 1, len(line) + 1, f"  # noqa: {code}")


@dataclass(frozen=True)
class CodeAt:
    """A rule code inside a noqa comment, with its 1-based code-point columns [start, end)."""

    code: str
    start: int
    end: int


def noqa_code_at(line: str, column: int) -> CodeAt | None:
    """The code of a ``# noqa: …`` comment under 1-based ``column``, if any."""
    match = NOQA.search(line)
    if match is None or not match.group("codes"):
        return None
    offset = match.start("codes")
    for code in _CODE.finditer(match.group("codes")):
        start, end = offset + code.start() + 1, offset + code.end() + 1
        if start <= column <= end:
            return CodeAt(code.group().upper(), start, end)
    return None
