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


def _fix_action(doc: Document, index: TextIndex, finding: Finding,
                diagnostic: types.Diagnostic, style: EditStyle,
                parsed_before: bool) -> types.CodeAction | None:
    fix = finding.fix
    if not applicable(fix, unsafe=True):
        return None
    result = apply_fixes(doc.text, [finding])
    if result.invalid or (parsed_before and parse_error(result.text, libcst_too=False)):
        return None  # an edit that does not fit, or one that would break the file
    unsafe = fix.applicability != "safe"  # offered, never part of source.fixAll
    title = f"{fix.message} ({finding.code}{', unsafe fix' if unsafe else ''})"
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        is_preferred=not unsafe,
        edit=workspace_edit(doc, text_edits(index, fix.edits, style.codec), style),
    )


def _noqa_action(doc: Document, index: TextIndex, finding: Finding,
                 diagnostic: types.Diagnostic, style: EditStyle,
                 parsed_before: bool) -> types.CodeAction | None:
    row = finding.span.row
    insertion = noqa_insertion(index.line(row), finding.code)
    if insertion is None:
        return None
    span = Span(row, insertion.start, row, insertion.end)
    if parsed_before:  # a comment after a line continuation would break the file
        start = index.lines.offset(row, insertion.start)
        end = index.lines.offset(row, insertion.end)
        if start is None or end is None:
            return None
        if parse_error(doc.text[:start] + insertion.content + doc.text[end:],
                       libcst_too=False):
            return None
    edit = types.TextEdit(range=index.range(span, style.codec), new_text=insertion.content)
    return types.CodeAction(
        title=f"Disable {finding.code} for this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=workspace_edit(doc, [edit], style),
    )


def line_actions(doc: Document, span: Span, only: Sequence[str] | None,
                 style: EditStyle) -> list[types.CodeAction]:
    """Quick fixes and noqa actions for the findings that touch ``span``."""
    if not wanted(types.CodeActionKind.QuickFix, only):
        return []
    index = TextIndex(doc.text)
    hits = [f for f in doc.findings if overlaps(f.span, span)]
    if not hits:
        return []
    hits = with_edits(doc.text, hits)  # libcst builds the fixes of these findings only
    parsed_before = not any(f.code == "INI000" for f in doc.findings)
    fixes, noqas = [], []
    seen_noqa: set[tuple[int, str]] = set()
    for finding in hits:
        diagnostic = to_diagnostic(finding, index, style.codec)
        action = _fix_action(doc, index, finding, diagnostic, style, parsed_before)
        if action is not None:
            fixes.append(action)
        if (finding.span.row, finding.code) in seen_noqa:
            continue
        seen_noqa.add((finding.span.row, finding.code))
        action = _noqa_action(doc, index, finding, diagnostic, style, parsed_before)
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
