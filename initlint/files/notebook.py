"""Jupyter notebooks (``.ipynb``): the code cells as one program, and back.

The rules read Python, so a notebook is linted as the program its code cells make when run
in order (as ruff does). Each cell's lines keep their own rows in that program, with one
marker comment line between cells; IPython syntax (``%magic``, ``!shell``, ``?help``,
``x = !ls``, ``%%cell`` magics) is replaced in place by ``pass`` so no row moves and no
indented block is left empty. Findings are then moved from program rows to (cell, row), and a
fixed program is split back into cells at the marker lines, the neutralized lines restored
from their originals, and only the cells that changed are written into the notebook's JSON.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import dataclass, replace
from typing import Any

from initlint.core.findings import Edit, Finding, Fix, Span
from initlint.core.text import NEWLINE
from initlint.files.safe_fs import read_bytes
from initlint.files.source import Source

SUFFIX = ".ipynb"
#: The line between two cells in the program: a comment, so it changes nothing Python sees.
_BOUNDARY = "# initlint-notebook-cell-boundary"
#: A neutralized line: ``pass`` at the line's indentation, tagged with its index in the table
#: of original lines, so the write-back can restore it wherever fixes moved it.
_NEUTRAL = re.compile(r"^[ \t]*pass  # initlint-notebook-magic (\d+)$")
#: IPython syntax at the start of a logical line: line magics, shell escapes, help.
_MAGIC_START = re.compile(r"^[ \t]*(%|!|\?)")
#: ``x = !ls``, ``files = %sx ls``: an assignment from a magic or a shell command.
_MAGIC_ASSIGN = re.compile(r"^[ \t]*[\w.\[\], ]+=[ \t]*(%|!)")
#: ``%%name`` on a cell's first line: the cell is that magic's input.
_CELL_MAGIC = re.compile(r"^[ \t]*%%(\w+)")
#: Cell magics whose input is Python that runs in the kernel (the rest of the cell is linted).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
#: ``obj?``, ``obj.attr??``: help by trailing question marks.
_HELP_SUFFIX = re.compile(r"^[ \t]*[\w.]+\?{1,2}[ \t]*$")


class NotebookError(ValueError):
    """The file is not a notebook initlint can read (not JSON, no cells)."""


def is_notebook(path: str) -> bool:
    return path.lower().endswith(SUFFIX)


@dataclass(frozen=True)
class Cell:
    """One code cell in the program: its 1-based number among all cells of the notebook
    (what editors show as "cell 3"), its first program row and how many rows it has."""

    number: int
    start: int
    rows: int


@dataclass(frozen=True)
class Notebook:
    """A parsed notebook: its JSON (cells in order), the program and where each cell is."""

    data: dict[str, Any]
    program: str
    cells: tuple[Cell, ...]
    originals: tuple[str, ...]  # neutralized lines, by their tag
    indent: int | None
    trailing_newline: bool
    ascii_only: bool  # written with \uXXXX escapes for every non-ASCII character

    def cell_at(self, row: int) -> Cell | None:
        for cell in self.cells:
            if cell.start <= row < cell.start + cell.rows:
                return cell
        return None

    def cell_source(self, number: int) -> str:
        return _source_text(self.data["cells"][number - 1])


def _lines(text: str) -> list[str]:
    """Lines with their endings, split only where Python's tokenizer splits (not at form
    feeds or U+2028 inside a string, as ``str.splitlines`` would: rows would shift)."""
    parts = NEWLINE.split(text)
    endings = NEWLINE.findall(text)
    out = [part + ending for part, ending in zip(parts, endings, strict=False)]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _source_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _is_python(data: dict[str, Any]) -> bool:
    """A notebook of another kernel (R, Julia) has no Python to lint."""
    metadata = data.get("metadata") or {}
    language = ((metadata.get("language_info") or {}).get("name")
                or (metadata.get("kernelspec") or {}).get("language") or "python")
    return str(language).lower() == "python"


def _continuation_rows(lines: list[str]) -> set[int]:
    """0-based rows that do not start a logical line (inside a multi-line string, inside
    brackets, after a backslash), where a leading ``%`` or ``!`` is Python, not IPython."""
    rows: set[int] = set()
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                rows.update(range(token.start[0], token.end[0]))  # the rows after the first
            elif token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth = max(0, depth - 1)
            elif token.type == tokenize.NL and depth > 0:
                rows.add(token.end[0])  # the next row continues the bracket
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    rows.update(i + 1 for i, line in enumerate(lines) if line.rstrip("\r\n").endswith("\\"))
    return rows


def _neutralize(lines: list[str], originals: list[str]) -> list[str]:
    """Replace IPython lines of one cell by tagged ``pass`` lines (same count, same indent)."""
    magic = _CELL_MAGIC.match(lines[0]) if lines else None
    if magic and magic.group(1) not in PYTHON_CELL_MAGICS:  # the cell is not Python
        candidates = set(range(len(lines)))
    else:
        candidates = {i for i, line in enumerate(lines)
                      if _MAGIC_START.match(line) or _MAGIC_ASSIGN.match(line)
                      or _HELP_SUFFIX.match(line)}  # (a `%%time` line is one of them)
        # a magic line continued with a backslash takes its continuation lines with it
        for i in sorted(candidates):
            j = i
            while (j in candidates and lines[j].rstrip("\r\n").endswith("\\")
                    and j + 1 < len(lines)):
                candidates.add(j + 1)
                j += 1
    if not candidates:
        return lines
    probe = [("pass\n" if i in candidates else line) for i, line in enumerate(lines)]
    candidates -= _continuation_rows(probe)
    out = list(lines)
    indent = ""
    for i in sorted(candidates):
        body = lines[i].rstrip("\r\n")
        if not (i - 1 in candidates and lines[i - 1].rstrip("\r\n").endswith("\\")):
            indent = body[: len(body) - len(body.lstrip(" \t"))]  # a continuation keeps
        originals.append(body)                                    # its first line's
        out[i] = f"{indent}pass  # initlint-notebook-magic {len(originals) - 1}\n"
    return out


def _indent_of(text: str) -> int | None:
    """The JSON indentation the file was written with (nbformat: 1; None: one line)."""
    if "\n" not in text.strip():
        return None
    match = re.search(r"\n( *)\"", text)
    return len(match.group(1)) if match else 1


def parse_notebook(text: str) -> Notebook:
    """The program of a notebook's code cells; NotebookError when it is not a notebook."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise NotebookError(f"not a valid notebook (JSON): {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a valid notebook: no `cells` list")
    originals: list[str] = []
    program: list[str] = []
    cells: list[Cell] = []
    python = _is_python(data)
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or not python:
            continue
        source = _source_text(cell)
        lines = _lines(source)
        lines = [line if line.endswith(("\n", "\r")) else line + "\n" for line in lines]
        if cells:
            program.append(_BOUNDARY + "\n")
        cells.append(Cell(number, len(program) + 1, len(lines)))
        program += _neutralize(lines, originals)
    return Notebook(data, "".join(program), tuple(cells), tuple(originals),
                    _indent_of(text), text.endswith("\n"),
                    text.isascii() and "\\u" in text)


# --- findings: program rows → (cell, row) ------------------------------------------------------

def _span_in(span: Span, cell: Cell) -> Span:
    shift = cell.start - 1
    return Span(span.row - shift, span.column, span.end_row - shift, span.end_column)


def to_cells(finding: Finding, notebook: Notebook) -> Finding:
    """The finding with rows counted from its cell's first line and ``cell`` set."""
    cell = notebook.cell_at(finding.span.row)
    if cell is None:
        return finding
    fix = finding.fix
    if fix is not None:
        fix = Fix(fix.applicability, fix.message,
                  tuple(Edit(_span_in(e.span, cell), e.content) for e in fix.edits))
    return replace(finding, span=_span_in(finding.span, cell), fix=fix, cell=cell.number,
                   message=_rows_in_text(finding.message, notebook, cell),
                   why=_rows_in_text(finding.why, notebook, cell))


_LINE_REF = re.compile(r"\b(lines?) (\d+)\b")


def _rows_in_text(text: str, notebook: Notebook, here: Cell) -> str:
    """Messages name other rows ("built with bias=False (line 8)"): program rows become
    the cell's row, or "cell N, line R" for another cell."""

    def moved(match: re.Match[str]) -> str:
        row = int(match.group(2))
        cell = notebook.cell_at(row)
        if cell is None:
            return match.group(0)
        local = row - cell.start + 1
        if cell == here:
            return f"{match.group(1)} {local}"
        return f"cell {cell.number}, {match.group(1)} {local}"

    return _LINE_REF.sub(moved, text)


# --- writing back ------------------------------------------------------------------------------



def cells_of(notebook: Notebook, program: str) -> list[str] | None:
    """The code cells' sources for ``program`` (a fixed version of ``notebook.program``);
    None when its cell boundaries no longer line up."""
    chunks: list[list[str]] = [[]]
    for line in _lines(program):
        if line.rstrip("\r\n") == _BOUNDARY:
            chunks.append([])
            continue
        match = _NEUTRAL.match(line.rstrip("\r\n"))
        if match is not None:
            index = int(match.group(1))
            if index >= len(notebook.originals):
                return None
            line = notebook.originals[index] + "\n"
        chunks[-1].append(line)
    if len(chunks) != max(1, len(notebook.cells)) or not notebook.cells:
        return None
    return ["".join(chunk) for chunk in chunks]


def _as_stored(original: Any, text: str, had_newline: bool) -> Any:
    """New source in the same shape as the old: one string, or a list of lines (nbformat's
    way); the cell's last line keeps or lacks its newline as before."""
    if not had_newline and text.endswith("\n"):
        text = text[:-1]
    if isinstance(original, list):
        return text.splitlines(keepends=True)
    return text


def render(notebook: Notebook, program: str) -> str | None:
    """The notebook's JSON text with the cells of ``program``; only changed cells differ.
    Indentation, key order, non-ASCII (as is or escaped) and the final newline as found
    (nbformat writes indent 1, UTF-8 as is, a final newline)."""
    sources = cells_of(notebook, program)
    if sources is None:
        return None
    data = json.loads(json.dumps(notebook.data))  # a copy; the Notebook stays as it was
    for cell, text in zip(notebook.cells, sources, strict=True):
        stored = data["cells"][cell.number - 1]
        before = _source_text(stored)
        had_newline = before.endswith("\n")
        if text == (before if had_newline else before + "\n") or (not before and not text):
            continue
        stored["source"] = _as_stored(stored.get("source", ""), text, had_newline)
    out = json.dumps(data, indent=notebook.indent, ensure_ascii=notebook.ascii_only)
    return out + "\n" if notebook.trailing_newline else out


# --- reading -----------------------------------------------------------------------------------

def load(path: str) -> Notebook:
    """Read and parse a notebook file (UTF-8, as nbformat writes it; a regular file of at
    most the size any linted file may have, read as discovery reads files)."""
    data = read_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return parse_notebook(data.decode("utf-8"))


def read_notebook(path: str) -> Source:
    """The notebook as a Source whose text is its program; an unreadable one is an error
    (INI000), never a crash."""
    try:
        return Source(path, load(path).program)
    except OSError as exc:
        return Source(path, "", f"cannot read file: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        return Source(path, "", f"cannot decode notebook as UTF-8: {exc.reason}")
    except NotebookError as exc:
        return Source(path, "", str(exc))


def cell_diff(path: str, before: str, after: str, notebook: Notebook | None = None) -> str:
    """``--diff`` of a notebook's programs: one unified diff per changed code cell, headed
    ``a/nb.ipynb:cell 3`` (as ruff shows notebook diffs)."""
    import difflib

    try:
        notebook = notebook or load(path)
    except (OSError, ValueError):
        return ""
    old, new = cells_of(notebook, before), cells_of(notebook, after)
    if old is None or new is None:
        return ""
    shown = path.replace("\\", "/")
    out: list[str] = []
    for cell, a, b in zip(notebook.cells, old, new, strict=True):
        if a != b:
            name = f"{shown}:cell {cell.number}"
            out += difflib.unified_diff(a.splitlines(keepends=True),
                                        b.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)
