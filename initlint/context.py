"""A partial run keeps its project: files named one by one (pre-commit's staged files, an
editor's buffer, a ``git diff`` script) are judged with the facts of the rest of their
project, so "nothing calls this init" or "this layer is built without a bias" is answered as
a whole-project run would answer it; findings are reported for the named files only.

A file's project is the nearest directory above it holding a ``pyproject.toml``, an
``initlint.toml`` or a ``.git``; its files are found with the same walk (excludes, gitignore)
as any directory run. A file outside any project has no context but the other named files.
Reading the context costs little once the cache holds its facts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from initlint.config import CONFIG_FILE
from initlint.walk import DiscoveryError, Walk

ROOT_MARKERS = ("pyproject.toml", CONFIG_FILE, ".git")
#: A project bigger than this lends only its nearest files as context (a home directory
#: under git, a monorepo): linking ever more files would slow the hook for little gain.
MAX_CONTEXT_FILES = 20_000


@lru_cache(maxsize=1024)
def project_root(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` (absolute) with a root marker."""
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return None


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
        root = project_root(Path(os.path.abspath(name)).parent)
        if root is not None and root not in roots:
            roots.append(root)
    context: list[str] = []
    for root in roots:
        try:
            found = walk.files([str(root)])
        except DiscoveryError:
            continue
        for path in _nearest(found, [Path(os.path.abspath(f)).parent for f in named]):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                context.append(path)
    return Scope((*files, *context), frozenset(files))


def _nearest(found: list[str], anchors: list[Path]) -> list[str]:
    """All of ``found`` when small enough, else those nearest to an anchor directory."""
    if len(found) <= MAX_CONTEXT_FILES:
        return found

    def distance(path: str) -> int:
        parts = Path(path).parent.parts
        best = len(parts)
        for anchor in anchors:
            common = len(os.path.commonpath([path, str(anchor)]).split(os.sep))
            best = min(best, len(parts) + len(anchor.parts) - 2 * common)
        return best

    return sorted(found, key=distance)[:MAX_CONTEXT_FILES]
