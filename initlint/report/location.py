"""Where a finding is, as people read it: ``path:row:col``, or ``path:cell N:row:col`` in a
notebook, and the key of the text its excerpt comes from (a notebook cell's own source)."""

from __future__ import annotations

from initlint.core.findings import Finding


def where(finding: Finding) -> str:
    """``path:row:col`` (``path:cell 3:4:5`` for a notebook cell), as typed by ruff; raw:
    callers escape it for the terminal (``escape.path``)."""
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    return f"{finding.path}:{cell}{finding.span.row}:{finding.span.column}"


def source_key(path: str, cell: int | None = None) -> str:
    """The key of ``sources`` (what reporters get) holding the text rows count in."""
    return path if cell is None else f"{path}\0cell {cell}"


def source_of(finding: Finding, sources: dict[str, str]) -> str | None:
    return sources.get(source_key(finding.path, finding.cell))
