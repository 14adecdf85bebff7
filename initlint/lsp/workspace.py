"""What a re-lint needs besides the buffer: the document's config and the other files.

Both are kept so a keystroke re-parses only the document being edited: configs by the config
file's (path, mtime), neighbours by (path, mtime, size). A document's config is the nearest
``initlint.toml`` or ``pyproject.toml`` with ``[tool.initlint]``, as on the command line.
Its neighbours are the files of its project (the nearest directory with a pyproject.toml,
initlint.toml or .git; else its top-level package, else its directory), found by the CLI's
walk (excludes, .gitignore), nearest first and capped. Their facts come from the CLI's cache
when it has them; the others are parsed in worker processes and written to it, so the next
editor session and the next ``initlint`` run start warm. Open buffers stand in for their
files on disk. A keystroke that leaves the document's facts as they were (a comment, a
docstring, a name nothing reads) reuses the last findings instead of relinking.

Everything here runs on the server's single lint thread; nothing is shared with the event
loop except the immutable values it returns.
"""

from __future__ import annotations

import gc
import os
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from initlint.cache import known
from initlint.cache.store import Cache, config_key
from initlint.checks.selection import enabled_codes
from initlint.core.config import Config, ConfigError, find_config, load_config
from initlint.core.findings import Finding
from initlint.engine.lint import Parsed, check_project, facts_key, load_facts, parse_source
from initlint.files.context import MAX_CONTEXT_FILES, package_of, project_root
from initlint.files.discover import DiscoveryError, Source, discover, read_source
from initlint.files.notebook import is_notebook
from initlint.files.safe_fs import text_too_large
from initlint.files.walk import Resolver, Walk
from initlint.lsp.settings import Scopes

#: Other files linked into a document's lint, at most (nearest first).
MAX_NEIGHBOURS = 3_000
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
    #: the findings a run kept for this same state of the project (:mod:`initlint.cache.known`),
    #: the context not loaded yet: the next lint loads it (the server asks for one at once)
    kept: bool = False


class ConfigCache:
    """``[tool.initlint]`` of the pyproject nearest each document; defaults when broken."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int], Config, str | None]] = {}
        self._reported: set[tuple[str, tuple[int, int]]] = set()

    def for_path(self, path: str | None) -> tuple[Config, str | None]:
        """The config for a document, and an error message the first time it is broken."""
        if not path:
            return Config(), None
        pyproject = find_config(Path(path).parent)
        if pyproject is None:
            return Config(), None
        return self.for_file(pyproject)

    def for_file(self, pyproject: Path) -> tuple[Config, str | None]:
        """The settings of one config file (the editor's ``configuration``), read again
        when it changes; defaults and an error (once) when it is broken."""
        try:
            stat = pyproject.stat()
        except OSError as exc:
            return self._once(str(pyproject), (0, 0), Config(),
                              f"initlint: cannot read {pyproject}: {exc.strerror or exc}; "
                              "using the default settings")
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
        return self._once(name, key, cached[1], cached[2])

    def _once(self, name: str, key: tuple[int, int], config: Config,
              error: str | None) -> tuple[Config, str | None]:
        if error is not None and (name, key) not in self._reported:
            self._reported.add((name, key))
            return config, error
        return config, None


def context_scope(path: str) -> tuple[Path, bool]:
    """The directory whose files give a document context, and whether to recurse into it:
    the document's project when it is in one (as on the command line), else its top-level
    package, else its own directory."""
    directory = Path(path).resolve().parent
    root = project_root(directory)
    if root is not None:
        return root, True
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


@dataclass(frozen=True)
class Load:
    """Files that joined a document's context at once: how many came from the cache."""

    files: int
    from_cache: int
    parsed: int
    seconds: float

    def describe(self) -> str:
        return (f"{self.files} context files read: {self.parsed} parsed, {self.from_cache} "
                f"from the cache, {self.files - self.parsed - self.from_cache} without model "
                f"code, in {self.seconds * 1000:.0f} ms")


class Neighbours:
    """Parsed neighbour files, kept by (path, mtime, size); facts of files not yet seen come
    from the shared cache or are parsed in workers (and cached)."""

    def __init__(self, limit: int = MAX_NEIGHBOURS, use_cache: bool = True) -> None:
        self.limit = limit
        self.use_cache = use_cache
        self._parsed: OrderedDict[str, tuple[tuple, Parsed]] = OrderedDict()
        self._listings: dict[tuple[Any, ...], tuple[float, list[str] | None]] = {}
        self._keys: dict[str, tuple[tuple[int, int], str]] = {}  # file → (mtime, size), key
        self.parses = 0  # files parsed or loaded so far (the benchmark and tests read it)
        self.loads: list[Load] = []  # each time files joined the context (the server logs it)

    def files(self, path: str, config: Config) -> list[str]:
        """The context files for ``path``, nearest first, capped, ``path`` itself left out."""
        root, recursive = context_scope(path)
        listed = self._listing(root, recursive, config)
        if listed is None:  # a project too big to read: the document's top-level package
            listed = self._listing(package_of(Path(path).resolve().parent), True, config) or []
        me = os.path.realpath(path)
        here = Path(me).parent.parts
        found = [f for f in listed if f != me]
        found.sort(key=lambda f: (_distance(here, Path(f).parent.parts), f))
        return found[: self.limit]

    def _listing(self, root: Path, recursive: bool, config: Config) -> list[str] | None:
        """The files under ``root`` (kept for LISTING_TTL); None when there are too many."""
        key = (str(root), recursive, config.exclude, config.extend_exclude, config.root,
               config.respect_gitignore)
        listed = self._listings.get(key)
        if listed is None or time.monotonic() - listed[0] > LISTING_TTL:
            listed = (time.monotonic(), self._list(root, recursive, config))
            self._listings[key] = listed
        return listed[1]

    @staticmethod
    def _list(root: Path, recursive: bool, config: Config) -> list[str] | None:
        if recursive:
            walk = Walk(Resolver())  # each directory's own config
            try:
                paths = walk.files([str(root)], limit=MAX_CONTEXT_FILES)
            except (ConfigError, DiscoveryError):
                try:
                    paths = discover([str(root)], config)
                except DiscoveryError:
                    return []
            if walk.truncated:
                return None
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
        out: list[Parsed] = []
        missing: list[tuple[str, tuple]] = []
        for file in self.files(path, config):
            text = buffers.get(file)
            if text is not None:
                out.append(self._buffer(file, text))
                continue
            key = _mark(file)
            if key is None:
                continue
            cached = self._parsed.get(file)
            if cached is not None and cached[0] == key:
                self._parsed.move_to_end(file)
                out.append(cached[1])
            else:
                missing.append((file, key))
        if missing:
            start = time.perf_counter()
            cache = Cache.for_config(config) if self.use_cache else None
            with _frozen_after():
                loaded, hits, parsed = load_facts([f for f, _ in missing], cache=cache,
                                                  spawn=True)
            for (file, key), item in zip(missing, loaded, strict=True):
                self._store(file, key, item)
                out.append(item)
            self.loads.append(Load(len(missing), hits, parsed, time.perf_counter() - start))
        return out

    def state(self, path: str, text: str, config: Config, open_docs: Mapping[str, str],
              cache: Cache) -> str:
        """The state of the files a lint of ``path`` (as ``text``) links: the document and
        its neighbours, open buffers for their files (see :mod:`initlint.cache.known`). Reads
        each file once, then again only when its (mtime, size) changes."""
        buffers = {os.path.realpath(p): t for p, t in open_docs.items()}
        files = [(os.path.realpath(path), facts_key(Source(path, text), cache)[0])]
        for file in self.files(path, config):
            buffer = buffers.get(file)
            if buffer is not None:
                files.append((file, facts_key(Source(file, buffer), cache)[0]))
                continue
            mark = _mark(file)
            if mark is None:
                continue
            kept = self._keys.get(file)
            if kept is None or kept[0] != mark:
                kept = self._keys[file] = (mark, facts_key(read_source(file), cache)[0])
            files.append((file, kept[1]))
        return known.state(cache, files)

    def _buffer(self, file: str, text: str) -> Parsed:
        key = ("buffer", len(text), hash(text))
        cached = self._parsed.get(file)
        if cached is not None and cached[0] == key:
            self._parsed.move_to_end(file)
            return cached[1]
        item = parse_source(Source(file, text))
        self._store(file, key, item)
        return item

    def _store(self, file: str, key: tuple, item: Parsed) -> None:
        self.parses += 1
        self._parsed[file] = (key, item)
        self._parsed.move_to_end(file)
        while len(self._parsed) > MAX_CACHED:
            self._parsed.popitem(last=False)



def _mark(file: str) -> tuple[int, int] | None:
    """(mtime, size) of a file, what a cached parse or key of it is valid for; None when it
    cannot be read."""
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size

@contextmanager
def _frozen_after() -> Iterator[None]:
    """Loaded facts are kept for the session (a million objects in timm) and make no
    reference cycles: left to the cyclic collector, they would make its next full pass
    take 0.2 s in the middle of a lint. So collect what is garbage now (cheap: what earlier
    loads froze is not scanned), freeze it all, and the facts arriving now with it
    (:func:`~initlint.engine.lint.load_facts` keeps a freeze it did not start). Frozen objects
    are still freed by reference counting when dropped."""
    gc.collect()
    gc.freeze()
    yield


def excluded(path: str, config: Config) -> bool:
    """Is the document excluded by ``exclude`` / ``extend-exclude`` (as the CLI's
    ``--force-exclude`` would)? Unsaved documents never are."""
    if not os.path.isfile(path):
        return False
    try:
        return not discover([path], config, force_exclude=True)
    except DiscoveryError:
        return False


@dataclass(frozen=True)
class _Last:
    """A document's last lint: what it depended on, and what it found."""

    text: str
    parsed: Parsed
    neighbours: tuple[int, ...]  # identities of the neighbour Parsed objects used
    config: Config
    findings: tuple[Finding, ...]


def _changed_rows(before: str, after: str) -> set[int] | None:
    """1-based rows that differ, or None when lines were added or removed."""
    old, new = before.splitlines(), after.splitlines()
    if len(old) != len(new):
        return None
    return {i + 1 for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}


def _comments_only(before: str, after: str, findings: tuple[Finding, ...]) -> bool:
    """Did the edit change only comment or blank lines (which are not part of the program),
    none of them a noqa comment or a coding line, and no line a finding or its fix touches?"""
    changed = _changed_rows(before, after)
    if not changed:
        return changed is not None and before == after
    old, new = before.splitlines(), after.splitlines()
    for row in changed:
        for line in (old[row - 1], new[row - 1]):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                return False
            if "noqa" in line.lower() or (row <= 2 and "coding" in line):
                return False
    return not any(_rows(f) & changed for f in findings)


def _rows(finding: Finding) -> set[int]:
    rows = set(range(finding.span.row, finding.span.end_row + 1))
    if finding.fix is not None:
        for edit in finding.fix.edits:
            rows.update(range(edit.span.row, edit.span.end_row + 1))
    return rows


class Linter:
    """Lint and fix documents with their config and neighbours."""

    def __init__(self, neighbour_limit: int = MAX_NEIGHBOURS, use_cache: bool = True) -> None:
        self.configs = ConfigCache()
        self.neighbours = Neighbours(neighbour_limit, use_cache)
        self._last: dict[str, _Last] = {}
        self._states: dict[str, tuple[Cache, str]] = {}  # first lints: the state they link
        self._answered: set[str] = set()  # documents answered with kept findings
        self.relinks = 0  # lints that linked and checked (not reused); tests read it
        self.parses = 0  # documents parsed (a comment-only edit is not)
        self.verify_fixes = False  # fix-all as --verify, whatever the editor's settings say
        self.scopes = Scopes()  # the editor's settings (the server replaces them whole)
        self._said: set[str] = set()  # problems with the editor's settings, told once

    def config_for(self, path: str | None) -> tuple[Config, str | None]:
        """A document's settings: its nearest config file's with the editor's settings over
        them (:mod:`initlint.lsp.settings`), and an error to show, once per problem."""
        settings = self.scopes.for_path(path)
        errors: list[str | None] = [f"initlint: editor settings: {p}; ignored"
                                    for p in settings.problems]
        found: Config | None = None
        if settings.reads_files():
            found, error = self.configs.for_path(path)
            errors.append(error)
            found = found if found.source else None
        explicit: Config | None = None
        if settings.configuration:
            explicit, error = self.configs.for_file(Path(settings.configuration))
            errors.append(error)
        config = settings.apply(found, explicit)
        if settings.sets_lint_keys():
            try:
                enabled_codes(config)
            except ConfigError as exc:
                errors.append(f"initlint: editor settings: {exc}; using the config file's")
                config = explicit or found or Config()
        new = [e for e in errors if e is not None and e not in self._said]
        self._said.update(new)
        return config, "\n".join(new) or None

    def lints(self, path: str | None) -> bool:
        """Does the editor want findings for this document (``lint.enable``)?"""
        return self.scopes.for_path(path).lint_enable

    def context(self, path: str | None,
                open_docs: Mapping[str, str]) -> tuple[Config, list[Parsed], str | None]:
        config, error = self.config_for(path)
        if not path:
            return config, [], error
        return config, self.neighbours.parsed(path, config, open_docs), error

    def lint(self, path: str | None, name: str, text: str,
             open_docs: Mapping[str, str]) -> Outcome:
        """Findings for a buffer; ``path`` is its file (None for an unsaved buffer), ``name``
        what findings carry."""
        config, error = self.config_for(path)
        if not self.lints(path) or (path and excluded(path, config)):
            return Outcome((), error)
        too_large = text_too_large(text)
        if too_large:  # as a file on disk: one INI000, never parsed
            self._last.pop(path or name, None)
            refused = parse_source(Source(path or name, "", too_large)).error
            return Outcome((refused,) if refused is not None else (), error)
        kept = self._kept(path, text, config, open_docs) if path else None
        if kept is not None:
            return Outcome(kept, error, kept=True)
        neighbours = self.neighbours.parsed(path, config, open_docs) if path else []
        target = path or name
        others = [p for p in neighbours if p.path != target]
        ids = tuple(id(p) for p in others)
        last = self._last.get(target)
        if (last is not None and last.neighbours == ids and last.config == config and
                _comments_only(last.text, text, last.findings)):
            self._last[target] = replace(last, text=text)  # not even parsed again
            return Outcome(last.findings, error)
        current = parse_source(Source(target, text))
        self.parses += 1
        if last is not None and self._reusable(last, current, ids, config, text):
            findings = last.findings
        else:
            self.relinks += 1
            findings = tuple(check_project([current, *others], config, only=[target]))
            self._keep(target, config, findings, others)
        self._last[target] = _Last(text, current, ids, config, findings)
        return Outcome(findings, error)

    def _kept(self, path: str, text: str, config: Config,
              open_docs: Mapping[str, str]) -> tuple[Finding, ...] | None:
        """On a document's first lint, the findings a run (``initlint``, an earlier editor
        session) kept for this state of its project, if any: answered without loading the
        context's facts nor relinking. Any later lint of the document links as usual."""
        if not self.neighbours.use_cache or path in self._last or path in self._answered:
            return None
        cache = Cache.for_config(config)
        state = self.neighbours.state(path, text, config, open_docs, cache)
        self._states[path] = (cache, state)
        found = known.lookup(cache, state, os.path.realpath(path),
                             config_key(config, enabled_codes(config)), path)
        if found is not None:
            self._answered.add(path)
            del self._states[path]
        return found

    def _keep(self, path: str, config: Config, findings: tuple[Finding, ...],
              others: list[Parsed]) -> None:
        """After a document's first lint: its findings, for the next session (as a run of
        the CLI keeps its files')."""
        first = self._states.pop(path, None)
        if first is not None:
            cache, state = first
            known.store(cache, state, [(os.path.realpath(path),
                                        config_key(config, enabled_codes(config)), findings)],
                        [path, *(p.path for p in others)], merge=True)

    @staticmethod
    def _reusable(last: _Last, current: Parsed, ids: tuple[int, ...], config: Config,
                  text: str) -> bool:
        """Same facts, same context, and no finding (or its fix) on a changed line."""
        if last.neighbours != ids or last.config != config:
            return False
        if last.parsed.facts != current.facts or last.parsed.error != current.error:
            return False
        changed = _changed_rows(last.text, text)
        if changed is None:
            return False
        return not any(_rows(f) & changed for f in last.findings)

    def keep(self, path: str, text: str, open_docs: Mapping[str, str]) -> None:
        """After a save: the document's last findings, if they are for this text and this
        context, kept for this state of the project, so a commit hook run right after reads
        them instead of linking the project (see :mod:`initlint.cache.known`)."""
        last = self._last.get(path)
        if last is None or last.text != text or not self.neighbours.use_cache:
            return
        neighbours = self.neighbours.parsed(path, last.config, open_docs)
        if tuple(id(p) for p in neighbours if p.path != path) != last.neighbours:
            return  # the context changed since: the next lint will say what holds now
        cache = Cache.for_config(last.config)
        state = self.neighbours.state(path, text, last.config, open_docs, cache)
        known.store(cache, state, [(os.path.realpath(path),
                                    config_key(last.config, enabled_codes(last.config)),
                                    last.findings)],
                    [path, *(p.path for p in neighbours)], merge=True)

    def forget(self, path: str) -> None:
        self._last.pop(path, None)

    def fix_all(self, path: str | None, name: str, text: str,
                open_docs: Mapping[str, str]) -> str:
        """The buffer with every safe fix applied, re-linted until stable (``fix_text``)."""
        from initlint.engine.fix import fix_text

        config, neighbours, _ = self.context(path, open_docs)
        if (path and excluded(path, config)) or text_too_large(text):
            return text
        result = fix_text(path or name, text, config, neighbours, unsafe=False)
        verify = self.verify_fixes or self.scopes.for_path(path).verify_fixes
        if verify and path and not is_notebook(path) and result.changed:
            # the file on disk is importable (a notebook is not: its fixes stay unverified)
            from initlint.runtime.fix_verify import verified

            result = verified(result, config, neighbours, unsafe=False)
        return result.after
