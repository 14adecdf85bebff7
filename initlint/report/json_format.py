"""``--output-format json``: a list of objects with stable fields (ruff-like)."""

from __future__ import annotations

import json
import os
from typing import Any

from initlint.checks import ALL_RULES
from initlint.core.findings import Finding, Span
from initlint.report import escape


def _location(row: int, column: int) -> dict[str, int]:
    return {"row": row, "column": column}


def _span_fields(span: Span) -> dict[str, Any]:
    return {"location": _location(span.row, span.column),
            "end_location": _location(span.end_row, span.end_column)}


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    rule = ALL_RULES.get(finding.code)
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability,
            "message": finding.fix.message,
            "edits": [{"content": e.content, **_span_fields(e.span)} for e in finding.fix.edits],
        }
    runtime = None
    if finding.runtime is not None:
        runtime = {"status": finding.runtime.status,
                   "evidence": dict(finding.runtime.evidence),
                   "summary": finding.runtime.summary}
    return {
        "code": finding.code,
        "name": rule.name if rule else "",
        "severity": finding.severity.value,
        "message": finding.message,
        "why": finding.why,
        "filename": os.path.abspath(finding.path),
        "cell": finding.cell,  # a notebook's cell (1-based; rows count from it), else null
        **_span_fields(finding.span),
        "noqa_row": finding.span.row,
        "fix": fix,
        "url": rule.url if rule else "",
        "runtime": runtime,
    }


def render(findings: list[Finding], sources: dict[str, str]) -> str:
    document = json.dumps([finding_to_dict(f) for f in findings], indent=2, default=str)
    return escape.json_text(document) + "\n"  # ASCII: control characters are \\u escapes
