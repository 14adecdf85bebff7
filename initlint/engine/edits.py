"""From a fix's changes to the text edits that JSON, ``--diff`` and the editor carry.

A rule names nodes and their replacements (:mod:`initlint.fixes.plan`); libcst applies them
(:mod:`initlint.fixes.cst`, parsed once per text, only for a file with a fix to apply or
offer). Each fix rewrites only the statements it changes, diffed and parse-checked where
they are, so a file's fixes cost what they change, not the file once per fix: 400 fixes
in one class cost four times 100, not sixteen. Where a fix cannot be shown to stay inside
its statements it takes the whole-module path: the whole text rewritten, diffed, parsed.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from initlint.core.findings import Edit, Finding, Span
from initlint.core.text import NEWLINE
from initlint.files.discover import read_source

if TYPE_CHECKING:
    from initlint.fixes.cst import Rewriter, Splice
    from initlint.fixes.plan import Change

_NEWLINE = NEWLINE


# --- text positions --------------------------------------------------------------------------

@dataclass(frozen=True)
class Lines:
    """Where each line starts and how it ends, split the way Python's tokenizer splits."""

    text: str
    starts: tuple[int, ...]
    endings: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Lines:
        starts, endings, pos = [0], [], 0
        for match in _NEWLINE.finditer(text):
            endings.append(match.group())
            pos = match.end()
            starts.append(pos)
        endings.append("")  # the last line (possibly empty) has no ending
        return cls(text, tuple(starts), tuple(endings))

    def offset(self, row: int, column: int) -> int | None:
        """Offset of a 1-based (row, code-point column); None when outside the text."""
        if not 0 < row <= len(self.starts) or column < 1:
            return None
        start = self.starts[row - 1]
        length = (self.starts[row] - len(self.endings[row - 1]) if row < len(self.starts)
                  else len(self.text)) - start
        if column - 1 > length:
            return None
        return start + column - 1

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based (row, code-point column) of an offset."""
        row = bisect.bisect_right(self.starts, offset)
        return row, offset - self.starts[row - 1] + 1

    def newline(self, row: int) -> str:
        """The line ending to use for text inserted on ``row``: its own, else the file's."""
        if 0 < row <= len(self.endings) and self.endings[row - 1]:
            return self.endings[row - 1]
        return next((e for e in self.endings if e), "\n")


# --- the smallest edits ----------------------------------------------------------------------

def minimal_edits(before: str, after: str) -> tuple[Edit, ...]:
    """The smallest edits (difflib over lines, then trimmed to the changed characters) that
    turn ``before`` into ``after``, at positions of ``before``."""
    return region_edits(Lines.of(before), 0, len(before), after)


def region_edits(lines: Lines, start: int, end: int, new: str) -> tuple[Edit, ...]:
    """:func:`minimal_edits` of ``lines.text[start:end]`` into ``new``, at positions of the
    whole text: the diff reads only the region a fix rewrites."""
    before = lines.text
    old_part = before[start:end]
    if old_part == new:
        return ()
    old, fresh = _keep_ends(old_part), _keep_ends(new)
    offsets, new_offsets = [start], [0]
    for line in old:
        offsets.append(offsets[-1] + len(line))
    for line in fresh:
        new_offsets.append(new_offsets[-1] + len(line))
    edits = []
    matcher = difflib.SequenceMatcher(None, old, fresh, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first, last = offsets[i1], offsets[i2]
        content = new[new_offsets[j1]:new_offsets[j2]]
        head = _common_prefix(before[first:last], content)
        tail = _common_prefix(before[first + head:last][::-1], content[head:][::-1])
        first, last = first + head, last - tail
        content = content[head:len(content) - tail]
        if first < last and before[first - 1:first + 1] == "\r\n":
            first, content = first - 1, "\r" + content  # never split a CRLF
        if last > first and before[last - 1:last + 1] == "\r\n":
            last, content = last + 1, content + "\n"
        edits.append(Edit(Span(*lines.position(first), *lines.position(last)), content))
    return tuple(edits)


def _keep_ends(text: str) -> list[str]:
    """Lines with their endings, split only where Python's tokenizer splits."""
    out, pos = [], 0
    for match in _NEWLINE.finditer(text):
        out.append(text[pos:match.end()])
        pos = match.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# --- does it still parse ---------------------------------------------------------------------

def parse_error(text: str, libcst_too: bool = True) -> str | None:
    """Why ``text`` does not parse (``ast``, and libcst unless told not to), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}"
    if libcst_too:
        import libcst

        try:
            libcst.parse_module(text)
        except Exception as exc:  # libcst raises ParserSyntaxError and, rarely, others
            first = str(exc).strip().splitlines()
            return f"libcst: {first[0] if first else type(exc).__name__}"
    return None


def _parses_in_place(splice: Splice) -> bool:
    """Do the statements ``splice`` writes parse where they go? They are whole statements at
    the indentation of the statements they replace, so they parse there when they parse
    alone under a header that opens that indentation and stay inside it (a line that
    dedents below it would close the block: not shown here, the whole text is asked)."""
    if not splice.text:
        return True  # whole statements removed; never a whole block (``splices`` says)
    snippet = f"if 1:\n{splice.text}" if splice.indent else splice.text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(snippet)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return not splice.indent or len(tree.body) == 1


# --- a file's fixes --------------------------------------------------------------------------

def with_edits(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` with each fix's edits computed against ``text``; a fix whose changes do
    not fit this text (or whose result would not parse) is dropped from its finding.
    libcst is loaded only when some finding has changes to apply."""
    pending = [f for f in findings if f.fix is not None and f.fix.changes and not f.fix.edits]
    if not pending:
        return list(findings)
    from initlint.fixes.cst import Rewriter

    try:
        rewriter: Rewriter | None = Rewriter(text)
    except Exception:  # libcst cannot parse this text: no fix is offered
        rewriter = None
    lines = Lines.of(text)
    out = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not fix.changes or fix.edits:
            out.append(finding)
            continue
        edits: tuple[Edit, ...] = ()
        if rewriter is not None:
            try:
                edits = _edits(rewriter, lines, fix.changes)
            except Exception:  # CannotApplyError, or a change libcst cannot build here
                edits = ()
        out.append(replace(finding, fix=replace(fix, edits=edits) if edits else None))
    return out


def _edits(rewriter: Rewriter, lines: Lines, changes: Sequence[Change]) -> tuple[Edit, ...]:
    """One fix's edits: from the statements it rewrites, else from the whole module; none
    when the result would not parse."""
    text = lines.text
    splices = rewriter.splices(changes)
    if splices is not None:
        edits = tuple(e for s in splices for e in region_edits(lines, s.start, s.end, s.text))
        if all(_parses_in_place(s) for s in splices):
            return edits
        after = _spliced(text, splices)
    else:
        after = rewriter.apply(changes)
        edits = minimal_edits(text, after)
    return edits if edits and parse_error(after, libcst_too=False) is None else ()


def _spliced(text: str, splices: Sequence[Splice]) -> str:
    """``text`` with ``splices`` (sorted, disjoint) applied."""
    parts, pos = [], 0
    for splice in splices:
        parts += [text[pos:splice.start], splice.text]
        pos = splice.end
    return "".join(parts) + text[pos:]


def with_edits_from_files(findings: Sequence[Finding]) -> list[Finding]:
    """:func:`with_edits` for a whole run: each file with fixes is read (once) again."""
    by_path: dict[str, list[int]] = {}
    for i, finding in enumerate(findings):
        if finding.fix is not None and finding.fix.changes and not finding.fix.edits:
            by_path.setdefault(finding.path, []).append(i)
    out = list(findings)
    for path, indices in by_path.items():
        source = read_source(path)
        if source.error:
            continue
        for i, done in zip(indices, with_edits(source.text, [out[i] for i in indices]),
                           strict=True):
            out[i] = done
    return out
