"""What a rule sees of one file: its facts, the linked project, its text and the settings."""

from __future__ import annotations

from dataclasses import dataclass

from initlint.core.config import Config
from initlint.core.findings import Span
from initlint.core.text import split_lines
from initlint.extract.facts import FileFacts
from initlint.semantic.project import ProjectFacts


@dataclass(frozen=True)
class FileContext:
    """What a rule sees: one file's facts, the linked project, its text and the settings."""

    facts: FileFacts
    project: ProjectFacts
    text: str
    config: Config

    def source(self, span: Span) -> str:
        """The text inside a single-line span."""
        lines = split_lines(self.text)
        if span.row != span.end_row or not 0 < span.row <= len(lines):
            return ""
        return lines[span.row - 1][span.column - 1: span.end_column - 1]
