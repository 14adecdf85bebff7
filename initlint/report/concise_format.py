"""``--output-format concise``: one line per finding, ``path:row:col: CODE message``
(``path:cell N:row:col:`` in a notebook), as ruff's concise output; the why, the excerpt and
the fix are in the ``text`` format and in ``initlint rule CODE``."""

from __future__ import annotations

from initlint.core.findings import Finding
from initlint.report import escape
from initlint.report.location import where
from initlint.report.style import PLAIN, SEVERITY, Style


def format_finding(finding: Finding, style: Style = PLAIN) -> str:
    return (f"{style(escape.path(where(finding)), 'bold')}: "
            f"{style(finding.code, SEVERITY[finding.severity.value])} "
            f"{escape.text(finding.message)}")


def render(findings: list[Finding], sources: dict[str, str], style: Style = PLAIN) -> str:
    return escape.lines("".join(format_finding(f, style) + "\n" for f in findings))
