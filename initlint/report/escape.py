"""Neutralize what a linted repository controls before it reaches a terminal or a CI log.

File names, source excerpts and messages (which quote source) come from code initlint did
not write. Printed raw, an ESC starts a terminal escape sequence (OSC 52 writes the
clipboard, CSI clears the screen), a newline starts a new log line, and a line whose first
non-blank characters are ``::`` — or any ``##[`` — is a GitHub Actions workflow command.

- :func:`text`: one piece of one line. Every control character becomes a visible stand-in
  of one column (control pictures: ``␛``, ``␊``, ``␉`` is kept as a tab), so carets under an
  excerpt stay aligned; lone surrogates (undecodable bytes) and bidi controls become
  ``�``; ``##[`` is broken with a zero-width space.
- :func:`path`: a file name for display: undecodable bytes as ``\\xNN``, then :func:`text`.
- :func:`lines`: a last pass over a rendered report: no line can start with ``::`` (after
  blanks and colour codes). Reporters for people call it on their whole output.
- :func:`scrub`: only the lone surrogates (for JSON written with ``ensure_ascii=False``).
"""

from __future__ import annotations

import os
import re

#: C0 controls but tab, DEL, C1 controls → their control picture (one column wide).
_PICTURES = {c: chr(0x2400 + c) for c in range(0x20) if c != 0x09}
_PICTURES[0x7F] = "\u2421"
_PICTURES.update({c: "\ufffd" for c in range(0x80, 0xA0)})
#: Line and paragraph separators, and the bidirectional controls of "Trojan Source".
_PICTURES.update({c: "\ufffd" for c in (0x2028, 0x2029, 0x061C, 0x200E, 0x200F,
                                        *range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_SURROGATES = re.compile("[\ud800-\udfff]")
_NEEDS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f"
                    "\u202a-\u202e\u2066-\u2069\ud800-\udfff]|##\\[")
_ZWSP = "\u200b"
#: A line the runner reads as a workflow command: blanks and SGR colour codes, then "::".
_COMMAND_START = re.compile(r"^((?:[ \t\f\v]|\x1b\[[0-9;]*m)*):(?=:)", re.MULTILINE)


_KEEP_NEWLINES = {**_PICTURES}
del _KEEP_NEWLINES[0x0A], _KEEP_NEWLINES[0x0D]


def text(value: str, newlines: bool = False) -> str:
    """One piece of one terminal line, safe to print (see the module doc). ``newlines``
    keeps CR and LF (for a format that escapes them itself: github's ``%0A``)."""
    if not _NEEDS.search(value):  # the common case: nothing to do
        return value
    value = _SURROGATES.sub("\ufffd", value).translate(_KEEP_NEWLINES if newlines
                                                          else _PICTURES)
    return value.replace("##[", f"##{_ZWSP}[")


def path(value: str) -> str:
    """A file name for display: bytes that were not UTF-8 (surrogate-escaped by the OS
    layer) show as ``\\xNN``, then every control character as in :func:`text`."""
    if _SURROGATES.search(value):
        value = os.fsencode(value).decode("utf-8", "backslashreplace")
    return text(value)


def lines(report: str) -> str:
    """No line of ``report`` may be read as a workflow command (``::`` first, ``##[``
    anywhere): a zero-width space goes between the colons, and inside ``##[``."""
    if "::" in report:
        report = _COMMAND_START.sub(lambda m: f"{m.group(1)}:{_ZWSP}", report)
    return report.replace("##[", f"##{_ZWSP}[")


def scrub(value: str) -> str:
    """Lone surrogates → U+FFFD (valid Unicode for JSON readers and UTF-8 streams)."""
    return _SURROGATES.sub("\ufffd", value)


def json_text(document: str) -> str:
    """A JSON document safe in a CI log: ``##[`` (only ever inside a string) is written
    ``#\\u0023[``, the same string to any JSON reader. JSON escapes control characters and
    starts no line with ``::`` by itself."""
    return document.replace("##[", "#\\u0023[")
