"""Drop findings the user silenced: ``# noqa``, ``# initlint: noqa``, per-file-ignores."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from initlint.checks.selection import fix_codes, shown
from initlint.core.config import Config
from initlint.core.findings import Applicability, Finding
from initlint.extract.facts import FileFacts


def _per_file_codes(path: str, config: Config) -> set[str]:
    codes: set[str] = set()
    if not config.per_file_ignores:
        return codes
    resolved = Path(path).resolve()
    rel = str(resolved.relative_to(config.root)) if config.root and resolved.is_relative_to(
        config.root) else path
    for pattern, ignored in config.per_file_ignores:
        if (fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(Path(path).name, pattern)
                or fnmatch.fnmatch(path, pattern)):
            codes.update(ignored)
    return codes


def suppress(findings: Iterable[Finding], facts: FileFacts | None, config: Config,
             enabled: frozenset[str]) -> list[Finding]:
    """Keep the findings that are enabled and not silenced."""
    ignored = _per_file_codes(facts.path, config) if facts else set()
    noqa = dict(facts.noqa) if facts else {}
    kept = []
    for finding in findings:
        if (finding.code not in enabled or any(finding.code.startswith(c) for c in ignored)
                or not shown(finding, config)):
            continue
        if facts is not None and facts.file_noqa:
            continue
        codes = noqa.get(finding.span.row)
        if codes is not None and (not codes or finding.code in codes):
            continue
        kept.append(finding)
    return kept


def settle_fixes(findings: list[Finding], config: Config) -> list[Finding]:
    """The fixes the settings allow, at the safety they give: ``unfixable`` rules (or those
    outside ``fixable``) carry none; ``extend-safe-fixes`` / ``extend-unsafe-fixes`` move a
    rule's fixes across the line ``--fix`` draws."""
    if config.fixable == ("ALL",) and not (config.unfixable or config.extend_safe_fixes
                                           or config.extend_unsafe_fixes):
        return findings
    fixable, safe, unsafe = fix_codes(config)
    out = []
    for finding in findings:
        fix = finding.fix
        if fix is not None and finding.code not in fixable:
            finding = replace(finding, fix=None)
        elif fix is not None and finding.code in safe | unsafe:
            wanted: Applicability = "safe" if finding.code in safe else "unsafe"
            if fix.applicability != wanted:
                finding = replace(finding, fix=replace(fix, applicability=wanted))
        out.append(finding)
    return out
