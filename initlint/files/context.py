"""A partial run keeps its project: files named one by one (pre-commit's staged files, an
editor's buffer, a ``git diff`` script) are judged with the facts of the rest of their
project, so "nothing calls this init" or "this layer is built without a bias" is answered as
a whole-project run would answer it; findings are reported for the named files only.

A file's project is the nearest directory above it holding a ``pyproject.toml``, an
``initlint.toml`` or a ``.git``; its files are found with the same walk (excludes, gitignore)
as any directory run. A file outside any such project but inside a package takes the top of
its ``__init__.py`` chain as its project (as the editor does): a helper module named alone is
judged with the models of its package that call it. A lone script outside both has no
context but the other named files. Reading the context costs little once the cache holds
its facts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from initlint.core.config import CONFIG_FILE
from initlint.files.walk import DiscoveryError, Walk

ROOT_MARKERS = ("pyproject.toml", CONFIG_FILE, ".git")
#: A project bigger than this (a home directory under git, a monorepo) lends only the named
#: file's top-level package as context: linking ever more files would slow every run for
#: little gain, and the first run would parse them all.
MAX_CONTEXT_FILES = 5_000


def project_root(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` (absolute) with a root marker."""
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return None


def context_root(directory: Path) -> Path | None:
    """The project of a file in ``directory`` (absolute): its marked project root, else the
    top-level package holding it, else None (a script outside any package)."""
    root = project_root(directory)
    if root is not None:
        return root
    return package_of(directory) if (directory / "__init__.py").is_file() else None


@dataclass(frozen=True)
class Scope:
    """The files to read (named first, then context) and those to report on."""

    files: tuple[str, ...]
    report: frozenset[str]

    @property
    def partial(self) -> bool:
        return len(self.files) > len(self.report)


def with_project(files: list[str], named: Iterable[str], walk: Walk) -> Scope:
    """``files`` (what discovery found) plus the rest of the projects of the ``named``
    files (those given one by one); only ``files`` are reported."""
    seen = {os.path.realpath(f) for f in files}
    roots = []
    for name in named:
        root = context_root(Path(os.path.abspath(name)).parent)
        if root is not None and root not in roots:
            roots.append(root)
    context: list[str] = []
    for root in roots:
        try:
            found = walk.files([str(root)], limit=MAX_CONTEXT_FILES)
            if walk.truncated:  # too big: the named files' own packages only
                packages = {package_of(Path(os.path.abspath(f)).parent) for f in named}
                found = walk.files([str(p) for p in sorted(packages) if p.is_relative_to(root)],
                                   limit=MAX_CONTEXT_FILES)
        except DiscoveryError:
            continue
        for path in found:
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                context.append(path)
    return Scope((*files, *context), frozenset(files))


def package_of(directory: Path) -> Path:
    """The top-level package holding ``directory`` (itself outside any package)."""
    while (directory / "__init__.py").is_file() and (directory.parent / "__init__.py").is_file():
        directory = directory.parent
    return directory
