"""The pipeline: files → facts → findings. Parsing and extraction run per file (in workers
when there are many, with a persistent cache of their facts), linking and checking run once
over all facts (with a cache of the whole run's findings)."""

from __future__ import annotations

import ast
import gc
import os
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from initlint.cache import Cache, config_key
from initlint.checks import ALL_RULES, FileContext
from initlint.config import Config
from initlint.discover import Source, read_source
from initlint.extract import extract
from initlint.facts import FileFacts
from initlint.findings import Finding, Severity, Span
from initlint.imports import module_name_for
from initlint.progress import Progress
from initlint.project import ProjectFacts
from initlint.selection import enabled_codes
from initlint.suppress import suppress

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


def syntax_finding(path: str, message: str, row: int = 1, column: int = 1) -> Finding:
    span = Span(max(row, 1), max(column, 1), max(row, 1), max(column, 1))
    return Finding("INI000", Severity.ERROR, path, span, message,
                   "initlint could not parse this file, so nothing in it was checked.")


def prefilter(text: str) -> bool:
    """Could this file hold model or init code? (A substring scan: no parse.)"""
    return any(marker in text for marker in _MARKERS)


def parse_source(source: Source) -> Parsed:
    """Parse and extract one file; never raises."""
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
                  only: Iterable[str] | None = None) -> list[Finding]:
    """Link all facts and run every enabled rule on the files in ``only`` (default: all)."""
    enabled = enabled_codes(config)
    project = ProjectFacts(p.facts for p in parsed if p.facts is not None)
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for item in parsed:
        if wanted is not None and item.path not in wanted:
            continue
        if item.error is not None:
            findings += suppress([item.error], None, config, enabled)
            continue
        if item.facts is None:
            continue
        ctx = FileContext(item.facts, project, item.text, config)
        raw: list[Finding] = []
        for code in sorted(enabled):
            raw += _run_rule(code, ctx)
        findings += suppress(raw, item.facts, config, enabled)
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


def _parse_chunk(chunk: list[tuple[str, str]]) -> list[Parsed]:
    """Worker side: parse files, hand back facts without the text the parent already has."""
    return [replace(parse_source(Source(path, text)), text="") for path, text in chunk]


def _chunks(sources: list[Source], jobs: int) -> list[list[int]]:
    """Indices of ``sources`` in chunks of similar size, biggest files first, so the last
    chunk to finish is small and both workers stay busy to the end."""
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i].text))
    target = max(1, sum(len(s.text) for s in sources) // (jobs * CHUNKS_PER_JOB))
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index in order:
        current.append(index)
        size += len(sources[index].text)
        if size >= target:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


def default_jobs() -> int:
    """The cores this process may use (affinity masks and containers included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _parse_many(sources: list[Source], jobs: int, progress: Progress | None) -> list[Parsed]:
    """Parse every source, in worker processes when it pays; results in input order."""
    results: list[Parsed | None] = [None] * len(sources)
    if jobs > 1 and len(sources) >= MIN_PARALLEL_FILES:
        try:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(_parse_chunk, [(sources[i].path, sources[i].text)
                                                      for i in chunk]): chunk
                           for chunk in _chunks(sources, jobs)}
                for future in as_completed(futures):
                    chunk = futures[future]
                    try:
                        parsed = future.result()
                    except BrokenProcessPool:
                        raise
                    except Exception:  # facts that would not pickle: parsed again below
                        continue
                    for index, item in zip(chunk, parsed, strict=True):
                        results[index] = replace(item, text=sources[index].text)
                    if progress is not None:
                        progress.advance(len(chunk))
        except (BrokenProcessPool, OSError):
            pass  # a worker died (memory?) or none could start: finish in this process
    for index, source in enumerate(sources):
        if results[index] is None:
            results[index] = parse_source(source)
            if progress is not None:
                progress.advance()
    return results  # type: ignore[return-value]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Facts are millions of small acyclic objects: the cyclic collector would rescan them
    all again and again as they accumulate (a third of the run), and frees nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _prepared(sources: list[Source], cache: Cache | None) -> tuple[list[Parsed | None],
                                                                   list[str]]:
    """Files settled without parsing (unreadable, skipped by the prefilter, or cached), and
    every file's cache key (what the whole run's key is made of)."""
    done: list[Parsed | None] = []
    keys: list[str] = []
    for source in sources:
        if source.error:
            done.append(Parsed(source.path, "", None, syntax_finding(source.path,
                                                                     source.error)))
            keys.append("error:" + source.error)
        elif not prefilter(source.text):
            done.append(Parsed(source.path, source.text, None, None, skipped=True))
            keys.append("skipped")
        elif cache is None:
            done.append(None)
            keys.append("")
        else:
            key = cache.file_key(source.path, module_name_for(source.path), source.text)
            keys.append(key)
            hit = cache.get("facts", key)
            done.append(replace(hit, text=source.text) if isinstance(hit, Parsed) else None)
    return done, keys


def parse_all(paths: list[str], jobs: int | None = None, *, cache: Cache | None = None,
              progress: Progress | None = None) -> list[Parsed]:
    """Parse every file (facts from ``cache`` where it has them), in input order."""
    sources = [read_source(p) for p in paths]
    with _gc_paused():
        done, keys = _prepared(sources, cache)
        return _complete(sources, done, keys, jobs, cache, progress)


def _complete(sources: list[Source], done: list[Parsed | None], keys: list[str],
              jobs: int | None, cache: Cache | None,
              progress: Progress | None) -> list[Parsed]:
    todo = [i for i, item in enumerate(done) if item is None]
    if progress is not None:
        progress.advance(len(sources) - len(todo))
    fresh = _parse_many([sources[i] for i in todo], jobs or default_jobs(), progress)
    for index, item in zip(todo, fresh, strict=True):
        done[index] = item
        if cache is not None:
            cache.put("facts", keys[index], replace(item, text=""))
    return done  # type: ignore[return-value]


def lint_paths(paths: list[str], config: Config, jobs: int | None = None, *,
               cache: Cache | None = None, progress: Progress | None = None) -> RunResult:
    """Lint files (already discovered). With ``cache``, unchanged files are not parsed again
    and an unchanged run (same files, same contents, same settings) is not checked again."""
    sources = [read_source(p) for p in paths]
    with _gc_paused():
        done, keys = _prepared(sources, cache)
        run_key = ""
        if cache is not None:
            run_key = cache.run_key(config_key(config, enabled_codes(config)),
                                    zip(paths, keys, strict=True))
            hit = cache.get("run", run_key)
            if isinstance(hit, tuple) and len(hit) == 2:
                findings, parsed_count = hit
                if progress is not None:
                    progress.advance(len(paths))
                return RunResult(list(findings), len(paths), parsed_count,
                                 cached=len(paths), from_cache=True)
        cached = sum(1 for item in done if item is not None and item.facts is not None)
        parsed = _complete(sources, done, keys, jobs, cache, progress)
        findings = check_project(parsed, config)
        result = RunResult(findings, len(paths), sum(1 for p in parsed if p.facts is not None),
                           cached=cached)
        if cache is not None:
            cache.put("run", run_key, (tuple(findings), result.parsed))
        return result


def lint_text(path: str, text: str, config: Config,
              neighbours: Iterable[Parsed] = ()) -> list[Finding]:
    """Lint one in-memory document (the editor's buffer), with other files for context."""
    current = parse_source(Source(path, text))
    others = [p for p in neighbours if p.path != path]
    return check_project([current, *others], config, only=[path])
