"""Find the Python files to lint and read them without losing any (and only regular files
of a bounded size: :func:`initlint.files.safe_fs.read_bytes`)."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from initlint.core.config import Config
from initlint.files.safe_fs import read_bytes
from initlint.files.walk import DiscoveryError, Resolver, WalkOptions, discover_files

__all__ = ["DiscoveryError", "Source", "discover", "read_source"]


@dataclass(frozen=True)
class Source:
    """One file's text, as read; ``error`` is set when it could not be decoded."""

    path: str
    text: str
    error: str = ""
    bom: bool = False


def discover(paths: list[str], config: Config, force_exclude: bool = False) -> list[str]:
    """Python files under ``paths``, every one with ``config`` (explicit files are kept
    unless ``force_exclude``). Per-file settings: :mod:`initlint.files.walk`."""
    options = WalkOptions(force_exclude=force_exclude or None)
    return discover_files(paths, Resolver.single(config), options)


def read_source(path: str) -> Source:
    """Read bytes, honour a BOM and a PEP 263 coding line, keep CRLF as it is."""
    if path.lower().endswith(".ipynb"):  # a notebook reads as its code cells' program
        from initlint.files.notebook import read_notebook

        return read_notebook(path)
    try:
        data = read_bytes(path)
    except OSError as exc:
        return Source(path, "", f"cannot read file: {exc.strerror or exc}")
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8):]
    encoding = _declared_encoding(data) or "utf-8"
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


def _declared_encoding(data: bytes) -> str | None:
    for line in data.split(b"\n", 2)[:2]:
        if line.lstrip().startswith(b"#") and b"coding" in line:
            import re

            match = re.search(rb"coding[:=]\s*([-\w.]+)", line)
            if match:
                return match.group(1).decode("ascii", "replace")
    return None
