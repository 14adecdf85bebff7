"""The pipeline: files → facts → findings. Parsing and extraction run per file (in workers
when there are many, with a persistent cache of their facts), linking and checking run once
over all facts (with a cache of the whole run's findings)."""

from __future__ import annotations

import ast
import gc
import multiprocessing
import os
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from initlint.cache import known
from initlint.cache.store import Cache, config_key, content_hash
from initlint.checks import ALL_RULES, FileContext
from initlint.checks.noqa import CODE as UNUSED_NOQA
from initlint.checks.noqa import unused_noqa
from initlint.checks.selection import enabled_codes
from initlint.checks.suppress import settle_fixes, suppress
from initlint.core.collector import collector_paused
from initlint.core.config import Config
from initlint.core.findings import Finding, Severity, Span
from initlint.engine.progress import Progress
from initlint.extract.extractor import extract
from initlint.extract.facts import FileFacts
from initlint.extract.imports import module_name_for
from initlint.files.discover import Source, read_source
from initlint.semantic.project import ProjectFacts

#: Bytes a file must contain to hold model or init code worth parsing. A file with none of
#: them defines no nn.Module subclass, builds no layer and calls no init function.
PREFILTER = (b"torch", b"nn.", b"init", b"Module", b"reset_parameters", b"apply(")
_MARKERS = tuple(marker.decode() for marker in PREFILTER)
#: Below this many files to parse, starting worker processes costs more than it saves.
MIN_PARALLEL_FILES = 16
#: Chunks per worker: enough for the big files to balance out, few enough to batch IPC.
CHUNKS_PER_JOB = 12
#: Set to re-raise internal errors instead of reporting them as INI000 (for development).
DEBUG_ENV = "INITLINT_DEBUG"


@dataclass(frozen=True)
class Parsed:
    """One file after parse + extract: facts, or the INI000 finding explaining why not."""

    path: str
    text: str
    facts: FileFacts | None
    error: Finding | None = None
    skipped: bool = False  # the prefilter proved there is nothing to analyse


@dataclass
class RunResult:
    """What a run found, over all files."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    parsed: int = 0
    errors: list[str] = field(default_factory=list)  # one-line messages for stderr
    cached: int = 0  # files whose facts came from the cache
    from_cache: bool = False  # the whole run's findings came from the cache
    #: content hash of the text each file's findings were computed from (runs with a cache;
    #: --fix applies findings only to a text with the same hash, else it lints again)
    digests: dict[str, str] = field(default_factory=dict)


def syntax_finding(path: str, message: str, row: int = 1, column: int = 1) -> Finding:
    span = Span(max(row, 1), max(column, 1), max(row, 1), max(column, 1))
    return Finding("INI000", Severity.ERROR, path, span, message,
                   "initlint could not parse this file, so nothing in it was checked.")


def prefilter(text: str) -> bool:
    """Could this file hold model or init code? (A substring scan: no parse.)"""
    return any(marker in text for marker in _MARKERS)


def parse_source(source: Source) -> Parsed:
    """Parse and extract one file; never raises. The cyclic collector is off meanwhile (see
    ``collector_paused``): the tree is freed by refcounting when this returns, before any
    full collection can rescan it (a 5,000-class file: 4× the input cost 17× in the
    collector); extraction's few cycles are collected after."""
    with collector_paused():
        return _parse_source(source)


def _parse_source(source: Source) -> Parsed:
    if source.error:
        return Parsed(source.path, "", None, syntax_finding(source.path, source.error))
    data = source.text
    if not prefilter(data):
        return Parsed(source.path, data, None, None, skipped=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(data, filename=source.path)
    except SyntaxError as exc:
        message = f"SyntaxError: {exc.msg}"
        return Parsed(source.path, data, None,
                      syntax_finding(source.path, message, exc.lineno or 1, exc.offset or 1))
    except (ValueError, RecursionError, MemoryError) as exc:
        return Parsed(source.path, data, None,
                      syntax_finding(source.path, f"cannot parse: {exc}"))
    module = module_name_for(source.path)
    is_package = os.path.basename(source.path) == "__init__.py"
    try:
        facts = extract(source.path, data, tree, module, is_package)
    except RecursionError:
        return Parsed(source.path, data, None,
                      syntax_finding(source.path, "file too deeply nested to analyse"))
    except Exception as exc:  # a bug in the extractor must not end the run
        if os.environ.get(DEBUG_ENV):
            raise
        return Parsed(source.path, data, None, syntax_finding(
            source.path, f"internal error while analysing this file ({type(exc).__name__}: "
                         f"{exc}); please report it"))
    return Parsed(source.path, data, facts)


def parse_path(path: str) -> Parsed:
    return parse_source(read_source(path))


def check_project(parsed: list[Parsed], config: Config,
                  only: Iterable[str] | None = None,
                  configs: Mapping[str, Config] | None = None,
                  digests: Mapping[str, str] | None = None,
                  changed: set[str] | None = None) -> list[Finding]:
    """Link all facts and run every enabled rule on the files in ``only`` (default: all),
    each file with its own settings from ``configs`` (default: ``config``).

    A file without its text in ``parsed`` is read again here; with ``digests`` (the content
    hash its facts came from), a file that changed meanwhile is parsed again from what was
    read, so facts and text always agree, and its path is added to ``changed``."""
    project = ProjectFacts(p.facts for p in parsed if p.facts is not None)
    wanted = set(only) if only is not None else None
    enabled_for: dict[int, frozenset[str]] = {}
    findings: list[Finding] = []
    for item in parsed:
        if wanted is not None and item.path not in wanted:
            continue
        settings = configs.get(item.path, config) if configs else config
        key = id(settings)
        if key not in enabled_for:
            enabled_for[key] = frozenset(enabled_codes(settings))
        enabled = enabled_for[key]
        if item.error is not None:
            findings += suppress([item.error], None, settings, enabled)
            continue
        if item.facts is None:
            continue
        facts, text = item.facts, item.text
        if not text:  # lint_paths keeps no texts
            source = read_source(item.path)
            text = source.text
            expected = digests.get(item.path) if digests else None
            if expected and content_hash(text) != expected:
                if changed is not None:
                    changed.add(item.path)
                again = parse_source(source)
                if again.facts is None:
                    if again.error is not None:
                        findings += suppress([again.error], None, settings, enabled)
                    continue
                facts = again.facts
        ctx = FileContext(project.linked(facts), project, text, settings)
        raw: list[Finding] = []
        for code in sorted(enabled):
            raw += _run_rule(code, ctx)
        if UNUSED_NOQA in enabled:  # judged on what the rules find before noqa, those
            # a directive names included when they are not selected: they still may be used
            named = {c for _, codes in facts.noqa for c in codes if c in ALL_RULES} - enabled
            found = [f for code in sorted(named) for f in _run_rule(code, ctx)]
            raw += unused_noqa(ctx, raw + found)
        findings += settle_fixes(suppress(raw, facts, settings, enabled), settings)
    return sorted(set(findings), key=Finding.sort_key)


def _run_rule(code: str, ctx: FileContext) -> list[Finding]:
    """One rule on one file; a crashing rule is reported on that file, the run goes on."""
    try:
        return list(ALL_RULES[code].check(ctx))
    except RecursionError:
        message = f"internal error in {code}: structure too deeply nested; please report it"
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        message = f"internal error in {code} ({type(exc).__name__}: {exc}); please report it"
    return [syntax_finding(ctx.facts.path, message)]


# --- parsing many files ---------------------------------------------------------------


@dataclass
class _Entry:
    """One file of a run: how big it is (to balance chunks), its cache key and the content
    hash behind it, and its Parsed (without text) once settled."""

    path: str
    size: int
    key: str = ""
    digest: str = ""
    parsed: Parsed | None = None
    stale: bool = False  # changed on disk after it was keyed: its facts are not cached


def _parse_file(path: str, digest: str) -> tuple[Parsed, bool]:
    """Read and parse one file. The Parsed carries no text (the check reads it again, one
    file at a time, so a run never holds every file's text); the flag says the content still
    hashes to ``digest``, i.e. the facts may be cached under the key computed from it."""
    source = read_source(path)
    parsed = replace(parse_source(source), text="")
    return parsed, bool(digest) and not source.error and content_hash(source.text) == digest


def _parse_chunk(chunk: list[tuple[str, str]]) -> list[tuple[Parsed, bool]]:
    """Worker side: files are read here, not shipped from the parent."""
    gc.enable()  # a worker forked while the parent paused it: extraction makes cycles
    return [_parse_file(path, digest) for path, digest in chunk]


def _chunks(sizes: list[int], jobs: int) -> list[list[int]]:
    """Indices in chunks of similar total size, biggest files first, so the last chunk to
    finish is small and every worker stays busy to the end."""
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    target = max(1, sum(sizes) // (jobs * CHUNKS_PER_JOB))
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index in order:
        current.append(index)
        size += sizes[index]
        if size >= target:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


def worker_count(requested: int, files: int) -> int:
    """Worker processes for ``files`` to parse: what was asked, but never more than the
    cores this process may use nor one per file (``--jobs 100000`` must not fork 100,000
    processes), and at least one."""
    return max(1, min(requested, default_jobs(), files))


def default_jobs() -> int:
    """The cores this process may use (affinity masks and containers included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _scan(paths: list[str], cache: Cache | None) -> list[_Entry]:
    """Without a cache, only sizes (workers do the rest). With one, read each file once to
    settle what needs no parse (unreadable, prefiltered) and key the others by content."""
    entries: list[_Entry] = []
    for path in paths:
        if cache is None:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = 0
            entries.append(_Entry(path, size))
            continue
        source = read_source(path)
        entry = _Entry(path, len(source.text))
        entry.key, entry.digest = facts_key(source, cache)
        if source.error:
            entry.parsed = Parsed(path, "", None, syntax_finding(path, source.error))
        elif not entry.digest:
            entry.parsed = Parsed(path, "", None, None, skipped=True)
        entries.append(entry)
    return entries


def facts_key(source: Source, cache: Cache) -> tuple[str, str]:
    """The cache key of a file's facts, and the content hash behind it ("" when the file
    needs no parse: unreadable, or no model code)."""
    if source.error:
        return "error:" + source.error, ""
    if not prefilter(source.text):
        return "skipped", ""
    digest = content_hash(source.text)
    # keyed by the real path: `initlint .`, a pre-commit run and an editor spell one file
    # differently and share its facts (relabelled on load: see _settle)
    return cache.file_key(os.path.realpath(source.path), module_name_for(source.path),
                          digest), digest


def _as(parsed: Parsed, path: str) -> Parsed:
    """Cached facts under the spelling this run uses for their file."""
    if parsed.path == path:
        return parsed
    facts = replace(parsed.facts, path=path) if parsed.facts is not None else None
    return replace(parsed, path=path, facts=facts)


def _settle(entries: list[_Entry], jobs: int, cache: Cache | None,
            progress: Progress | None, spawn: bool = False) -> int:
    """Give every entry its Parsed: from the cache, from workers, or parsed here. Workers
    start before cached facts are loaded (so they fork from a small parent) and parse
    while the parent loads them. Returns how many came from the cache."""
    open_ = [e for e in entries if e.parsed is None]
    if progress is not None:
        progress.advance(len(entries) - len(open_))
    todo = [e for e in open_ if cache is None or not cache.has("facts", e.key)]
    jobs = worker_count(jobs, len(todo))
    pool = futures = None
    if jobs > 1 and len(todo) >= MIN_PARALLEL_FILES:
        try:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=(
                multiprocessing.get_context("spawn") if spawn else None))
            futures = {pool.submit(_parse_chunk, [(todo[i].path, todo[i].digest)
                                                  for i in chunk]): [todo[i] for i in chunk]
                       for chunk in _chunks([e.size for e in todo], jobs)}
        except OSError:  # no processes here (sandbox, limits): parse in this process
            pool = futures = None
    hits = 0
    waiting = {id(e) for e in todo}
    with _gc_paused():
        for entry in open_:
            if id(entry) in waiting or cache is None:
                continue
            hit = cache.get("facts", entry.key)
            if isinstance(hit, Parsed):
                entry.parsed = _as(hit, entry.path)
                hits += 1
                if progress is not None:
                    progress.advance()
        if pool is not None and futures is not None:
            _collect(pool, futures, cache, progress)
    for entry in open_:
        if entry.parsed is None:  # no pool, a failed chunk, or a cache entry gone bad
            parsed, same = _parse_file(entry.path, entry.digest)
            entry.parsed, entry.stale = parsed, bool(entry.digest) and not same
            if cache is not None and same:
                cache.put("facts", entry.key, parsed)
            if progress is not None:
                progress.advance()
    return hits


def _collect(pool: ProcessPoolExecutor, futures: dict[Future[Any], list[_Entry]],
             cache: Cache | None,
             progress: Progress | None) -> None:
    """Results of the workers, as they come; a chunk that fails is left for the parent."""
    try:
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                results = future.result()
            except BrokenProcessPool:
                raise
            except Exception:  # facts that would not pickle: parsed again in the parent
                continue
            for entry, (parsed, same) in zip(chunk, results, strict=True):
                entry.parsed, entry.stale = parsed, bool(entry.digest) and not same
                if cache is not None and same:
                    cache.put("facts", entry.key, parsed)
            if progress is not None:
                progress.advance(len(chunk))
    except BrokenProcessPool:
        pass  # a worker died (out of memory?): the parent parses what is left
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Unpickled facts are millions of small objects that live to the end of the run: the
    cyclic collector would rescan them again and again as they accumulate, and free nothing
    (they are acyclic; refcounting frees them). So pause it while they arrive, then freeze
    what exists, so later collections (parsing here, checking) scan only new objects.
    Never around parsing itself: extraction does make cycles. See :func:`_gc_thawed`."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


@contextmanager
def _gc_thawed() -> Iterator[None]:
    """Around a whole run: give frozen objects back to the collector at the end, so a
    long-lived caller (tests, an editor) can still collect cycles among them; a process
    that had frozen objects of its own before is left as it was."""
    frozen_before = gc.get_freeze_count()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def parse_all(paths: list[str], jobs: int | None = None, *, cache: Cache | None = None,
              progress: Progress | None = None) -> list[Parsed]:
    """Parse every file (facts from ``cache`` where it has them), in input order, each with
    its text."""
    entries = _scan(paths, cache)
    with _gc_thawed():
        _settle(entries, jobs or default_jobs(), cache, progress)
    out = []
    for entry in entries:
        parsed = entry.parsed
        assert parsed is not None
        out.append(parsed if parsed.error else replace(parsed, text=read_source(entry.path).text))
    return out


def load_facts(paths: list[str], jobs: int | None = None, *, cache: Cache | None = None,
               spawn: bool = False) -> tuple[list[Parsed], int, int]:
    """Facts of many files, without their texts (context for a lint), how many came from
    ``cache`` and how many were parsed (in workers when many; ``spawn`` for a threaded
    caller such as the language server, where forking is unsafe) and written to it. The
    rest needed no parse (no model code, unreadable)."""
    entries = _scan(paths, cache)
    known = sum(1 for e in entries if e.parsed is not None)
    with _gc_thawed():
        hits = _settle(entries, jobs or default_jobs(), cache, None, spawn)
    return ([e.parsed for e in entries if e.parsed is not None], hits,
            len(entries) - known - hits)


def lint_paths(paths: list[str], config: Config, jobs: int | None = None, *,
               cache: Cache | None = None, progress: Progress | None = None,
               configs: Mapping[str, Config] | None = None,
               report: Collection[str] | None = None) -> RunResult:
    """Lint files (already discovered). ``configs`` gives files their own settings (default:
    ``config``); ``report`` names the files to report on, the others only give context (facts
    for linking: a partial run judged with its whole project). With ``cache``, unchanged
    files are not parsed again and an unchanged run (same files, contents, settings and
    reported files) is not checked again."""
    entries = _scan(paths, cache)
    reported = len(paths) if report is None else len(report)
    run_key = ""
    if cache is not None:
        run_key = cache.run_key(config_key(config, enabled_codes(config)),
                                _run_files(entries, config, configs, report))
        hit = _run_entry(cache.get("run", run_key))
        if hit is not None:
            stored, parsed_count = hit
            if progress is not None:
                progress.advance(len(paths))
            cache.prune()
            return RunResult(list(stored), reported, parsed_count, cached=len(paths),
                             from_cache=True, digests={e.path: e.digest for e in entries})
        kept = _known_findings(cache, entries, config, configs, report)
        if kept is not None:  # e.g. `initlint .`, then a commit of some of its files
            return RunResult(kept, reported, sum(1 for e in entries if e.digest),
                             cached=len(paths), from_cache=True,
                             digests={e.path: e.digest for e in entries})
    with _gc_thawed():
        hits = _settle(entries, jobs or default_jobs(), cache, progress)
        parsed = [e.parsed for e in entries if e.parsed is not None]
        changed: set[str] = set()
        # a file whose worker read other bytes than the scan is parsed again by the check
        digests = ({e.path: "changed" if e.stale else e.digest for e in entries if e.digest}
                   if cache is not None else None)
        findings = check_project(parsed, config, report, configs, digests, changed)
    exact = {path: digest for path, digest in (digests or {}).items()
             if path not in changed and digest != "changed"}
    result = RunResult(findings, reported, sum(1 for p in parsed if p.facts is not None),
                       cached=hits, digests=exact)
    if cache is not None and not changed and not any(e.stale for e in entries):
        # stored only when every file analysed had the bytes the run key was computed from
        cache.put("run", run_key, (tuple(findings), result.parsed))
        _keep_known(cache, entries, findings, config, configs, report)
        cache.prune()
    return result


def _run_entry(hit: Any) -> tuple[tuple[Finding, ...], int] | None:
    """A stored run's (findings, files parsed), or None when the entry is not that shape
    (the codec checks each Finding's fields; this checks what holds them)."""
    if not (isinstance(hit, tuple) and len(hit) == 2 and isinstance(hit[0], tuple)
            and type(hit[1]) is int and all(type(f) is Finding for f in hit[0])):
        return None
    return hit


def _reported(entries: list[_Entry], config: Config, configs: Mapping[str, Config] | None,
              report: Collection[str] | None) -> Iterator[tuple[_Entry, str]]:
    """The reported entries, each with the id of its settings."""
    ids: dict[int, str] = {}
    wanted = set(report) if report is not None else None
    for entry in entries:
        if wanted is not None and entry.path not in wanted:
            continue
        settings = configs.get(entry.path, config) if configs else config
        if id(settings) not in ids:
            ids[id(settings)] = config_key(settings, enabled_codes(settings))
        yield entry, ids[id(settings)]


def _state(cache: Cache, entries: list[_Entry]) -> tuple[str, dict[str, str]]:
    """The state of the files of a run (:mod:`initlint.cache.known`), and each one's real path."""
    reals = {e.path: os.path.realpath(e.path) for e in entries}
    return known.state(cache, ((reals[e.path], e.key) for e in entries)), reals


def _keep_known(cache: Cache, entries: list[_Entry], findings: list[Finding], config: Config,
                configs: Mapping[str, Config] | None, report: Collection[str] | None) -> None:
    """Each reported file's findings under the state of the files linked (see
    :mod:`initlint.cache.known`): an editor opening one of them unchanged, or a run reporting on
    some of them, has them at once."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    state, reals = _state(cache, entries)
    known.store(cache, state, [(reals[e.path], config_id, by_path.get(e.path, ()))
                               for e, config_id in _reported(entries, config, configs, report)],
                list(reals))


def _known_findings(cache: Cache, entries: list[_Entry], config: Config,
                    configs: Mapping[str, Config] | None,
                    report: Collection[str] | None) -> list[Finding] | None:
    """The findings a run that linked these very files kept for each reported one, when it
    kept them for all (a whole-project run, then a commit of a few of its files)."""
    state, reals = _state(cache, entries)
    kept = known.load(cache, state)
    if not kept:
        return None
    findings: list[Finding] = []
    for entry, config_id in _reported(entries, config, configs, report):
        found = known.findings_of(kept, reals[entry.path], config_id, entry.path)
        if found is None:
            return None
        findings += found
    return sorted(findings, key=Finding.sort_key)


def _run_files(entries: list[_Entry], config: Config, configs: Mapping[str, Config] | None,
               report: Collection[str] | None) -> Iterator[tuple[str, str]]:
    """What keys a run besides the base settings: every file's facts key, its own settings
    when they differ, and whether it is reported or only context."""
    ids: dict[int, str] = {}
    wanted = None if report is None else set(report)
    for entry in entries:
        settings = configs.get(entry.path, config) if configs else config
        own = "" if settings is config else ids.get(id(settings))
        if own is None:
            own = ids[id(settings)] = config_key(settings, enabled_codes(settings))
        context = "" if wanted is None or entry.path in wanted else "|context"
        yield entry.path, f"{entry.key}|{own}{context}"


def lint_text(path: str, text: str, config: Config,
              neighbours: Iterable[Parsed] = ()) -> list[Finding]:
    """Lint one in-memory document (the editor's buffer), with other files for context."""
    current = parse_source(Source(path, text))
    others = [p for p in neighbours if p.path != path]
    return check_project([current, *others], config, only=[path])
