"""``--output-format github``: workflow commands that GitHub Actions shows as annotations.

``::error title=…,file=…,line=…,col=…,endLine=…,endColumn=…::message``, escaped the way the
runner unescapes them (``%``, CR, LF everywhere; ``:`` and ``,`` also in property values),
so a message cannot end the command early or inject another one; every piece is first
neutralized by :mod:`initlint.report.escape` (control characters, ``##[``, odd file names).
"""

from __future__ import annotations

import os

from initlint.core.findings import Finding, Severity
from initlint.report import escape

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _path(path: str) -> str:
    """Relative to the working directory (the checkout) when inside it, with ``/``."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    try:
        if os.path.commonpath([absolute, cwd]) == cwd:
            path = os.path.relpath(absolute, cwd)
    except ValueError:  # another drive on Windows
        pass
    return path.replace(os.sep, "/")


def format_finding(finding: Finding) -> str:
    span = finding.span
    props = [("title", f"initlint ({finding.code})"), ("file", escape.path(_path(finding.path))),
             ("line", str(span.row)), ("col", str(span.column)),
             ("endLine", str(span.end_row)), ("endColumn", str(span.end_column))]
    head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    body = f"{finding.code} {escape.text(finding.message, newlines=True)}"
    if finding.why:
        body += f"\n{escape.text(finding.why, newlines=True)}"
    return f"::{COMMANDS[finding.severity]} {head}::{escape_data(body)}"


def render(findings: list[Finding], sources: dict[str, str]) -> str:
    return "".join(format_finding(f) + "\n" for f in findings)
