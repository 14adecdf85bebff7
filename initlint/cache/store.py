"""A persistent cache of per-file facts and of whole-run findings.

Two kinds of entry, both data-only JSON (:mod:`initlint.cache.codec`) under one directory:

- ``facts``: one file's parse + extract result (:class:`~initlint.engine.lint.Parsed` without its
  text), keyed by the hash of the bytes analysed, the file's path and dotted module name, and
  the code fingerprint. Config plays no part: extraction does not read it.
- ``run``: the findings of a whole run, keyed by the code fingerprint, the effective config
  and every file's facts key. Any edit anywhere changes the key, so cross-file facts (a
  helper in one file used by a model in another) are always relinked and rechecked; the
  facts of unchanged files still come from the cache.

Where it lives: a per-user directory (``$XDG_CACHE_HOME/initlint``, else
``~/.cache/initlint``; ``INITLINT_CACHE_DIR`` overrides), never inside the linted tree, so a
repository cannot plant entries or redirect writes. The directory is created 0700; an
existing one is used only if it is a real directory (not a symlink) owned by this user and
writable by no one else. Everything below it is reached through directory file descriptors
with ``O_NOFOLLOW``, so a symlink swapped in anywhere is never followed. ``CACHEDIR.TAG`` and
``.gitignore`` are written only into a directory initlint itself created, with ``O_EXCL``.
Pruning deletes only files named like entries, inside its own shard directories.

Each entry starts with a digest of the rest (:func:`seal`): a bit flipped on disk, a
truncated write or a hand edit that still parses as JSON is a miss, never another report.
An entry that cannot be read or decoded, or that is not what this build would have written
(a class, a field count or a field type it would not write), is a miss (and is removed);
a cache directory that cannot be used turns the cache off (with one reason in
:attr:`Cache.problem`). The cache never makes a run fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import initlint
from initlint.cache import codec
from initlint.core.config import Config

ENV_VAR = "INITLINT_CACHE_DIR"
DIRECTORY_NAME = "initlint"
#: Bump when the layout or the entry format changes (3: each entry starts with its digest).
LAYOUT = "3"
DAY = 86_400
PRUNE_EVERY_S = DAY
#: Entries of the current build not read or written for this long are removed.
MAX_AGE_DAYS = 30
#: Entries of other initlint builds (older versions, edited checkouts) unused for this long.
OTHER_BUILD_DAYS = 7
#: An entry bigger than this is not read (a planted or corrupted file, never ours).
MAX_ENTRY_BYTES = 256 * 1024 * 1024
KINDS = ("facts", "run")
_KEY = re.compile(r"[0-9a-f]{32}")
_LAYOUT_DIR = re.compile(r"v[0-9]{1,4}")
#: A time further than this in the future is a wrong clock's (a VM booted with one): it
#: counts as now, so a stamp or an entry from it ages like any other instead of never.
FUTURE_SLACK_S = 3_600
_SHARD = re.compile(r"[0-9a-f]{2}")
_TMP_PREFIX = ".tmp-"
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by initlint.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_SUPPORTED = (os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd
              and hasattr(os, "O_NOFOLLOW"))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """What must change the cache key when initlint itself changes (also in development)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{initlint.__version__}|{sys.version_info[:2]}|{LAYOUT}".encode())
    package = Path(initlint.__file__).parent
    for path in sorted(package.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(package)}|{info.st_size}|{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def config_key(config: Config, enabled: Iterable[str]) -> str:
    """The effective settings that change findings (root: per-file-ignores are relative)."""
    return repr((config.key(), config.root, tuple(sorted(enabled))))


def user_cache_home() -> Path:
    """The per-user cache directory of this platform (what pip, ruff and mypy's users
    expect): ``$XDG_CACHE_HOME`` when absolute, else ``~/.cache`` (``~/Library/Caches`` on
    macOS, ``%LOCALAPPDATA%`` on Windows)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    return Path.home() / ".cache"


def default_directory(config: Config | None = None) -> Path:
    """``$INITLINT_CACHE_DIR``, else ``initlint`` in the per-user cache directory. Never
    derived from the linted tree (``config`` is accepted for callers that pass it)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).absolute()
    return user_cache_home() / DIRECTORY_NAME


class CacheUnusableError(OSError):
    """The cache directory is not one initlint may use (symlink, foreign owner, ...)."""


@contextlib.contextmanager
def _opened(path: str, dir_fd: int | None = None) -> Iterator[int]:
    fd = os.open(path, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _subdir(parent: int, name: str, create: bool) -> int:
    """Open directory ``name`` below the directory ``parent`` without following a symlink,
    creating it (0700) when asked. Raises OSError when it is anything but a directory."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _trusted(fd: int, where: Path) -> None:
    """A cache root this user owns and nobody else may write to (else: unusable)."""
    info = os.fstat(fd)
    if not stat.S_ISDIR(info.st_mode):
        raise CacheUnusableError(f"{where} is not a directory")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise CacheUnusableError(f"{where} is owned by another user")
    if info.st_mode & 0o022:
        raise CacheUnusableError(f"{where} is writable by other users")


def seal(payload: bytes) -> bytes:
    """An entry as written: the hex digest of ``payload``, a newline, ``payload``."""
    return hashlib.blake2b(payload, digest_size=16).hexdigest().encode() + b"\n" + payload


def unseal(data: bytes) -> bytes | None:
    """The payload of a sealed entry, or None when its digest does not match."""
    digest, newline, payload = data.partition(b"\n")
    if not newline or hashlib.blake2b(payload, digest_size=16).hexdigest().encode() != digest:
        return None
    return payload


def _write_new(dir_fd: int, name: str, data: bytes) -> None:
    """Create ``name`` (never an existing file, never through a symlink)."""
    with contextlib.suppress(FileExistsError):
        fd = os.open(name, _WRITE_FLAGS, 0o600, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


class Cache:
    """Facts and findings on disk, one small file per entry, written atomically."""

    def __init__(self, directory: str | os.PathLike[str],
                 warn: Callable[[str], None] | None = None):
        self.root = Path(directory).absolute()
        self.warn = warn  # told once, when the cache turns itself off
        self.fingerprint = code_fingerprint()
        self.base = self.root / f"v{LAYOUT}" / self.fingerprint  # where this build's entries are
        self.enabled = _SUPPORTED
        self.problem = "" if _SUPPORTED else "this platform cannot open files safely"
        self.hits = 0
        self.misses = 0
        self._kinds: dict[str, int] = {}  # kind → fd of its directory, once opened

    @classmethod
    def for_config(cls, config: Config | None = None,
                   warn: Callable[[str], None] | None = None) -> Cache:
        return cls(default_directory(config), warn)

    # --- keys ------------------------------------------------------------------------

    def file_key(self, path: str, module: str, digest: str) -> str:
        """``digest``: :func:`content_hash` of the text analysed."""
        raw = f"{self.fingerprint}|{path}|{module}|{digest}"
        return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"),
                               digest_size=16).hexdigest()

    def run_key(self, config_id: str, file_keys: Iterable[tuple[str, str]]) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{self.fingerprint}|{config_id}".encode("utf-8", "surrogatepass"))
        for path, key in file_keys:
            digest.update(f"\0{path}\0{key}".encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    # --- the directory -----------------------------------------------------------------

    def _root_fd(self, create: bool) -> int:
        """The cache root, checked: created 0700 (and tagged) if missing and ``create``."""
        made = False
        if create:
            try:
                self.root.parent.mkdir(parents=True, exist_ok=True)
                os.mkdir(self.root, 0o700)
                made = True
            except FileExistsError:
                pass
        try:
            fd = os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            if os.path.islink(self.root):
                raise CacheUnusableError(f"{self.root} is a symlink") from None
            raise exc
        try:
            _trusted(fd, self.root)
            if made:  # only a directory initlint created itself gets its marker files
                _write_new(fd, "CACHEDIR.TAG", _TAG.encode())
                _write_new(fd, ".gitignore", b"# Created by initlint.\n*\n")
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextlib.contextmanager
    def _shard(self, kind: str, key: str, create: bool) -> Iterator[int]:
        """The directory fd of ``<root>/v<LAYOUT>/<fingerprint>/<kind>/<key[:2]>``. The
        ``<kind>`` directory's fd is opened (checked, without following symlinks) once and
        kept for the cache's life: each entry then costs one more open, not five."""
        kind_fd = self._kinds.get(kind)
        if kind_fd is None:
            fds = [self._root_fd(create)]
            try:
                for name in (f"v{LAYOUT}", self.base.name, kind):
                    fds.append(_subdir(fds[-1], name, create))
            except BaseException:
                for fd in fds:
                    os.close(fd)
                raise
            for fd in fds[:-1]:
                os.close(fd)
            kind_fd = self._kinds[kind] = fds[-1]
        shard = _subdir(kind_fd, key[:2], create)
        try:
            yield shard
        finally:
            os.close(shard)

    def close(self) -> None:
        """Release the directory descriptors kept open (also done when collected)."""
        for fd in self._kinds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._kinds.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _off(self, exc: OSError) -> None:
        self.enabled = False
        if not self.problem:
            reason = str(exc) if isinstance(exc, CacheUnusableError) else (
                f"{self.root}: {exc.strerror or exc}")
            self.problem = f"cache disabled: {reason}"
            if self.warn is not None:
                self.warn(self.problem)

    # --- entries ---------------------------------------------------------------------

    def _entry(self, kind: str, key: str) -> Path:
        """Where an entry lives (for people and tests; access goes through :meth:`_shard`)."""
        return self.base / kind / key[:2] / key

    def has(self, kind: str, key: str) -> bool:
        if not self.enabled or not _KEY.fullmatch(key):
            return False
        try:
            with self._shard(kind, key, create=False) as shard:
                info = os.stat(key, dir_fd=shard, follow_symlinks=False)
        except CacheUnusableError as exc:
            self._off(exc)
            return False
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode)

    def get(self, kind: str, key: str) -> Any | None:
        """The stored value, or None on a miss or an unusable entry (never raises)."""
        if not self.enabled or not _KEY.fullmatch(key):
            return None
        try:
            with self._shard(kind, key, create=False) as shard:
                data = self._read(shard, key)
                if data is None:
                    self.misses += 1
                    return None
                try:
                    payload = unseal(data)
                    if payload is None:  # corrupted, or not ours
                        raise codec.DecodeError("digest mismatch")
                    stored_key, value = codec.loads(payload)
                    if stored_key != key:
                        raise codec.DecodeError("key mismatch")
                except (codec.DecodeError, TypeError, ValueError):
                    self.misses += 1
                    with contextlib.suppress(OSError):
                        os.unlink(key, dir_fd=shard)
                    return None
                with contextlib.suppress(OSError, NotImplementedError):
                    os.utime(key, dir_fd=shard, follow_symlinks=False)  # in use: kept
        except CacheUnusableError as exc:
            self._off(exc)
            return None
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        return value

    @staticmethod
    def _read(shard: int, key: str) -> bytes | None:
        """A regular file's bytes (never a FIFO, device or symlink; never unbounded)."""
        fd = os.open(key, _READ_FLAGS, dir_fd=shard)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                return None
            chunks, size = [], 0
            while size <= info.st_size:
                chunk = os.read(fd, max(info.st_size - size, 0) + 1)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks) if size <= MAX_ENTRY_BYTES else None
        finally:
            os.close(fd)

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value``; a failure to write turns the cache off for this run."""
        if not self.enabled or not _KEY.fullmatch(key):
            return
        try:
            data = seal(codec.dumps((key, value)))
        except codec.EncodeError:
            return  # this one value cannot be stored; it is computed again next time
        try:
            with self._shard(kind, key, create=True) as shard:
                tmp = f"{_TMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}"
                fd = os.open(tmp, _WRITE_FLAGS, 0o600, dir_fd=shard)
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(data)
                    os.replace(tmp, key, src_dir_fd=shard, dst_dir_fd=shard)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp, dir_fd=shard)
                    raise
        except OSError as exc:
            self._off(exc)

    # --- pruning ---------------------------------------------------------------------

    def prune(self, now: float | None = None) -> int:
        """At most once a day: drop entries unused for :data:`MAX_AGE_DAYS`, and those of
        other initlint builds unused for :data:`OTHER_BUILD_DAYS` (every upgrade or edit of
        initlint starts a new tree). Only files named like entries (or this module's temp
        files), inside ``v<LAYOUT>/<build>/<kind>/<shard>/`` of the cache's own directory, are
        ever removed; symlinks are never followed. Returns the number of files removed."""
        if not self.enabled:
            return 0
        self.close()  # a kept directory fd must not outlive a directory pruned away
        now = time.time() if now is None else now
        try:
            root = self._root_fd(create=False)
        except CacheUnusableError as exc:
            self._off(exc)
            return 0
        except OSError:
            return 0
        try:
            with _opened(f"v{LAYOUT}", root) as layout:
                if not self._due(layout, now):
                    return 0
                removed = sum(self._prune_build(layout, build, now) for build in _names(layout)
                              if _KEY.fullmatch(build))
            return removed + self._prune_old_layouts(root, now)
        except OSError:
            return 0
        finally:
            os.close(root)

    def _prune_old_layouts(self, root: int, now: float) -> int:
        """Entries of earlier layouts (``v2/`` after an upgrade to ``v3/``) are other builds'
        entries: removed once unused for :data:`OTHER_BUILD_DAYS`, directories and all."""
        removed = 0
        for name in _names(root):
            if not _LAYOUT_DIR.fullmatch(name) or name == f"v{LAYOUT}":
                continue
            with contextlib.suppress(OSError), _opened(name, root) as layout:
                removed += sum(self._prune_build(layout, build, now)
                               for build in _names(layout) if _KEY.fullmatch(build))
                with contextlib.suppress(OSError):
                    os.unlink(".pruned", dir_fd=layout)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=root)  # only when now empty
        return removed

    @staticmethod
    def _due(layout: int, now: float) -> bool:
        """Touch the ``.pruned`` stamp when a day has passed since the last prune, or when
        the stamp is from the future (a wrong clock once): else pruning would wait for it."""
        try:
            info = os.stat(".pruned", dir_fd=layout, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                return False
            if -FUTURE_SLACK_S < now - info.st_mtime < PRUNE_EVERY_S:
                return False
            os.utime(".pruned", (now, now), dir_fd=layout, follow_symlinks=False)
        except FileNotFoundError:
            _write_new(layout, ".pruned", b"")
        return True

    def _prune_build(self, layout: int, build: str, now: float) -> int:
        current = build == self.base.name
        max_age = (MAX_AGE_DAYS if current else OTHER_BUILD_DAYS) * DAY
        removed = 0
        try:
            with _opened(build, layout) as build_fd:
                for kind in KINDS:
                    with contextlib.suppress(OSError), _opened(kind, build_fd) as kind_fd:
                        for shard in [s for s in _names(kind_fd) if _SHARD.fullmatch(s)]:
                            with contextlib.suppress(OSError), _opened(shard, kind_fd) as fd:
                                removed += _prune_shard(fd, now - max_age, now - DAY, now)
                            with contextlib.suppress(OSError):
                                os.rmdir(shard, dir_fd=kind_fd)  # only when now empty
                    with contextlib.suppress(OSError):
                        os.rmdir(kind, dir_fd=build_fd)
            if not current:
                with contextlib.suppress(OSError):
                    os.rmdir(build, dir_fd=layout)
        except OSError:
            pass
        return removed


def _names(dir_fd: int) -> list[str]:
    return os.listdir(dir_fd)


def _prune_shard(fd: int, entries_before: float, temps_before: float, now: float) -> int:
    """Remove this shard's entries last used before ``entries_before`` and its abandoned
    temp files; nothing that is not a regular file named like one of ours."""
    removed = 0
    for name in _names(fd):
        is_entry = bool(_KEY.fullmatch(name))
        if not (is_entry or name.startswith(_TMP_PREFIX)):
            continue
        with contextlib.suppress(OSError, NotImplementedError):
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_mtime < (entries_before if is_entry else temps_before):
                os.unlink(name, dir_fd=fd)
                removed += 1
            elif info.st_mtime > now + FUTURE_SLACK_S:  # from a wrong clock: ages from now
                os.utime(name, (now, now), dir_fd=fd, follow_symlinks=False)
    return removed
