"""Find the Python files to lint and read them without losing any (and only regular files
of a bounded size: :func:`initlint.files.safe_fs.read_bytes`)."""

from __future__ import annotations

from initlint.core.config import Config
from initlint.files.notebook import read_notebook
from initlint.files.source import Source, read_python
from initlint.files.walk import DiscoveryError, Resolver, WalkOptions, discover_files

__all__ = ["DiscoveryError", "Source", "discover", "read_source"]


def discover(paths: list[str], config: Config, force_exclude: bool = False) -> list[str]:
    """Python files under ``paths``, every one with ``config`` (explicit files are kept
    unless ``force_exclude``). Per-file settings: :mod:`initlint.files.walk`."""
    options = WalkOptions(force_exclude=force_exclude or None)
    return discover_files(paths, Resolver.single(config), options)


def read_source(path: str) -> Source:
    """A file's text: a notebook reads as its code cells' program, anything else as Python."""
    if path.lower().endswith(".ipynb"):
        return read_notebook(path)
    return read_python(path)
