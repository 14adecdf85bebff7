"""What a re-lint needs besides the buffer: the workspace's config and the other files.

Both are cached so a keystroke re-parses only the document being edited: configs by the
pyproject's (path, mtime), neighbours by (path, mtime, size). Neighbours are the files of the
document's top-level package (or its directory's ``.py`` siblings outside a package), nearest
first and capped, parsed the first time a document of that package is linted. Open buffers
stand in for their files on disk.

Everything here runs on the server's single lint thread; nothing is shared with the event
loop except the immutable values it returns.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from initlint.config import Config, ConfigError, find_pyproject, load_config
from initlint.discover import DiscoveryError, Source, discover
from initlint.engine import Parsed, lint_text, parse_path, parse_source
from initlint.findings import Finding
from initlint.selection import enabled_codes

#: Other files linked into a document's lint, at most (nearest first).
MAX_NEIGHBOURS = 200
#: Files larger than this are left out of the context (generated tables, vendored code).
MAX_NEIGHBOUR_BYTES = 1_000_000
#: Parsed files kept across packages before the least recently used are dropped.
MAX_CACHED = 2_000
#: A package's file list is re-read after this many seconds (new files join the context).
LISTING_TTL = 10.0


@dataclass(frozen=True)
class Outcome:
    """One lint: the findings and, at most once per broken config, the error to show."""

    findings: tuple[Finding, ...]
    config_error: str | None = None


class ConfigCache:
    """``[tool.initlint]`` of the pyproject nearest each document; defaults when broken."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int], Config, str | None]] = {}
        self._reported: set[tuple[str, tuple[int, int]]] = set()

    def for_path(self, path: str | None) -> tuple[Config, str | None]:
        """The config for a document, and an error message the first time it is broken."""
        if not path:
            return Config(), None
        pyproject = find_pyproject(Path(path).parent)
        if pyproject is None:
            return Config(), None
        try:
            stat = pyproject.stat()
        except OSError:
            return Config(), None
        key, name = (stat.st_mtime_ns, stat.st_size), str(pyproject)
        cached = self._cache.get(name)
        if cached is None or cached[0] != key:
            try:
                config = load_config(pyproject)
                enabled_codes(config)  # unknown codes are a config error too
                error = None
            except ConfigError as exc:
                config, error = Config(), f"initlint: {exc}; using the default settings"
            cached = (key, config, error)
            self._cache[name] = cached
        _, config, error = cached
        if error is not None and (name, key) not in self._reported:
            self._reported.add((name, key))
            return config, error
        return config, None


def context_scope(path: str) -> tuple[Path, bool]:
    """The directory whose files give a document context, and whether to recurse into it:
    the top-level package when the file is in one, else the file's own directory."""
    directory = Path(path).resolve().parent
    if not (directory / "__init__.py").is_file():
        return directory, False
    while (directory.parent / "__init__.py").is_file() and directory.parent != directory:
        directory = directory.parent
    return directory, True


def _distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return len(a) + len(b) - 2 * common


class Neighbours:
    """Parsed neighbour files, cached by (path, mtime, size) and parsed on first use."""

    def __init__(self, limit: int = MAX_NEIGHBOURS) -> None:
        self.limit = limit
        self._parsed: OrderedDict[str, tuple[tuple, Parsed]] = OrderedDict()
        self._listings: dict[tuple, tuple[float, list[str]]] = {}
        self.parses = 0  # files parsed so far (the benchmark and tests read it)

    def files(self, path: str, config: Config) -> list[str]:
        """The context files for ``path``, nearest first, capped, ``path`` itself left out."""
        root, recursive = context_scope(path)
        key = (str(root), recursive, config.exclude, config.extend_exclude, config.root)
        listed = self._listings.get(key)
        if listed is None or time.monotonic() - listed[0] > LISTING_TTL:
            listed = (time.monotonic(), self._list(root, recursive, config))
            self._listings[key] = listed
        me = os.path.realpath(path)
        here = Path(me).parent.parts
        found = [f for f in listed[1] if f != me]
        found.sort(key=lambda f: (_distance(here, Path(f).parent.parts), f))
        return found[: self.limit]

    @staticmethod
    def _list(root: Path, recursive: bool, config: Config) -> list[str]:
        if recursive:
            try:
                paths = discover([str(root)], config)
            except DiscoveryError:
                return []
        else:
            try:
                paths = [str(root / n) for n in sorted(os.listdir(root)) if n.endswith(".py")]
            except OSError:
                return []
        out = []
        for p in paths:
            try:
                if os.path.getsize(p) <= MAX_NEIGHBOUR_BYTES:
                    out.append(os.path.realpath(p))
            except OSError:
                continue
        return out

    def parsed(self, path: str, config: Config, open_docs: Mapping[str, str]) -> list[Parsed]:
        """The neighbours of ``path`` as Parsed; open buffers replace their files."""
        buffers = {os.path.realpath(p): t for p, t in open_docs.items()}
        out = []
        for file in self.files(path, config):
            text = buffers.get(file)
            if text is not None:
                item = self._get(file, ("buffer", len(text), hash(text)),
                                 lambda f=file, t=text: parse_source(Source(f, t)))
            else:
                try:
                    stat = os.stat(file)
                except OSError:
                    continue
                item = self._get(file, (stat.st_mtime_ns, stat.st_size),
                                 lambda f=file: parse_path(f))
            out.append(item)
        return out

    def _get(self, file: str, key: tuple, parse) -> Parsed:
        cached = self._parsed.get(file)
        if cached is not None and cached[0] == key:
            self._parsed.move_to_end(file)
            return cached[1]
        item = parse()
        self.parses += 1
        self._parsed[file] = (key, item)
        self._parsed.move_to_end(file)
        while len(self._parsed) > MAX_CACHED:
            self._parsed.popitem(last=False)
        return item


def excluded(path: str, config: Config) -> bool:
    """Is the document excluded by ``exclude`` / ``extend-exclude`` (as the CLI's
    ``--force-exclude`` would)? Unsaved documents never are."""
    if not os.path.isfile(path):
        return False
    try:
        return not discover([path], config, force_exclude=True)
    except DiscoveryError:
        return False


class Linter:
    """Lint and fix documents with the workspace's config and neighbours."""

    def __init__(self, neighbour_limit: int = MAX_NEIGHBOURS) -> None:
        self.configs = ConfigCache()
        self.neighbours = Neighbours(neighbour_limit)

    def context(self, path: str | None,
                open_docs: Mapping[str, str]) -> tuple[Config, list[Parsed], str | None]:
        config, error = self.configs.for_path(path)
        if not path:
            return config, [], error
        return config, self.neighbours.parsed(path, config, open_docs), error

    def lint(self, path: str | None, name: str, text: str,
             open_docs: Mapping[str, str]) -> Outcome:
        """Findings for a buffer; ``path`` is its file (None for an unsaved buffer), ``name``
        what findings carry."""
        config, neighbours, error = self.context(path, open_docs)
        if path and excluded(path, config):
            return Outcome((), error)
        return Outcome(tuple(lint_text(path or name, text, config, neighbours)), error)

    def fix_all(self, path: str | None, name: str, text: str,
                open_docs: Mapping[str, str]) -> str:
        """The buffer with every safe fix applied, re-linted until stable (``fix_text``)."""
        from initlint.fix import fix_text

        config, neighbours, _ = self.context(path, open_docs)
        if path and excluded(path, config):
            return text
        return fix_text(path or name, text, config, neighbours, unsafe=False).after
