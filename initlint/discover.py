"""Find the Python files to lint and read them without losing any."""

from __future__ import annotations

import codecs
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from initlint.config import Config


@dataclass(frozen=True)
class Source:
    """One file's text, as read; ``error`` is set when it could not be decoded."""

    path: str
    text: str
    error: str = ""
    bom: bool = False


class DiscoveryError(Exception):
    """A path given on the command line does not exist."""


def _excluded(path: Path, patterns: tuple[str, ...], root: Path | None, base: Path) -> bool:
    """Does an exclude pattern match a path component below ``base`` (the directory the
    user named: its own ancestors, say a ``build/`` or ``site-packages/`` the project lives
    in, never exclude it), or the path relative to the config root?"""
    below = path.relative_to(base).parts if path.is_relative_to(base) else (path.name,)
    rel = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    for pattern in patterns:
        if any(fnmatch.fnmatch(part, pattern) for part in below):
            return True
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(str(path), pattern):
            return True
    return False


def discover(paths: list[str], config: Config, force_exclude: bool = False) -> list[str]:
    """Python files under ``paths`` (explicit files are always kept unless force_exclude)."""
    patterns = config.exclude + config.extend_exclude
    root = Path(config.root) if config.root else None
    found: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise DiscoveryError(f"{raw}: no such file or directory")
        if path.is_file():
            resolved = path.resolve()
            if not (force_exclude and _excluded(resolved, patterns, root, resolved.parent)):
                found.append(str(path))
            continue
        base = path.resolve()
        for directory, dirnames, filenames in os.walk(path):
            current = Path(directory)
            dirnames[:] = sorted(d for d in dirnames if not _excluded(
                (current / d).resolve(), patterns, root, base))
            for filename in sorted(filenames):
                if filename.endswith((".py", ".pyi")):
                    file_path = current / filename
                    if not _excluded(file_path.resolve(), patterns, root, base):
                        found.append(str(file_path))
    return list(dict.fromkeys(found))


def read_source(path: str) -> Source:
    """Read bytes, honour a BOM and a PEP 263 coding line, keep CRLF as it is."""
    try:
        data = Path(path).read_bytes()
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
