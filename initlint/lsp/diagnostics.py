"""Findings → LSP diagnostics: range in the client's units, code, severity, rule link, why."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from initlint.checks import ALL_RULES
from initlint.findings import Finding, Severity
from initlint.lsp.positions import TextIndex

SOURCE = "initlint"

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def message(finding: Finding) -> str:
    """The message, then the why: editors show both on hover, Neovim's virtual text the first
    line only."""
    return f"{finding.message}\nWhy: {finding.why}" if finding.why else finding.message


def to_diagnostic(finding: Finding, index: TextIndex, codec: PositionCodec) -> types.Diagnostic:
    rule = ALL_RULES.get(finding.code)
    data: dict[str, object] = {"why": finding.why, "name": rule.name if rule else ""}
    if finding.fix is not None:
        data["fix"] = {"applicability": finding.fix.applicability,
                       "message": finding.fix.message}
    return types.Diagnostic(
        range=index.visible_range(finding.span, codec),
        message=message(finding),
        severity=SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=rule.url) if rule else None,
        source=SOURCE,
        data=data,
    )


def to_diagnostics(findings: tuple[Finding, ...] | list[Finding], text: str,
                   codec: PositionCodec) -> list[types.Diagnostic]:
    index = TextIndex(text)
    return [to_diagnostic(f, index, codec) for f in findings]
