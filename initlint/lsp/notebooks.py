"""Notebook documents (LSP 3.17 notebook sync): the cells as the program the command line
lints, and back.

The editor sends a notebook as cells, each its own text document (``vscode-notebook-cell:``
URIs). Its Python code cells are joined into one program by :mod:`initlint.files.notebook`,
the CLI's own mapping (IPython lines neutralized, one marker line between cells), so the
editor and ``initlint nb.ipynb`` find the same things. Findings go back to their cell with
cell-relative rows; a fixed program goes back as edits of the cells that changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types

from initlint.core.findings import Finding, Span
from initlint.files.notebook import Cell, Notebook, cells_of, parse_notebook, to_cells

#: Cell languages that are Python (an empty one is the notebook's default kernel).
PYTHON = ("python", "")


@dataclass(frozen=True)
class CellText:
    """One cell as the editor holds it."""

    uri: str
    version: int | None
    text: str
    code: bool  # a Python code cell (markup and other languages are not linted)


@dataclass(frozen=True)
class NotebookText:
    """An open notebook: its cells, in order, and the program of its code cells."""

    uri: str
    version: int | None
    cells: tuple[CellText, ...]
    notebook: Notebook

    @property
    def program(self) -> str:
        return self.notebook.program

    def cell(self, uri: str) -> tuple[CellText, Cell] | None:
        """The code cell with ``uri`` and where it sits in the program."""
        for placed in self.notebook.cells:
            text = self.cells[placed.number - 1]
            if text.uri == uri:
                return text, placed
        return None

    def code_cells(self) -> list[CellText]:
        return [self.cells[placed.number - 1] for placed in self.notebook.cells]

    def by_cell(self, findings: tuple[Finding, ...]) -> dict[str, tuple[Finding, ...]]:
        """The findings of each code cell (every code cell named, most with none), their rows
        counted from the cell's first line."""
        out: dict[str, list[Finding]] = {cell.uri: [] for cell in self.code_cells()}
        for finding in findings:
            moved = to_cells(finding, self.notebook)
            if moved.cell is not None:
                out[self.cells[moved.cell - 1].uri].append(moved)
        return {uri: tuple(found) for uri, found in out.items()}

    def in_cell(self, finding: Finding) -> Finding:
        return to_cells(finding, self.notebook)

    def to_program(self, uri: str, span: Span) -> Span | None:
        """A span of cell ``uri`` as a span of the program."""
        found = self.cell(uri)
        if found is None:
            return None
        shift = found[1].start - 1
        return Span(span.row + shift, span.column, span.end_row + shift, span.end_column)

    def changed_cells(self, program: str) -> dict[str, str] | None:
        """The new text of each cell that ``program`` (a fixed program) changes; None when its
        cells no longer line up with the notebook's."""
        sources = cells_of(self.notebook, program)
        if sources is None:
            return None
        out = {}
        for cell, source in zip(self.code_cells(), sources, strict=True):
            if not cell.text.endswith(("\n", "\r")) and source.endswith("\n"):
                source = source[:-1]  # the program gave the last line a newline
            if source != cell.text:
                out[cell.uri] = source
        return out


def notebook_text(notebook: types.NotebookDocument,
                  document: Callable[[str], object | None]) -> NotebookText:
    """The notebook as the editor holds it now (``document``: pygls's cell document by URI)."""
    cells = []
    for cell in notebook.cells:
        doc = document(cell.document)
        text = getattr(doc, "source", "") if doc is not None else ""
        language = (getattr(doc, "language_id", None) or "").lower()
        code = cell.kind == types.NotebookCellKind.Code and language in PYTHON
        cells.append(CellText(cell.document, getattr(doc, "version", None), text, code))
    data = {"cells": [{"cell_type": "code" if c.code else "markdown", "source": c.text}
                      for c in cells], "metadata": {}}
    return NotebookText(notebook.uri, notebook.version, tuple(cells),
                        parse_notebook(json.dumps(data)))
