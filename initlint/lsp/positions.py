"""Spans (1-based rows, 1-based code-point columns) ↔ LSP positions in the client's units.

The client picks the unit (utf-8 for Neovim 0.11, utf-16 for VS Code, utf-32 for Emacs) and
pygls's ``PositionCodec`` counts it. Lines are split the way Python's tokenizer splits them
(``\\r\\n``, ``\\r``, ``\\n``), which is also what the LSP spec says, so a form feed or a
U+2028 inside a string does not shift every row below it.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from initlint.core.findings import Span
from initlint.engine.fix import Lines


class TextIndex:
    """One document's lines, for converting positions in both directions."""

    def __init__(self, text: str):
        self.lines = Lines.of(text)
        self.text = text

    @property
    def row_count(self) -> int:
        return len(self.lines.starts)

    def line(self, row: int) -> str:
        """The text of 1-based ``row`` without its line ending ("" outside the document)."""
        if not 0 < row <= self.row_count:
            return ""
        start = self.lines.starts[row - 1]
        if row < self.row_count:
            return self.text[start: self.lines.starts[row] - len(self.lines.endings[row - 1])]
        return self.text[start:]

    def position(self, row: int, column: int, codec: PositionCodec) -> types.Position:
        """The client position of a 1-based (row, code-point column), clamped to the text."""
        if row > self.row_count:
            row, column = self.row_count, len(self.line(self.row_count)) + 1
        row = max(row, 1)
        line = self.line(row)
        column = min(max(column, 1), len(line) + 1)
        return types.Position(line=row - 1, character=codec.client_num_units(line[: column - 1]))

    def range(self, span: Span, codec: PositionCodec) -> types.Range:
        start = self.position(span.row, span.column, codec)
        end = self.position(span.end_row, span.end_column, codec)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    def visible_range(self, span: Span, codec: PositionCodec) -> types.Range:
        """Like :meth:`range`, but an empty span grows to the character it points at, so
        editors draw something (INI000 points at a single place)."""
        if (span.row, span.column) == (span.end_row, span.end_column):
            line = self.line(span.row)
            if span.column <= len(line):
                span = Span(span.row, span.column, span.row, span.column + 1)
            elif span.column > 1 and line:
                span = Span(span.row, len(line), span.row, len(line) + 1)
        return self.range(span, codec)

    def from_client(self, position: types.Position, codec: PositionCodec) -> tuple[int, int]:
        """A client position as a 1-based (row, code-point column), clamped to the text."""
        row = min(max(position.line + 1, 1), self.row_count)
        line = self.line(row)
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return row, index + 1
            units += codec.impl.code_units_for_char(char)
        return row, len(line) + 1

    def span_from_client(self, rng: types.Range, codec: PositionCodec) -> Span:
        row, column = self.from_client(rng.start, codec)
        end_row, end_column = self.from_client(rng.end, codec)
        return Span(row, column, end_row, end_column)


def overlaps(a: Span, b: Span) -> bool:
    """Do two spans share a position (touching counts: a cursor at a span's edge hits it)?"""
    return ((a.row, a.column) <= (b.end_row, b.end_column) and
        (b.row, b.column) <= (a.end_row, a.end_column))
