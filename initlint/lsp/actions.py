"""Code actions: each finding's fix as a quick fix, "disable for this line", and fix-all.

Built from a lint result of the exact document version the client asked about, so every
span still points at the text it was computed from.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from initlint.core.findings import Edit, Finding, Span
from initlint.engine.fix import applicable, apply_fixes, parse_error, with_edits
from initlint.lsp.diagnostics import to_diagnostic
from initlint.lsp.noqa import noqa_insertion
from initlint.lsp.notebooks import NotebookText
from initlint.lsp.positions import TextIndex, overlaps

FIX_ALL_KIND = "source.fixAll.initlint"
FIX_ALL_TITLE = "initlint: Fix all auto-fixable problems"
KINDS = (types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL_KIND)


@dataclass(frozen=True)
class Document:
    """The text and identity a set of actions is computed for."""

    uri: str
    version: int | None
    text: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class EditStyle:
    """How this client takes edits: versioned ``documentChanges`` or a plain ``changes`` map."""

    codec: PositionCodec
    document_changes: bool = False


def wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP kinds are hierarchical: ``only=["source.fixAll"]`` asks for ``source.fixAll.*``."""
    if not only:
        return True
    return any(kind == o or kind.startswith(f"{o}.") for o in only)


def workspace_edit(doc: Document, edits: list[types.TextEdit],
                   style: EditStyle) -> types.WorkspaceEdit:
    if style.document_changes:
        ident = types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=ident, edits=edits)])
    return types.WorkspaceEdit(changes={doc.uri: edits})


def text_edits(index: TextIndex, edits: Sequence[Edit], codec: PositionCodec,
               ) -> list[types.TextEdit]:
    """Finding edits as TextEdits; inserted newlines follow the line's own ending."""
    out = []
    for edit in edits:
        newline = index.lines.newline(edit.span.row)
        content = edit.content.replace("\n", newline) if newline != "\n" else edit.content
        out.append(types.TextEdit(range=index.range(edit.span, codec), new_text=content))
    return out


class FileTarget:
    """Edits of the document itself."""

    def __init__(self, doc: Document, style: EditStyle) -> None:
        self.doc, self.style = doc, style
        self.index = TextIndex(doc.text)

    def diagnostic(self, finding: Finding) -> types.Diagnostic:
        return to_diagnostic(finding, self.index, self.style.codec)

    def edit(self, edits: Sequence[Edit] | None, after: str) -> types.WorkspaceEdit | None:
        """The finding's own edits when given, else the change from the text to ``after``."""
        if edits is None:
            found = whole_edit(self.doc.text, after, self.style.codec)
        else:
            found = text_edits(self.index, edits, self.style.codec)
        return workspace_edit(self.doc, found, self.style) if found else None


class CellsTarget:
    """Edits of a notebook's cells: the document is the program of its code cells."""

    def __init__(self, notebook: NotebookText, style: EditStyle) -> None:
        self.notebook, self.style = notebook, style
        self._indexes: dict[str, TextIndex] = {}

    def _index(self, uri: str, text: str) -> TextIndex:
        if uri not in self._indexes:
            self._indexes[uri] = TextIndex(text)
        return self._indexes[uri]

    def diagnostic(self, finding: Finding) -> types.Diagnostic:
        moved = self.notebook.in_cell(finding)
        cell = self.notebook.cells[(moved.cell or 1) - 1]
        return to_diagnostic(moved, self._index(cell.uri, cell.text), self.style.codec)

    def edit(self, edits: Sequence[Edit] | None, after: str) -> types.WorkspaceEdit | None:
        """The cells that ``after`` changes, each as one edit of its changed middle (a fix
        that no longer fits the cells gives none)."""
        changed = self.notebook.changed_cells(after)
        if not changed:
            return None
        cells = {cell.uri: cell for cell in self.notebook.cells}
        per_cell = [(cells[uri], whole_edit(cells[uri].text, text, self.style.codec))
                    for uri, text in changed.items()]
        if self.style.document_changes:
            return types.WorkspaceEdit(document_changes=[
                types.TextDocumentEdit(text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=cell.uri, version=cell.version), edits=list(found))
                for cell, found in per_cell])
        return types.WorkspaceEdit(changes={cell.uri: found for cell, found in per_cell})


Target = FileTarget | CellsTarget


def title(code: str, what: str) -> str:
    """An action's title, spelled as ruff's server spells its own: ``Ruff (F401): …``."""
    return f"initlint ({code}): {what}"


def _fix_action(doc: Document, finding: Finding, target: Target,
                parsed_before: bool) -> types.CodeAction | None:
    fix = finding.fix
    if not applicable(fix, unsafe=True):
        return None
    result = apply_fixes(doc.text, [finding])
    if result.invalid or (parsed_before and parse_error(result.text, libcst_too=False)):
        return None  # an edit that does not fit, or one that would break the file
    edit = target.edit(fix.edits, result.text)
    if edit is None:
        return None
    unsafe = fix.applicability != "safe"  # offered, never part of source.fixAll
    return types.CodeAction(
        title=title(finding.code, f"{fix.message}{' (unsafe fix)' if unsafe else ''}"),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[target.diagnostic(finding)],
        is_preferred=not unsafe,
        edit=edit,
    )


def _noqa_action(doc: Document, index: TextIndex, finding: Finding, target: Target,
                 parsed_before: bool) -> types.CodeAction | None:
    row = finding.span.row
    insertion = noqa_insertion(index.line(row), finding.code)
    if insertion is None:
        return None
    start = index.lines.offset(row, insertion.start)
    end = index.lines.offset(row, insertion.end)
    if start is None or end is None:
        return None
    after = doc.text[:start] + insertion.content + doc.text[end:]
    if parsed_before and parse_error(after, libcst_too=False):
        return None  # a comment after a line continuation would break the file
    span = Span(row, insertion.start, row, insertion.end)
    edit = target.edit([Edit(span, insertion.content)], after)
    if edit is None:
        return None
    return types.CodeAction(
        title=title(finding.code, "Disable for this line"),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[target.diagnostic(finding)],
        edit=edit,
    )


@dataclass(frozen=True)
class Offer:
    """Which quick fixes the editor's settings ask for."""

    fixes: bool = True  # codeAction.fixViolation.enable
    noqa: bool = True  # codeAction.disableRuleComment.enable


def line_actions(doc: Document, span: Span, only: Sequence[str] | None, target: Target,
                 offer: Offer = Offer()) -> list[types.CodeAction]:
    """Quick fixes and noqa actions for the findings that touch ``span`` (of ``doc``: for a
    notebook, its program)."""
    if not wanted(types.CodeActionKind.QuickFix, only):
        return []
    index = TextIndex(doc.text)
    hits = [f for f in doc.findings if overlaps(f.span, span)]
    if not hits:
        return []
    if offer.fixes:
        hits = with_edits(doc.text, hits)  # libcst builds the fixes of these findings only
    parsed_before = not any(f.code == "INI000" for f in doc.findings)
    fixes, noqas = [], []
    seen_noqa: set[tuple[int, str]] = set()
    for finding in hits:
        action = _fix_action(doc, finding, target, parsed_before) if offer.fixes else None
        if action is not None:
            fixes.append(action)
        if not offer.noqa or (finding.span.row, finding.code) in seen_noqa:
            continue
        seen_noqa.add((finding.span.row, finding.code))
        action = _noqa_action(doc, index, finding, target, parsed_before)
        if action is not None:
            noqas.append(action)
    return fixes + noqas


def has_safe_fix(findings: Sequence[Finding]) -> bool:
    return any(applicable(f.fix) for f in findings)


def fix_all_action(doc: Document, data: dict | None = None) -> types.CodeAction:
    """The fix-all action, its edit left for ``codeAction/resolve`` when ``data`` is given."""
    return types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND, data=data)


def whole_edit(before: str, after: str, codec: PositionCodec) -> list[types.TextEdit]:
    """One TextEdit turning ``before`` into ``after``: only the changed middle, so the
    editor keeps cursors, folds and marks outside it."""
    if before == after:
        return []
    limit = min(len(before), len(after))
    head = 0
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    if 0 < head < len(before) and before[head - 1] == "\r" and before[head] == "\n":
        head -= 1  # never split a CRLF: positions inside a line ending are undefined
    end = len(before) - tail
    if 0 < end < len(before) and before[end - 1] == "\r" and before[end] == "\n":
        end += 1
        tail -= 1
    index = TextIndex(before)
    rng = types.Range(start=_position_at(index, head, codec), end=_position_at(index, end, codec))
    return [types.TextEdit(range=rng, new_text=after[head: len(after) - tail])]


def _position_at(index: TextIndex, offset: int, codec: PositionCodec) -> types.Position:
    row = bisect.bisect_right(index.lines.starts, offset)
    return index.position(row, offset - index.lines.starts[row - 1] + 1, codec)
