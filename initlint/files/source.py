"""One file's text as Python reads it: bytes decoded by BOM and PEP 263 coding line, CRLF
kept, and every failure an error string (INI000), never an exception."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from initlint.files.safe_fs import read_bytes


@dataclass(frozen=True)
class Source:
    """One file's text, as read; ``error`` is set when it could not be decoded."""

    path: str
    text: str
    error: str = ""
    bom: bool = False


def read_python(path: str) -> Source:
    """Read bytes, honour a BOM and a PEP 263 coding line, keep CRLF as it is."""
    try:
        data = read_bytes(path)
    except OSError as exc:
        return Source(path, "", f"cannot read file: {exc.strerror or exc}")
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8):]
    encoding = declared_encoding(data) or "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Source(path, "", f"cannot decode file as {encoding}: byte "
                      f"0x{data[exc.start]:02x} at line {row}, byte {column}: {exc.reason}", bom)
    except LookupError:
        return Source(path, "", f"unknown encoding {encoding!r} in the coding line", bom)
    return Source(path, text, "", bom)


def declared_encoding(data: bytes) -> str | None:
    """The encoding a PEP 263 coding line on one of the first two lines declares."""
    for line in data.split(b"\n", 2)[:2]:
        if line.lstrip().startswith(b"#") and b"coding" in line:
            match = re.search(rb"coding[:=]\s*([-\w.]+)", line)
            if match:
                return match.group(1).decode("ascii", "replace")
    return None
