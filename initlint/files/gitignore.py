"""What git ignores, matched as git matches it (``pathspec``'s gitignore rules).

Every ``.gitignore`` from the repository's root down to a path's directory counts, deeper
files overriding shallower ones, then ``.git/info/exclude``; a path outside any git
repository is never ignored (ruff's ``respect-gitignore`` behaves the same). A directory walk
that skips ignored directories never looks inside them, as git does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec


class GitIgnore:
    """Ignore files read once per directory and kept for the walk (one instance a run)."""

    def __init__(self) -> None:
        self._specs: dict[Path, GitIgnoreSpec | None] = {}
        self._roots: dict[Path, Path | None] = {}

    def repo_root(self, directory: Path) -> Path | None:
        """The nearest directory at or above ``directory`` holding ``.git``."""
        if directory in self._roots:
            return self._roots[directory]
        if (directory / ".git").exists():
            root: Path | None = directory
        elif directory.parent == directory:
            root = None
        else:
            root = self.repo_root(directory.parent)
        self._roots[directory] = root
        return root

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        """Does git ignore ``path`` (absolute, resolved)? Only its own name's patterns are
        asked: callers walking down have already skipped ignored parents."""
        root = self.repo_root(path.parent)
        if root is None or path == root:
            return False
        suffix = "/" if is_dir else ""
        directory = path.parent
        while True:  # deepest .gitignore first: the first that decides wins
            spec = self._spec(directory / ".gitignore")
            if spec is not None:
                verdict = spec.check_file(path.relative_to(directory).as_posix() + suffix)
                if verdict.include is not None:
                    return verdict.include
            if directory == root:
                break
            directory = directory.parent
        spec = self._spec(root / ".git" / "info" / "exclude")
        if spec is not None:
            verdict = spec.check_file(path.relative_to(root).as_posix() + suffix)
            if verdict.include is not None:
                return verdict.include
        return False

    def _spec(self, file: Path) -> GitIgnoreSpec | None:
        if file not in self._specs:
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            if lines:  # pathspec is imported only where some ignore file exists
                from pathspec import GitIgnoreSpec

                self._specs[file] = GitIgnoreSpec.from_lines(lines)
            else:
                self._specs[file] = None
        return self._specs[file]
