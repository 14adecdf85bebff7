"""Autofix: apply the fixes rules describe, re-lint until nothing is left to fix, prove
the result still parses, and write it back without disturbing anything else.

Each fix's edits come from :mod:`initlint.engine.edits` (its changes applied by libcst to
the statements they rewrite). Edits that overlap an earlier fix wait for the next round,
which re-lints the new text so every node is fresh.
"""

from __future__ import annotations

import bisect
import codecs
import difflib
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TypeGuard

from initlint.cache.store import Cache, content_hash
from initlint.core.config import Config
from initlint.core.findings import Finding, Fix
from initlint.core.text import NEWLINE
from initlint.engine.edits import (
    Lines,
    minimal_edits,
    parse_error,
    with_edits,
    with_edits_from_files,
)
from initlint.engine.lint import (
    Parsed,
    check_project,
    lint_paths,
    lint_text,
    parse_all,
    parse_source,
)
from initlint.files import safe_write
from initlint.files.discover import Source, read_source
from initlint.files.notebook import is_notebook
from initlint.files.source import declared_encoding

#: What other stages import from here (the edits live in :mod:`initlint.engine.edits`).
__all__ = ["MAX_ROUNDS", "Applied", "FixKey", "FixResult", "FixRun", "Lines", "ModelCheck",
           "Verifier", "WriteError", "applicable", "apply_fixes", "fix_key", "fix_paths",
           "fix_text", "minimal_edits", "parse_error", "remaining_summary",
           "unified_diff", "with_edits", "with_edits_from_files", "write_fixed"]

#: A fix loop that has not converged after this many rounds is stopped where it is.
MAX_ROUNDS = 10


def applicable(fix: Fix | None, unsafe: bool = False) -> TypeGuard[Fix]:
    """Does this fix run under ``--fix`` (safe) or ``--fix --unsafe-fixes`` (also unsafe)?"""
    if fix is None or not (fix.edits or fix.changes):
        return False
    return fix.applicability == "safe" or (unsafe and fix.applicability == "unsafe")


# --- applying one round of fixes ---------------------------------------------------------------

@dataclass(frozen=True)
class Applied:
    """One round: the new text, the findings whose fixes went in and those left for later."""

    text: str
    applied: tuple[Finding, ...]
    deferred: tuple[Finding, ...]  # overlapped an applied fix: next round
    invalid: tuple[Finding, ...]  # spans outside the text or overlapping themselves


def _resolve(lines: Lines, fix: Fix) -> list[tuple[int, int, str]] | None:
    """Edits as sorted (start, end, content) offsets with the file's line endings."""
    out = []
    for edit in fix.edits:
        span = edit.span
        start = lines.offset(span.row, span.column)
        end = lines.offset(span.end_row, span.end_column)
        if start is None or end is None or end < start:
            return None
        newline = lines.newline(span.row)
        content = edit.content
        if newline != "\n":
            content = NEWLINE.sub(newline, content)
        out.append((start, end, content))
    out.sort(key=lambda e: (e[0], e[1]))
    for (s1, e1, _), (s2, _, _) in pairwise(out):
        if s2 < e1 or s2 == s1:
            return None
    return out


class _Taken:
    """The edits a round has taken, sorted: does a new one conflict with one of them? Two
    edits conflict when their ranges share text or they start at the same place. Taken
    edits never conflict with each other, so only the neighbours of a new one can: a
    round of n fixes costs n log n, not n² (400 fixes in one class)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.edits: list[tuple[int, int, str]] = []

    def conflicts(self, edit: tuple[int, int, str]) -> bool:
        start, end, _ = edit
        first = max(bisect.bisect_left(self.starts, start) - 1, 0)
        for s2, e2, _ in self.edits[first:]:
            if s2 == start or (start < e2 and s2 < end):
                return True
            if s2 > max(start, end):
                return False
        return False

    def add(self, edits: Sequence[tuple[int, int, str]]) -> None:
        for edit in edits:
            i = bisect.bisect_left(self.starts, edit[0])
            self.starts.insert(i, edit[0])
            self.edits.insert(i, edit)


def apply_fixes(text: str, findings: Sequence[Finding]) -> Applied:
    """Apply the fixes of ``findings`` that do not overlap, in source order (their edits
    computed first where the rule gave changes)."""
    findings = with_edits(text, findings)
    lines = Lines.of(text)
    taken = _Taken()
    seen: set[tuple[tuple[int, int, str], ...]] = set()
    applied, deferred, invalid = [], [], []
    ordered = sorted(((f, f.fix) for f in findings if f.fix is not None),
                     key=lambda pair: (min(e.span for e in pair[1].edits), pair[0].code))
    for finding, fix in ordered:
        edits = _resolve(lines, fix)
        if edits is None:
            invalid.append(finding)
            continue
        key = tuple(edits)
        if key in seen:  # two findings, one identical fix (ruff dedups these too)
            applied.append(finding)
            continue
        if any(taken.conflicts(e) for e in edits):
            deferred.append(finding)
            continue
        seen.add(key)
        taken.add(edits)
        applied.append(finding)
    parts, pos = [], 0
    for start, end, content in taken.edits:
        parts += [text[pos:start], content]
        pos = end
    return Applied("".join(parts) + text[pos:], tuple(applied), tuple(deferred),
                   tuple(invalid))


# --- verifying -------------------------------------------------------------------------------

class Verifier:
    """Does a fixed text still parse? libcst is only demanded where the original passed it,
    and the original is only given to libcst (slow) when a fixed text fails it."""

    def __init__(self, original: str):
        self.original = original
        self._original_ok: bool | None = None

    def error(self, text: str) -> str | None:
        error = parse_error(text)
        if error is None or not error.startswith("libcst"):
            return error
        if self._original_ok is None:
            self._original_ok = parse_error(self.original) is None
        return error if self._original_ok else None


# --- the fix loop for one file ---------------------------------------------------------------

@dataclass(frozen=True)
class FixResult:
    """One file after fixing: its text before and after, and what remains."""

    path: str
    before: str
    after: str
    fixed: int  # fixes applied
    findings: tuple[Finding, ...]  # what a lint of ``after`` still reports
    dropped: tuple[str, ...] = ()  # messages: fixes rejected because the result broke

    @property
    def changed(self) -> bool:
        return self.before != self.after


#: A fix's identity across rounds: its code, message, edit contents and the lines it edits.
FixKey = tuple[str, str | None, tuple[str, ...], tuple[str, ...]]


def fix_key(text: str, finding: Finding) -> FixKey:
    """A fix's identity in ``text`` (what ``fix_text(reject=...)`` takes)."""
    return _key(Lines.of(text), finding)


def _key(lines: Lines, finding: Finding) -> FixKey:
    """A fix's identity across rounds (spans move when earlier fixes add lines)."""
    fix = finding.fix
    if fix is None:
        return (finding.code, None, (), ())
    rows = sorted({e.span.row for e in fix.edits})
    context = tuple(lines.text[lines.starts[r - 1]: lines.starts[r]] if r < len(lines.starts)
                    else lines.text[lines.starts[r - 1]:] if 0 < r <= len(lines.starts)
                    else "" for r in rows)
    return (finding.code, fix.message, tuple(e.content for e in fix.edits), context)


def fix_text(path: str, text: str, config: Config, neighbours: Iterable[Parsed] = (),
             unsafe: bool = False, findings: Sequence[Finding] | None = None,
             reject: Collection[FixKey] = ()) -> FixResult:
    """Lint → apply → re-lint until no applicable fix is left (``MAX_ROUNDS`` at most).

    ``neighbours`` are the other files of the project so cross-file facts still count;
    ``findings`` may pass the first lint's result when the caller already has it;
    ``reject``: fixes (:func:`fix_key` on ``text``) not to apply (``--verify`` dropped them).
    """
    neighbours = [p for p in neighbours if p.path != path]
    current = text
    if findings is None:
        findings = lint_text(path, current, config, neighbours)
    verifier = Verifier(text)
    rejected: set[FixKey] = set(reject)
    dropped: list[str] = []
    fixed = 0
    for _ in range(MAX_ROUNDS):
        lines = Lines.of(current)
        candidates = [f for f in with_edits(current, [f for f in findings
                                                      if applicable(f.fix, unsafe)])
                      if applicable(f.fix, unsafe) and _key(lines, f) not in rejected]
        if not candidates:
            break
        new, count = _apply_verified(path, current, candidates, verifier, rejected, dropped)
        if new == current:
            break
        current, fixed = new, fixed + count
        findings = lint_text(path, current, config, neighbours)
    return FixResult(path, text, current, fixed, tuple(findings), tuple(dropped))


def _apply_verified(path: str, text: str, candidates: list[Finding], verifier: Verifier,
                    rejected: set[FixKey], dropped: list[str]) -> tuple[str, int]:
    """Apply a round; when the result does not parse, find and drop the fixes to blame."""
    result = apply_fixes(text, candidates)
    lines = Lines.of(text)
    for finding in result.invalid:
        rejected.add(_key(lines, finding))
        dropped.append(_drop_message(path, finding, "its edits do not fit the file"))
    if result.text == text or verifier.error(result.text) is None:
        return result.text, len(result.applied)
    good = []
    for finding in result.applied:
        alone = apply_fixes(text, [finding])
        error = verifier.error(alone.text)
        if error is None:
            good.append(finding)
        else:
            rejected.add(_key(lines, finding))
            dropped.append(_drop_message(path, finding, f"the result would not parse ({error})"))
    for attempt in (good, good[:1]):  # together, else the first alone (verified above)
        merged = apply_fixes(text, attempt)
        if attempt and verifier.error(merged.text) is None:
            return merged.text, len(merged.applied)
    return text, 0


def _drop_message(path: str, finding: Finding, why: str) -> str:
    span = finding.span
    return f"{path}:{span.row}:{span.column}: {finding.code} fix dropped: {why}"


# --- writing ---------------------------------------------------------------------------------

class WriteError(Exception):
    """The fixed text could not be written back without changing the file's encoding."""


def write_fixed(path: str, before: str, after: str) -> None:
    """Replace ``path`` atomically with ``after``, keeping BOM, encoding and permissions.

    ``before`` must be the text the fixes were computed from: when the file on disk no
    longer decodes to it (changed meanwhile, or it does not round-trip through its
    encoding) nothing is written. A notebook's texts are its program (its code cells):
    they become the notebook's JSON here.
    """
    if is_notebook(path):
        before, after = _notebook_texts(path, before, after)

    def change(data: bytes) -> bytes:  # the bytes on disk now, under the write lock
        bom = data.startswith(codecs.BOM_UTF8)
        body = data[len(codecs.BOM_UTF8):] if bom else data
        encoding = declared_encoding(body) or "utf-8"
        try:
            if before.encode(encoding) != body:
                raise WriteError(f"{path}: changed on disk or not round-trippable as "
                                 f"{encoding}; not written")
            out = after.encode(encoding)
        except (UnicodeEncodeError, LookupError) as exc:
            raise WriteError(f"{path}: cannot encode the fixed text as {encoding}: "
                             f"{exc}") from exc
        return codecs.BOM_UTF8 + out if bom else out

    safe_write.rewrite(path, change)  # locked compare-and-swap; refuses odd files


def _notebook_texts(path: str, before: str, after: str) -> tuple[str, str]:
    """(the notebook file's text, its text with the fixed cells) for fixed ``after``."""
    from initlint.files.notebook import NotebookError, parse_notebook, render
    from initlint.files.safe_fs import read_bytes

    try:
        on_disk = read_bytes(path).decode("utf-8-sig")  # a BOM is kept by write_fixed
        notebook = parse_notebook(on_disk)
    except (OSError, UnicodeDecodeError, NotebookError) as exc:
        raise WriteError(f"{path}: cannot read the notebook back: {exc}") from exc
    rendered = render(notebook, after) if notebook.program == before else None
    if rendered is None:
        raise WriteError(f"{path}: the notebook changed on disk or its cells no longer line "
                         "up; not written")
    return on_disk, rendered


def unified_diff(path: str, before: str, after: str) -> str:
    """A ``diff -u`` of one file; a last line without newline is marked as diff marks it.
    A notebook's (program) texts are shown as its code cells, ``a/nb.ipynb:cell 3``."""
    if is_notebook(path):
        from initlint.files.notebook import cell_diff

        return cell_diff(path, before, after)
    shown = path.replace(os.sep, "/")
    old, new = (shown, shown) if os.path.isabs(path) else (f"a/{shown}", f"b/{shown}")
    out = []
    for line in difflib.unified_diff(before.splitlines(keepends=True),
                                     after.splitlines(keepends=True), fromfile=old, tofile=new):
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# --- many files ------------------------------------------------------------------------------

def remaining_summary(findings: Sequence[Finding], unsafe: bool) -> str:
    """What ``--fix`` left: the unsafe fixes it did not apply and the findings to fix by
    hand, by code (``Remaining: 2 with unsafe fixes (--unsafe-fixes): INI101 ×2; 1 to fix
    by hand: INI104``)."""
    def counted(items: list[Finding]) -> str:
        codes: dict[str, int] = {}
        for f in items:
            codes[f.code] = codes.get(f.code, 0) + 1
        return ", ".join(f"{c} ×{n}" if n > 1 else c for c, n in sorted(codes.items()))

    hidden = [f for f in findings if f.fix is not None and f.fix.applicability == "unsafe"
              and not unsafe]
    manual = [f for f in findings if f not in hidden]
    parts = []
    if hidden:
        parts.append(f"{len(hidden)} with unsafe fixes (--unsafe-fixes): {counted(hidden)}")
    if manual:
        parts.append(f"{len(manual)} to fix by hand: {counted(manual)}")
    return f"Remaining: {'; '.join(parts)}." if parts else ""


@dataclass
class FixRun:
    """A ``--fix`` / ``--diff`` run over files: per-file results and what still remains."""

    results: list[FixResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # remaining, all files
    errors: list[str] = field(default_factory=list)  # one line each, for stderr

    @property
    def fixed(self) -> int:
        return sum(r.fixed for r in self.results)

    @property
    def changed(self) -> list[FixResult]:
        return [r for r in self.results if r.changed]


#: ``--verify``: a fixed file's result, checked against its models (fixes dropped as needed).
ModelCheck = Callable[["FixResult", Config, list[Parsed], bool], "FixResult"]


def fix_paths(paths: list[str], config: Config, unsafe: bool = False, write: bool = True,
              jobs: int | None = None, *, cache: Cache | None = None,
              configs: Mapping[str, Config] | None = None,
              report: Collection[str] | None = None,
              verify: ModelCheck | None = None) -> FixRun:
    """Fix the files under ``paths`` (already discovered; those in ``report``, default all,
    the others are context), each with the others as context and its own settings.

    A first lint goes through the cache like a plain check, so a run with nothing to fix
    costs what a cached check costs; only when some fix applies are the files parsed (their
    facts from the cache) and the fixed files re-linted. ``verify`` (``--verify``: the runtime
    mode's :func:`initlint.runtime.fix_verify.verified`, handed in from above) checks each
    fixed file's result and drops the fixes that break one of its models."""
    first = lint_paths(paths, config, jobs, cache=cache, configs=configs, report=report)
    by_path: dict[str, list[Finding]] = {}
    for finding in first.findings:
        by_path.setdefault(finding.path, []).append(finding)
    todo = {path: findings for path, findings in by_path.items()
            if any(applicable(f.fix, unsafe) for f in findings)}
    if not todo:
        return FixRun(findings=list(first.findings))
    parsed = {p.path: p for p in parse_all(paths, jobs, cache=cache)}
    run = FixRun()
    for path, findings in todo.items():
        source = read_source(path)
        if source.error:
            continue
        settings = configs.get(path, config) if configs else config
        # not the text the first lint saw: lint it again, then fix
        seen = findings if first.digests.get(path) == content_hash(source.text) else None
        result = fix_text(path, source.text, settings, parsed.values(), unsafe, seen)
        if verify is not None and result.changed:
            result = verify(result, settings, list(parsed.values()), unsafe)
        run.errors += result.dropped
        if result.changed and write:
            try:
                write_fixed(path, source.text, result.after)
            except (OSError, WriteError) as exc:
                run.errors.append(f"initlint: error: {exc}")
                continue
        run.results.append(result)
        parsed[path] = parse_source(Source(path, result.after, "", source.bom))
    # Nothing written: the first lint stands (a second link of the whole project costs as
    # much as the first).
    run.findings = (check_project(list(parsed.values()), config, report, configs)
                    if run.changed else list(first.findings))
    return run
