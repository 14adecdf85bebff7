"""``--output-format text``: ``path:row:col: CODE message``, the source line, the why."""

from __future__ import annotations

import textwrap

from initlint.findings import Finding
from initlint.text import split_lines


def _excerpt(finding: Finding, sources: dict[str, str]) -> list[str]:
    text = sources.get(finding.path)
    if not text:
        return []
    lines = split_lines(text)
    row = finding.span.row
    if not 0 < row <= len(lines):
        return []
    line = lines[row - 1].rstrip()
    width = len(str(row))
    end = finding.span.end_column if finding.span.end_row == row else len(line) + 1
    marks = max(1, end - finding.span.column)
    return [f" {row} | {line}",
            f" {' ' * width} | {' ' * (finding.span.column - 1)}{'^' * marks}"]


def format_finding(finding: Finding, sources: dict[str, str]) -> str:
    head = (f"{finding.path}:{finding.span.row}:{finding.span.column}: {finding.code} "
            f"[{finding.severity.value}] {finding.message}")
    out = [head, *_excerpt(finding, sources)]
    out += ["  = why: " + line if i == 0 else "         " + line
            for i, line in enumerate(textwrap.wrap(finding.why, 88))]
    if finding.fix is not None:
        out.append(f"  = fix ({finding.fix.applicability}): {finding.fix.message}")
    if finding.runtime is not None and finding.runtime.summary:
        out.append(f"  = measured ({finding.runtime.status}): {finding.runtime.summary}")
    return "\n".join(out)


def render(findings: list[Finding], sources: dict[str, str]) -> str:
    if not findings:
        return "All checks passed!\n"
    body = "\n\n".join(format_finding(f, sources) for f in findings)
    fixable = sum(1 for f in findings if f.fix and f.fix.applicability == "safe")
    tail = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''}."
    if fixable:
        tail += f"\n[*] {fixable} fixable with `initlint --fix`."
    return body + "\n\n" + tail + "\n"
