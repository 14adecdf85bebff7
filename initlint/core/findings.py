"""Findings: what a rule reports, as frozen, picklable data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal

from initlint.core.frozen import fast_state


class Severity(str, Enum):
    """``error``: raises or silently does nothing; ``warning``: numerically harmful;
    ``info``: convention."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@fast_state
@dataclass(frozen=True, order=True, slots=True)
class Span:
    """A source range: rows 1-based, columns 1-based in code points (ruff's convention)."""

    row: int
    column: int
    end_row: int
    end_column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text in ``span`` with ``content`` (an empty span inserts)."""

    span: Span
    content: str


#: A safe fix keeps what a working model computes; an unsafe one may change it (opt-in).
Applicability = Literal["safe", "unsafe"]


@dataclass(frozen=True)
class Fix:
    """What resolves a finding. A rule gives ``changes`` (:mod:`initlint.fixes.plan`: nodes
    and their replacements); :func:`initlint.engine.fix.with_edits` computes ``edits``, the minimal
    text difference, when a fix is applied or shown. ``safe``: a working program computes
    the same; only a crash or a silent no-op stops."""

    applicability: Applicability
    message: str  # what the fix writes, for --fix output, JSON and the editor's quick fix
    edits: tuple[Edit, ...] = ()
    changes: tuple[Any, ...] = ()  # initlint.fixes.plan.Change


@dataclass(frozen=True)
class RuntimeEvidence:
    """What the runtime mode measured for a finding."""

    status: str  # "confirmed" | "not-confirmed" | "not-run"
    evidence: tuple[tuple[str, Any], ...] = ()
    summary: str = ""


@dataclass(frozen=True)
class Finding:
    """One reported problem at one place."""

    code: str
    severity: Severity
    path: str
    span: Span
    message: str
    why: str
    fix: Fix | None = None
    runtime: RuntimeEvidence | None = None
    subject: str = field(default="", compare=False)  # e.g. "Net.fc1": for runtime matching
    cell: int | None = None  # a notebook's cell (1-based) once rows count from that cell

    def with_runtime(self, runtime: RuntimeEvidence) -> Finding:
        return replace(self, runtime=runtime)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.row, self.span.column, self.code)
