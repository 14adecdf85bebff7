"""A persistent cache of per-file facts and of whole-run findings.

Two kinds of entry, both pickles under one directory:

- ``facts``: one file's parse + extract result (:class:`~initlint.engine.Parsed` without its
  text), keyed by the file's content hash, its path and dotted module name, and the code
  fingerprint. Config plays no part: extraction does not read it.
- ``run``: the findings of a whole run, keyed by the code fingerprint, the effective config
  and every file's facts key. Any edit anywhere changes the key, so cross-file facts (a
  helper in one file used by a model in another) are always relinked and rechecked; the
  facts of unchanged files still come from the cache.

The code fingerprint covers initlint's version, every source file of the package (name,
size, mtime) and the Python version, so a changed rule never serves stale findings.
An entry that cannot be read or unpickled is a miss (and is removed); a cache directory
that cannot be written turns the cache off. The cache never makes a run fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import initlint
from initlint.config import Config

ENV_VAR = "INITLINT_CACHE_DIR"
DEFAULT_NAME = ".initlint_cache"
#: Bump when the layout or the entry format changes.
LAYOUT = "1"
DAY = 86_400
PRUNE_EVERY_S = DAY
#: Entries of the current build not read or written for this long are removed.
MAX_AGE_DAYS = 30
#: Trees of other initlint builds (older versions, edited checkouts) unused for this long.
OTHER_BUILD_DAYS = 7
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by initlint.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """What must change the cache key when initlint itself changes (also in development)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{initlint.__version__}|{sys.version_info[:2]}|{LAYOUT}".encode())
    package = Path(initlint.__file__).parent
    for path in sorted(package.rglob("*.py")):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(package)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def config_key(config: Config, enabled: Iterable[str]) -> str:
    """The effective settings that change findings (root: per-file-ignores are relative)."""
    return repr((config.key(), config.root, tuple(sorted(enabled))))


def default_directory(config: Config) -> Path:
    """``$INITLINT_CACHE_DIR``, else ``.initlint_cache`` beside the pyproject.toml (or in the
    current directory), like ruff's ``.ruff_cache``."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return Path(config.root or os.getcwd()) / DEFAULT_NAME


class Cache:
    """Facts and findings on disk, one small file per entry, written atomically."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.root = Path(directory)
        self.fingerprint = code_fingerprint()
        self.base = self.root / f"v{LAYOUT}" / self.fingerprint
        self.enabled = True
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_config(cls, config: Config) -> Cache:
        return cls(default_directory(config))

    # --- keys ------------------------------------------------------------------------

    def file_key(self, path: str, module: str, digest: str) -> str:
        """``digest``: :func:`content_hash` of the file's text."""
        raw = f"{self.fingerprint}|{path}|{module}|{digest}"
        return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"),
                               digest_size=16).hexdigest()

    def run_key(self, config_id: str, file_keys: Iterable[tuple[str, str]]) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{self.fingerprint}|{config_id}".encode("utf-8", "surrogatepass"))
        for path, key in file_keys:
            digest.update(f"\0{path}\0{key}".encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    # --- entries ---------------------------------------------------------------------

    def _entry(self, kind: str, key: str) -> Path:
        return self.base / kind / key[:2] / key

    def has(self, kind: str, key: str) -> bool:
        return self.enabled and self._entry(kind, key).is_file()

    def get(self, kind: str, key: str) -> Any | None:
        """The stored value, or None on a miss or an unreadable entry (never raises)."""
        if not self.enabled:
            return None
        entry = self._entry(kind, key)
        try:
            data = entry.read_bytes()
        except OSError:
            self.misses += 1
            return None
        try:
            value = pickle.loads(data)
        except Exception:  # a truncated or foreign file: drop it and recompute
            self.misses += 1
            _remove(entry)
            return None
        if not (isinstance(value, tuple) and len(value) == 2 and value[0] == key):
            self.misses += 1
            _remove(entry)
            return None
        self.hits += 1
        with contextlib.suppress(OSError):
            os.utime(entry)  # in use: not pruned
        return value[1]

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value``; a failure to write turns the cache off for this run."""
        if not self.enabled:
            return
        entry = self._entry(kind, key)
        try:
            data = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return  # this one value cannot be stored; it is computed again next time
        try:
            self._prepare()
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, entry)
            except BaseException:
                _remove(Path(tmp))
                raise
        except OSError:
            self.enabled = False

    def prune(self, now: float | None = None) -> int:
        """At most once a day: drop entries unused for :data:`MAX_AGE_DAYS`, and the whole
        tree of other initlint builds unused for :data:`OTHER_BUILD_DAYS` (every upgrade
        or edit of initlint starts a new tree). Returns the number of files removed."""
        now = time.time() if now is None else now
        layout = self.root / f"v{LAYOUT}"
        stamp = layout / ".pruned"
        try:
            if now - stamp.stat().st_mtime < PRUNE_EVERY_S:
                return 0
        except OSError:
            if not layout.is_dir():
                return 0
        removed = 0
        try:
            stamp.touch()
            for build in layout.iterdir():
                if not build.is_dir():
                    continue
                if build.name != self.fingerprint:
                    if now - _newest(build) > OTHER_BUILD_DAYS * DAY:
                        removed += sum(1 for p in build.rglob("*") if p.is_file())
                        shutil.rmtree(build, ignore_errors=True)
                    continue
                for entry in build.glob("*/*/*"):
                    with contextlib.suppress(OSError):
                        if now - entry.stat().st_mtime > MAX_AGE_DAYS * DAY:
                            entry.unlink()
                            removed += 1
        except OSError:
            pass
        return removed

    def _prepare(self) -> None:
        """Mark the directory as a cache (backup tools, git) the first time it is written."""
        if (self.root / "CACHEDIR.TAG").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "CACHEDIR.TAG").write_text(_TAG)
        (self.root / ".gitignore").write_text("# Created by initlint.\n*\n")


def _newest(directory: Path) -> float:
    """When a build's tree was last used (its newest entry: hits touch them)."""
    newest = directory.stat().st_mtime
    for kind in directory.iterdir():
        for shard in kind.iterdir() if kind.is_dir() else ():
            newest = max([newest, *(p.stat().st_mtime for p in shard.iterdir())])
    return newest


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
