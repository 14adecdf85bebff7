"""``--output-format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Every registered rule goes into ``tool.driver.rules`` (so viewers can show the docs of rules
that did not fire); paths inside the working directory are relative to ``%SRCROOT%``, which
is how code scanning maps results onto the repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from initlint import __version__
from initlint.checks import ALL_RULES, Rule
from initlint.checks.base import DOCS_SITE
from initlint.checks.docs import doc_section, rule_doc
from initlint.core.findings import Finding, Fix, Severity, Span
from initlint.report import escape

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = DOCS_SITE
SRCROOT = "%SRCROOT%"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _rule(rule: Rule) -> dict[str, Any]:
    doc = rule_doc(rule.code)
    full = doc_section(doc, "What it does") if doc else ""
    why = doc_section(doc, "Why it matters") if doc else ""
    help_text = "\n\n".join(part for part in (full, why) if part) or rule.summary
    out: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full or rule.summary},
        "help": {"text": help_text, **({"markdown": doc} if doc else {})},
        "helpUri": rule.url,
        "defaultConfiguration": {"level": LEVELS[rule.severity], "enabled": rule.default},
        "properties": {"tags": ["pytorch", "initialization"],
                       **({"fix": rule.fix} if rule.fix else {})},
    }
    return out


def _artifact(path: str, root: Path) -> dict[str, str]:
    """A relative URI under ``%SRCROOT%`` when inside ``root``, else an absolute file URI."""
    absolute = Path(os.path.abspath(path))
    if absolute.is_relative_to(root):  # bytes, not text: any file name is a valid URI
        return {"uri": quote(os.fsencode(absolute.relative_to(root).as_posix())),
                "uriBaseId": SRCROOT}
    return {"uri": absolute.as_uri()}


def _region(span: Span) -> dict[str, int]:
    return {"startLine": span.row, "startColumn": span.column,
            "endLine": span.end_row, "endColumn": span.end_column}


def _fix(fix: Fix, artifact: dict[str, str]) -> dict[str, Any]:
    return {
        "description": {"text": f"{fix.message} ({fix.applicability})"},
        "artifactChanges": [{
            "artifactLocation": artifact,
            "replacements": [{"deletedRegion": _region(edit.span),
                              "insertedContent": {"text": edit.content}}
                             for edit in fix.edits],
        }],
    }


def _result(finding: Finding, index: dict[str, int], root: Path) -> dict[str, Any]:
    artifact = _artifact(finding.path, root)
    out: dict[str, Any] = {"ruleId": finding.code}
    if finding.code in index:
        out["ruleIndex"] = index[finding.code]
    out["level"] = LEVELS[finding.severity]
    out["message"] = {"text": f"{finding.message}\n{finding.why}" if finding.why
                      else finding.message}
    out["locations"] = [{"physicalLocation": {"artifactLocation": artifact,
                                              "region": _region(finding.span)}}]
    if finding.fix is not None and finding.fix.edits:
        out["fixes"] = [_fix(finding.fix, artifact)]
    if finding.runtime is not None:
        out["properties"] = {"runtime": {"status": finding.runtime.status,
                                         "summary": finding.runtime.summary}}
    return out


def to_sarif(findings: list[Finding], root: str | None = None) -> dict[str, Any]:
    """The SARIF log as a dict (``root``: what relative URIs are relative to; default cwd)."""
    base = Path(os.path.abspath(root or os.getcwd()))
    rules = list(ALL_RULES.values())
    index = {rule.code: i for i, rule in enumerate(rules)}
    run = {
        "tool": {"driver": {"name": "initlint", "version": __version__,
                            "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": [_rule(rule) for rule in rules]}},
        "originalUriBaseIds": {SRCROOT: {"uri": base.as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index, base) for f in findings],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(findings: list[Finding], sources: dict[str, str]) -> str:
    # strings from the repository may hold lone surrogates (undecodable names): valid UTF-8
    return escape.json_text(escape.scrub(json.dumps(to_sarif(findings), indent=2,
                                                    ensure_ascii=False))) + "\n"
