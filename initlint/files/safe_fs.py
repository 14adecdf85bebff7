"""Filesystem access a hostile repository cannot abuse.

A linted tree is untrusted input. :func:`read_bytes` reads only regular files (never a FIFO,
a device or a socket: opened non-blocking and checked with ``fstat`` before any read), at
most :data:`MAX_FILE_BYTES`. :func:`safe_walk` walks a tree without recursion, never follows
a symlink that leaves it, and turns loops and unreadable entries into one-line warnings
while the rest is walked.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator

#: Files bigger than this are not analysed (an INI000 says so): no model file is this big,
#: and a generated or planted one must not cost the run its memory.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: What a directory walk lists as a source file (and warns about when it cannot).
SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFileError(OSError):
    """A FIFO, device, socket or directory where a source file was expected."""


class FileTooLargeError(OSError):
    """Bigger than :data:`MAX_FILE_BYTES`."""


def read_bytes(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else OSError with a reason.
    Opened non-blocking (a FIFO cannot hang the run) and checked with ``fstat`` on the
    open descriptor before reading (a device cannot stream forever); the read itself stops
    at ``limit`` (``/proc`` files report size 0)."""
    fd = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(0, "not a regular file (FIFO, device, socket or "
                                         "directory); not read")
        if info.st_size > limit:
            raise FileTooLargeError(0, _too_large(info.st_size, limit))
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, max(info.st_size - size, 0) + 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise FileTooLargeError(0, _too_large(size, limit, grew=True))
        return b"".join(chunks)
    finally:
        os.close(fd)


def text_too_large(text: str, limit: int = MAX_FILE_BYTES) -> str | None:
    """Why a text that is no file on disk (an editor's buffer) is not checked: what a file
    of its UTF-8 size would be told, or None when it is within the cap. A file's cap bounds
    a buffer too, or one huge generated document would hold up every other."""
    if len(text) <= limit // 4:  # at most 4 bytes a character: surely within
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return _too_large(size, limit) if size > limit else None


def _too_large(size: int, limit: int, grew: bool = False) -> str:
    mb = limit / (1024 * 1024)
    return (f"file larger than the {mb:g} MB limit "
            f"({'over ' if grew else ''}{size:,} bytes); not checked")


Warn = Callable[[str], None]


def safe_walk(top: str | os.PathLike[str], warn: Warn) -> Iterator[tuple[str, list[str],
                                                                     list[str]]]:
    """Like ``os.walk(top)`` (top-down; prune by editing the yielded ``dirnames``), but
    iterative (any depth), never entering a symlinked directory, listing a symlinked file
    only when its target is a regular file inside ``top``, and listing only regular files.
    Everything left out that a user might expect is reported once through ``warn``: a
    symlink leaving the tree, a symlink loop or dangling link, a FIFO/device named like a
    source file, a directory that cannot be read, a directory reached twice."""
    root = os.path.realpath(top)
    seen: set[tuple[int, int]] = set()
    stack = [os.fspath(top)]
    while stack:
        directory = stack.pop()
        try:
            info = os.stat(directory)
            if (info.st_dev, info.st_ino) in seen:
                warn(f"{directory}: directory reached twice (a loop); skipped")
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as exc:
            warn(f"{directory}: cannot read directory ({exc.strerror or exc}); skipped")
            continue
        dirnames: list[str] = []
        filenames: list[str] = []
        for entry in entries:
            kind = _kind(entry, root, warn)
            if kind == "dir":
                dirnames.append(entry.name)
            elif kind == "file":
                filenames.append(entry.name)
        yield directory, dirnames, filenames
        stack.extend(os.path.join(directory, name) for name in reversed(dirnames))


def _kind(entry: os.DirEntry[str], root: str, warn: Warn) -> str:
    """"dir", "file" or "" (left out, with a warning when it looks like a source file)."""
    looks_like_source = entry.name.endswith(SOURCE_SUFFIXES)
    try:
        if entry.is_dir(follow_symlinks=False):
            return "dir"
        if entry.is_symlink():
            return _link_kind(entry.path, root, warn) if looks_like_source else ""
        if entry.is_file(follow_symlinks=False):
            return "file"
    except OSError as exc:
        if looks_like_source:
            warn(f"{entry.path}: cannot read ({exc.strerror or exc}); skipped")
        return ""
    if looks_like_source:
        warn(f"{entry.path}: not a regular file (FIFO, device or socket); skipped")
    return ""


def _inside(root: str, target: str) -> bool:
    return os.path.commonpath([root, target]) == root


def _link_kind(path: str, root: str, warn: Warn) -> str:
    """A symlinked source file is linted when it resolves to a regular file in the tree."""
    try:
        target = os.path.realpath(path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ENOENT and _inside(root, os.path.realpath(path)):
            return "file"  # dangling inside the tree: reading it says so (INI000)
        reason = ("symlink loop" if exc.errno == errno.ELOOP
                  else f"broken symlink ({exc.strerror or exc})")
        warn(f"{path}: {reason}; skipped")
        return ""
    if not _inside(root, target):
        warn(f"{path}: symlink to {target}, outside the tree; not followed")
        return ""
    try:
        if not stat.S_ISREG(os.stat(target).st_mode):
            warn(f"{path}: symlink to something that is not a regular file; skipped")
            return ""
    except OSError as exc:
        warn(f"{path}: cannot read ({exc.strerror or exc}); skipped")
        return ""
    return "file"
