"""Rewrite a source file so that no race and no odd file can corrupt it or leak a write.

:func:`rewrite` applies ``change(current_bytes) -> new_bytes`` as a compare-and-swap:

- the file is opened without following a symlink, locked (``flock``: two ``initlint --fix``
  runs take turns), and re-checked to still be what the path names after the lock is held;
- ``change`` sees the bytes on disk *now* and refuses (raises) when they are not the bytes
  the edits were computed from;
- the result goes to a temp file in the same directory (mode and owner copied, fsynced) that
  atomically replaces the original, after a last check that the file did not change while
  it was being written (an editor's save in between makes us refuse, never overwrite).

A symlink is written through only when its target lies in the link's own directory (or
below it); one pointing anywhere else may leave the tree and is refused. Also refused, with
a one-line reason (:class:`WriteRefusedError`): anything but a regular file,
a file with other hard links (a rename would split them), a read-only file, a file owned by
another user (a rename would take it over).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the compare-and-swap still holds
    fcntl = None  # type: ignore[assignment]

#: How long to wait for another initlint run holding the file's lock.
LOCK_TIMEOUT_S = 30.0
#: Bigger files are not rewritten (nothing initlint analyses is this big).
MAX_BYTES = 64 * 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class WriteRefusedError(OSError):
    """The file was not written; ``str()`` is the one-line reason, naming the file."""

    def __str__(self) -> str:
        return self.args[0] if self.args else "not written"


def rewrite(path: str, change: Callable[[bytes], bytes]) -> None:
    """Replace ``path``'s content with ``change(content)`` atomically, under a lock, only if
    the file is still what ``change`` saw at the moment of the swap. Raises
    :class:`WriteRefusedError` (or what ``change`` raises) and then writes nothing."""
    target = _target(path)
    with _locked(target) as (fd, info):
        before = _read(fd, path, info)
        after = change(before)
        if after == before:
            return
        _swap(target, fd, info, after)


def _target(path: str) -> str:
    """The file to rewrite: ``path``, or a symlink's target inside the link's directory."""
    if not os.path.islink(path):
        return path
    real = os.path.realpath(path)
    home = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    if os.path.commonpath([home, real]) != home:
        raise _refuse(path, f"is a symlink to {real}, outside its directory")
    return real


def replace_bytes(path: str, expected: bytes, new: bytes) -> None:
    """Write ``new`` over ``path`` only if it still holds exactly ``expected``."""

    def change(current: bytes) -> bytes:
        if current != expected:
            raise WriteRefusedError(f"{path}: changed on disk since it was read; not written")
        return new

    rewrite(path, change)


def _refuse(path: str, why: str) -> WriteRefusedError:
    return WriteRefusedError(f"{path}: {why}; not written")


def _check(path: str, info: os.stat_result) -> None:
    """Only a plain, writable, singly linked regular file of ours is rewritten."""
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(path, "is a symlink (replaced while being fixed)")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "is not a regular file")
    if info.st_nlink > 1:
        raise _refuse(path, f"has {info.st_nlink} hard links (a rewrite would split them)")
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK, follow_symlinks=False):
        raise _refuse(path, "is read-only")
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid not in (None, 0, info.st_uid):
        raise _refuse(path, "is owned by another user (a rewrite would take it over)")
    if info.st_size > MAX_BYTES:
        raise _refuse(path, "is too large")


@contextlib.contextmanager
def _locked(path: str) -> Iterator[tuple[int, os.stat_result]]:
    """An fd of ``path`` (not followed through a symlink), exclusively locked, that the
    path still names once the lock is held (another run may have replaced the file while
    we waited: then the new file is opened and locked instead)."""
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            _check(path, os.lstat(path))
            fd = os.open(path, _OPEN_FLAGS)
        except WriteRefusedError:
            raise
        except OSError as exc:
            raise _refuse(path, f"cannot open ({exc.strerror or exc})") from None
        try:
            _lock(fd, path, deadline)
            info = os.fstat(fd)
            now = os.lstat(path)
            if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino):
                _check(path, info)
                yield fd, info
                return
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # replaced while we waited: lock what the path names now
        if time.monotonic() > deadline:
            raise _refuse(path, "keeps being replaced")


def _lock(fd: int, path: str, deadline: float) -> None:
    if fcntl is None:
        return
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise _refuse(path, "locked by another initlint run") from None
            time.sleep(0.02)
        except OSError:  # a file system without flock: the compare-and-swap still holds
            return


def _read(fd: int, path: str, info: os.stat_result) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, max(info.st_size - size, 0) + 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise _refuse(path, "is too large")


def _swap(path: str, fd: int, info: os.stat_result, data: bytes) -> None:
    """Temp file beside ``path`` (same mode and owner), then ``os.replace`` — unless the
    file changed since ``info`` was taken (size, mtime, inode: someone else wrote it)."""
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.join(directory, f".{os.path.basename(path)}.initlint-{os.getpid()}-"
                                   f"{os.urandom(4).hex()}.tmp")
    tmp = os.open(name, _TMP_FLAGS, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(tmp, view):]
            with contextlib.suppress(OSError, AttributeError):
                # root keeps the owner; a user keeps the group when allowed (the uid was
                # checked to be ours)
                if (info.st_uid, info.st_gid) != _ids(tmp):
                    os.fchown(tmp, info.st_uid, info.st_gid)
            with contextlib.suppress(AttributeError):
                os.fchmod(tmp, stat.S_IMODE(info.st_mode))
            os.fsync(tmp)
        finally:
            os.close(tmp)
        now = os.fstat(fd)
        on_disk = os.lstat(path)
        if ((now.st_size, now.st_mtime_ns) != (info.st_size, info.st_mtime_ns)
                or (on_disk.st_dev, on_disk.st_ino) != (info.st_dev, info.st_ino)):
            raise _refuse(path, "changed on disk while the fix was written")
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _ids(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_uid, info.st_gid
