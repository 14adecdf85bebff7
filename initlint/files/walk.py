"""Which files to lint, each with its own settings (ruff's hierarchical configuration).

Every file takes the settings of the nearest config file above it: an ``initlint.toml``, or a
``pyproject.toml`` with a ``[tool.initlint]`` table (one without the table is not a config
and does not hide its parent's). ``--config PATH`` gives every file that one file's settings
instead. The order of the paths on the command line therefore never changes what a file is
checked with. Directory walks skip excluded paths (the patterns of the config governing the
directory walked) and, by default, what git ignores; files named explicitly are kept unless
``force-exclude`` is on, so pre-commit and editors can pass every file they see.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from initlint.core.config import Config, ConfigError, config_in, load_config
from initlint.files.gitignore import GitIgnore
from initlint.files.safe_fs import safe_walk

#: Files a directory walk picks up.
SUFFIXES = (".py", ".pyi", ".ipynb")


class DiscoveryError(Exception):
    """A path given on the command line does not exist."""


@dataclass(frozen=True)
class WalkOptions:
    """Command-line choices that override every config file's (None: the file decides)."""

    force_exclude: bool | None = None
    respect_gitignore: bool | None = None


class Resolver:
    """The settings of each directory, found once per directory and kept for the run.

    ``overrides`` turns a file's config into the effective one (command-line ``--select``
    and friends); a broken config file raises :class:`ConfigError` naming it.
    """

    def __init__(self, config_path: str | os.PathLike[str] | None = None,
                 overrides: Callable[[Config], Config] | None = None,
                 fixed: Config | None = None) -> None:
        self._overrides = overrides or (lambda config: config)
        self._fixed = fixed
        if fixed is None and config_path is not None:
            path = Path(config_path)
            if not path.is_file():
                raise ConfigError(f"{config_path}: config file not found")
            self._fixed = self._overrides(load_config(path))
        self._by_dir: dict[Path, Config] = {}
        self._by_file: dict[Path, Config] = {}

    @classmethod
    def single(cls, config: Config) -> Resolver:
        """Every file gets ``config`` (library callers, tests)."""
        return cls(fixed=config)

    def config_for_dir(self, directory: Path) -> Config:
        """Settings for the files directly in ``directory`` (absolute, resolved)."""
        if self._fixed is not None:
            return self._fixed
        known = self._by_dir.get(directory)
        if known is not None:
            return known
        found = config_in(directory)
        if found is not None:
            config = self._load(found)
        elif directory.parent == directory:
            config = self._overrides(Config())
        else:
            config = self.config_for_dir(directory.parent)
        self._by_dir[directory] = config
        return config

    def config_for(self, path: str | os.PathLike[str]) -> Config:
        """Settings for one file (it need not exist: stdin's ``--stdin-filename``)."""
        return self.config_for_dir(Path(os.path.abspath(path)).parent)

    def configs(self) -> list[Config]:
        """The distinct settings met so far (for ``--show-settings`` and validation)."""
        seen = [self._fixed] if self._fixed is not None else []
        for config in self._by_dir.values():
            if config not in seen:
                seen.append(config)
        return seen

    def _load(self, file: Path) -> Config:
        known = self._by_file.get(file)
        if known is None:
            known = self._overrides(load_config(file))
            self._by_file[file] = known
        return known


@lru_cache(maxsize=64)
def _matcher(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for a config's exclude patterns (fnmatch's meaning, as the patterns say)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def excluded(path: Path, config: Config, base: Path) -> bool:
    """Does an ``exclude``/``extend-exclude`` pattern match a path component below ``base``
    (the directory the user named: its own ancestors, say a ``build/`` or ``site-packages/``
    the project lives in, never exclude it), or the path relative to the config's root?"""
    matcher = _matcher(config.exclude + config.extend_exclude)
    if matcher is None:
        return False
    full = str(path)
    below = path.relative_to(base).parts if path.is_relative_to(base) else (path.name,)
    if any(matcher.match(part) for part in below):
        return True
    root = config.root
    if root and full.startswith(root + os.sep):
        return bool(matcher.match(full[len(root) + 1:]) or matcher.match(full))
    return bool(matcher.match(full))


def _flag(cli: bool | None, configured: bool) -> bool:
    return configured if cli is None else cli


@dataclass
class Walk:
    """One discovery: the resolver, the gitignore matcher, and what the user chose."""

    resolver: Resolver
    options: WalkOptions = WalkOptions()

    def __post_init__(self) -> None:
        self.gitignore = GitIgnore()
        self.limit: int | None = None
        self.truncated = False
        self.warnings: list[str] = []  # entries left out (symlinks out of the tree, loops, ...)

    def named_file_excluded(self, path: str | os.PathLike[str]) -> bool:
        """Is a file named explicitly (command line, pre-commit, an editor) left out?
        Only with force-exclude, and only by the exclude patterns, as in ruff."""
        resolved = Path(os.path.abspath(path))
        config = self.resolver.config_for_dir(resolved if resolved.is_dir() else
                                              resolved.parent)
        if not _flag(self.options.force_exclude, config.force_exclude):
            return False
        stop = Path(config.root) if config.root else Path.cwd()
        if not resolved.is_relative_to(stop):
            return excluded(resolved, config, resolved.parent)
        candidate = resolved
        while candidate != stop:  # the file and its directories up to the project root
            if excluded(candidate, config, candidate.parent):
                return True
            candidate = candidate.parent
        return False

    def files(self, paths: Iterable[str], limit: int | None = None) -> list[str]:
        """Python files under ``paths``, in a stable order, each once; a directory walk stops
        after ``limit`` files (``self.truncated`` says it did)."""
        self.limit, self.truncated = limit, False
        found: list[str] = []
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                raise DiscoveryError(f"{raw}: no such file or directory")
            if path.is_file():
                if not self.named_file_excluded(path):
                    found.append(str(path))
                continue
            if self.named_file_excluded(path):  # an excluded directory named by force
                continue
            found += self._walk(path)
        return unique_files(found)

    def _skip(self, entry: Path, config: Config, base: Path, is_dir: bool) -> bool:
        if excluded(entry, config, base):
            return True
        respect = _flag(self.options.respect_gitignore, config.respect_gitignore)
        return respect and self.gitignore.ignored(entry, is_dir)

    def _walk(self, path: Path) -> list[str]:
        base = path.resolve()
        out: list[str] = []
        real = {str(path): base}  # safe_walk enters no symlinked directory: no resolve()
        for directory, dirnames, filenames in safe_walk(path, self.warnings.append):
            current = Path(directory)
            here = real.pop(directory, None) or current.resolve()
            config = self.resolver.config_for_dir(here)
            dirnames[:] = sorted(d for d in dirnames
                                 if not self._skip(here / d, config, base, True))
            real.update((os.path.join(directory, d), here / d) for d in dirnames)
            for filename in sorted(filenames):
                if filename.endswith(SUFFIXES) and not self._skip(here / filename, config,
                                                                  base, False):
                    out.append(str(current / filename))
            if self.limit is not None and len(out) >= self.limit:
                self.truncated = True
                break
        return out


def unique_files(paths: list[str]) -> list[str]:
    """``paths`` without later names of a file already listed (``.``, ``sub/../m.py`` and
    ``/abs/m.py`` are one file, reported once). Keyed by device and inode: that needs no
    path resolution, and a name that cannot be stat'ed is kept for its read to report."""
    seen: set[tuple[int, int] | str] = set()
    out = []
    for path in paths:
        try:
            info = os.stat(path)
            key: tuple[int, int] | str = (info.st_dev, info.st_ino)
        except OSError:
            key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def discover_files(paths: Iterable[str], resolver: Resolver,
                   options: WalkOptions = WalkOptions()) -> list[str]:
    """Python files under ``paths`` with each file's settings from ``resolver``."""
    return Walk(resolver, options).files(paths)
