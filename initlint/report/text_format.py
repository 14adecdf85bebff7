"""``--output-format text``: ``path:row:col: CODE message``, the source line, the why.

The why is cut to what a reader needs at the finding (the reason with its numbers, and what
to do); the rest (the rule's general measurements, the long explanation) is one
``initlint rule CODE`` away, and the line says so.
"""

from __future__ import annotations

import re
import textwrap

from initlint.core.findings import Finding
from initlint.core.text import split_lines
from initlint.report import escape
from initlint.report.location import source_of, where
from initlint.report.style import PLAIN, SEVERITY, Style

#: A sentence ends at . ! ? followed by space and a capital, a backtick or a parenthesis
#: (so ``e.g. kaiming``, ``2.45×`` and ``Var(w)=1/(3·fan_in).`` mid-sentence never split).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(])")
#: A clause that reports the rule's own reference measurement (the same for every finding
#: of the rule: it belongs to the rule's doc, not to each finding).
_REFERENCE_CLAUSE = re.compile(r";\s*measured\b[^;]*?(?=;|\.$|$)")


_ABBREVIATIONS = ("e.g.", "i.e.", "cf.", "vs.", "etc.")


def sentences(text: str) -> list[str]:
    """``text`` split into sentences: never after an abbreviation (``e.g. `x```) nor inside
    parentheses or a code span."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start:match.start()]
        if (piece.endswith(_ABBREVIATIONS) or piece.count("(") != piece.count(")")
                or piece.count("`") % 2):
            continue
        out.append(piece)
        start = match.end()
    out.append(text[start:])
    return [s for s in out if s]


def short_why(why: str, code: str) -> str:
    """The first sentence (the reason, with this finding's numbers) and the last (what to
    do), without the rule's reference measurements; a pointer to the doc when cut."""
    sentences_ = sentences(why.strip())
    kept = sentences_[:1] + (sentences_[-1:] if len(sentences_) > 1 else [])
    kept = [_REFERENCE_CLAUSE.sub("", s) for s in kept]
    short = " ".join(kept)
    if short != why.strip():
        short += f" (more: `initlint rule {code}`)"
    return short


def _excerpt(finding: Finding, sources: dict[str, str], style: Style) -> list[str]:
    text = source_of(finding, sources)
    if not text:
        return []
    lines = split_lines(text)
    row = finding.span.row
    if not 0 < row <= len(lines):
        return []
    line = escape.text(lines[row - 1].rstrip())  # one column per code point: carets align
    width = len(str(row))
    end = finding.span.end_column if finding.span.end_row == row else len(line) + 1
    marks = max(1, end - finding.span.column)
    return [f" {style(str(row), 'blue')} {style('|', 'blue')} {line}",
            f" {' ' * width} {style('|', 'blue')} {' ' * (finding.span.column - 1)}"
            f"{style('^' * marks, 'red')}"]


#: Width the why is wrapped to (the excerpt above it is as wide as the source line).
WIDTH = 100


def format_finding(finding: Finding, sources: dict[str, str], style: Style = PLAIN,
                   shown: dict[str, str] | None = None) -> str:
    """One finding. ``shown`` maps each why already printed in this report to where: a
    finding whose why is the same (a rule's explanation for the same situation in another
    file) points there instead of repeating it."""
    place = escape.path(where(finding))
    head = (f"{style(place, 'bold')}: "
            f"{style(finding.code, SEVERITY[finding.severity.value])} "
            f"[{finding.severity.value}] {escape.text(finding.message)}")
    out = [head, *_excerpt(finding, sources, style)]
    why = escape.text(short_why(finding.why, finding.code)) if finding.why else ""
    if shown is not None and why:
        if why in shown:
            why = f"as for {shown[why]} above."
        else:
            shown[why] = place
    out += [f"  {style('= why:', 'cyan')} " + line if i == 0 else "         " + line
            for i, line in enumerate(textwrap.wrap(why, WIDTH - 9))]
    if finding.fix is not None:
        out.append(f"  {style('= fix', 'cyan')} ({finding.fix.applicability}): "
                   f"{escape.text(finding.fix.message)}")
    if finding.runtime is not None and finding.runtime.summary:
        out.append(f"  {style('= measured', 'cyan')} ({finding.runtime.status}): "
                   f"{escape.text(finding.runtime.summary)}")
    return "\n".join(out)


def summary(findings: list[Finding]) -> str:
    """``Found N findings.`` and how many ``--fix`` would fix (nothing when there are none:
    "All checks passed!" is the caller's to say, as only it knows about errors)."""
    if not findings:
        return ""
    fixable = sum(1 for f in findings if f.fix and f.fix.applicability == "safe")
    hidden = sum(1 for f in findings if f.fix and f.fix.applicability == "unsafe")
    tail = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''}."
    more = f"{hidden} more fixable with `--unsafe-fixes`"
    if fixable:
        tail += f"\n[*] {fixable} fixable with `initlint --fix`" + (
            f" ({more})." if hidden else ".")
    elif hidden:  # as ruff says "No fixes available (N hidden fixes can be enabled ...)"
        tail += f"\nNo safe fixes ({more})."
    return tail + "\n"


def render(findings: list[Finding], sources: dict[str, str], style: Style = PLAIN) -> str:
    """The findings, each with excerpt and why, separated by blank lines (no summary)."""
    if not findings:
        return ""
    shown: dict[str, str] = {}
    return escape.lines("\n\n".join(format_finding(f, sources, style, shown)
                                     for f in findings) + "\n\n")
