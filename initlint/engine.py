"""The pipeline: files → facts → findings. Parsing and extraction run per file (in workers
when there are many), linking and checking run once over all facts."""

from __future__ import annotations

import ast
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from initlint.checks import ALL_RULES, FileContext
from initlint.config import Config
from initlint.discover import Source, read_source
from initlint.extract import extract
from initlint.facts import FileFacts
from initlint.findings import Finding, Severity, Span
from initlint.imports import module_name_for
from initlint.project import ProjectFacts
from initlint.selection import enabled_codes
from initlint.suppress import suppress

#: Bytes a file must contain to hold model or init code worth parsing.
PREFILTER = (b"torch", b"nn.", b"init", b"Module", b"reset_parameters", b"apply(")


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


def syntax_finding(path: str, message: str, row: int = 1, column: int = 1) -> Finding:
    span = Span(max(row, 1), max(column, 1), max(row, 1), max(column, 1))
    return Finding("INI000", Severity.ERROR, path, span, message,
                   "initlint could not parse this file, so nothing in it was checked.")


def parse_source(source: Source) -> Parsed:
    """Parse and extract one file; never raises."""
    if source.error:
        return Parsed(source.path, "", None, syntax_finding(source.path, source.error))
    data = source.text
    if not any(marker.decode() in data for marker in PREFILTER):
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
            raw += ALL_RULES[code].check(ctx)
        findings += suppress(raw, item.facts, config, enabled)
    return sorted(set(findings), key=Finding.sort_key)


def parse_all(paths: list[str], jobs: int | None = None) -> list[Parsed]:
    """Parse every file, in worker processes when it pays."""
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(paths) < 16:
        return [parse_path(p) for p in paths]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(parse_path, paths, chunksize=max(1, len(paths) // (jobs * 8))))


def lint_paths(paths: list[str], config: Config, jobs: int | None = None) -> RunResult:
    """Lint files (already discovered)."""
    parsed = parse_all(paths, jobs)
    findings = check_project(parsed, config)
    return RunResult(findings, len(paths), sum(1 for p in parsed if p.facts is not None))


def lint_text(path: str, text: str, config: Config,
              neighbours: Iterable[Parsed] = ()) -> list[Finding]:
    """Lint one in-memory document (the editor's buffer), with other files for context."""
    current = parse_source(Source(path, text))
    others = [p for p in neighbours if p.path != path]
    return check_project([current, *others], config, only=[path])
