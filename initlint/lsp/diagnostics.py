"""Findings → LSP diagnostics: range in the client's units, code, severity, rule link; the
one-line message only (the why is in :func:`hover_markdown`, shown on hover)."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from initlint.checks import ALL_RULES
from initlint.core.findings import Finding, Severity
from initlint.lsp.positions import TextIndex

SOURCE = "initlint"

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def message(finding: Finding) -> str:
    """The one-line message: editors show it inline and in lists, where the why (a
    paragraph with numbers) would drown the code; hover gives the rest."""
    return " ".join(finding.message.split())


def hover_markdown(findings: list[Finding]) -> str:
    """What a hover over findings shows: each one's message, why, fix and rule link."""
    parts = []
    for finding in findings:
        rule = ALL_RULES.get(finding.code)
        title = f"**{finding.code}** {rule.name}" if rule else f"**{finding.code}**"
        lines = [f"{title} ({finding.severity.value})", "", message(finding)]
        if finding.why:
            lines += ["", finding.why]
        if finding.fix is not None:
            lines += ["", f"Fix ({finding.fix.applicability}): {finding.fix.message}"]
        if rule:
            lines += ["", f"[{finding.code} documentation]({rule.url})"]
        parts.append("\n".join(lines))
    return "\n\n---\n\n".join(parts)


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
