"""Notebooks in the editor (issue 22, item 6): a real pytest-lsp client sends a notebook as
VS Code does (``notebookDocument/didOpen`` with ``vscode-notebook-cell:`` cells), and the
server publishes each code cell's findings at cell-relative positions, the same findings
``initlint nb.ipynb`` gives, offers each cell's quick fixes as edits of that cell, and
clears cells that change, leave or close."""
# ruff: noqa: F811  (``client``, the fixture imported from test_lsp, is each test's argument)

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from test_lsp import (  # noqa: F401  (``client`` is the pytest-lsp fixture)
    apply_edits,
    client,
    code_actions,
    edits_of,
    text_at,
)

PROSE = "# Probe head\nA linear probe on frozen features (`%` and `!` are prose here).\n"
IMPORTS = "%matplotlib inline\nimport torch.nn as nn\n"
HEAD = """\
class ProbeHead(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, classes, bias=False)
        nn.init.trunc_normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        return self.proj(self.norm(x))
"""
USE = "head = ProbeHead(768, 10)\nnn.init.xavier_uniform(head.proj.weight)"
CELLS = (("markdown", PROSE), ("code", IMPORTS), ("code", HEAD), ("code", USE))


def capabilities() -> types.ClientCapabilities:
    """VS Code's capabilities, with the notebook sync a current VS Code announces."""
    caps = client_capabilities("visual-studio-code")
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(
            execution_summary_support=True))
    return caps


def cell_uri(path: Path, index: int) -> str:
    """A cell's URI as VS Code writes it (its fragment percent-encoded)."""
    return f"vscode-notebook-cell:{path.as_posix()}#W{index}sZmlsZQ%3D%3D"


def write_notebook(path: Path, cells: tuple[tuple[str, str], ...]) -> Path:
    out = []
    for i, (kind, source) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    path.write_text(json.dumps({"cells": out, "metadata": {"language_info": {
        "name": "python"}}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n")
    return path


async def open_notebook(client: LanguageClient, path: Path,
                        cells: tuple[tuple[str, str], ...] = CELLS,
                        caps: types.ClientCapabilities | None = None) -> types.InitializeResult:
    result = await client.initialize_session(types.InitializeParams(
        capabilities=caps or capabilities(), root_uri=path.parent.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=path.parent.as_uri(), name="nb")],
        initialization_options={"debounceMs": 20}))
    kinds = {"markdown": types.NotebookCellKind.Markup, "code": types.NotebookCellKind.Code}
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=path.as_uri(), notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=kinds[kind], document=cell_uri(path, i))
                   for i, (kind, _) in enumerate(cells)]),
        cell_text_documents=[types.TextDocumentItem(
            uri=cell_uri(path, i), language_id="python" if kind == "code" else "markdown",
            version=1, text=text) for i, (kind, text) in enumerate(cells)]))
    return result


def forget(client: LanguageClient, uris: set[str]) -> None:
    """Drop what was published for ``uris``, so :func:`published` waits for new ones."""
    for uri in uris:
        client.diagnostics.pop(uri, None)


async def published(client: LanguageClient, uris: set[str]) -> dict[str, list]:
    """Wait until each of ``uris`` has diagnostics published (since :func:`forget`); the
    diagnostics of each. (Cells are published back to back: the client keeps each URI's
    last, where one waiter per notification would miss some.)"""
    for _ in range(1500):
        if uris <= set(client.diagnostics):
            return {uri: list(client.diagnostics[uri]) for uri in uris}
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no diagnostics for {sorted(uris - set(client.diagnostics))}")


def cli_findings(path: Path) -> dict[int, list[tuple]]:
    """What ``initlint --output-format json nb.ipynb`` reports: per cell number, (code,
    range) with 0-based rows and columns, as an editor counts them."""
    run = subprocess.run([sys.executable, "-m", "initlint", "--output-format", "json",
                          str(path)], capture_output=True, text=True, check=False)
    out: dict[int, list[tuple]] = {}
    for f in json.loads(run.stdout):
        out.setdefault(f["cell"], []).append(
            (f["code"], f["location"]["row"] - 1, f["location"]["column"] - 1,
             f["end_location"]["row"] - 1, f["end_location"]["column"] - 1))
    return out


def shown(diagnostics: list[types.Diagnostic]) -> list[tuple]:
    return sorted((str(d.code), d.range.start.line, d.range.start.character,
                   d.range.end.line, d.range.end.character) for d in diagnostics)


def code_cells(path: Path) -> set[str]:
    return {cell_uri(path, i) for i, (kind, _) in enumerate(CELLS) if kind == "code"}


async def test_each_cell_gets_the_findings_the_cli_gives_it(client, tmp_path):
    path = write_notebook(tmp_path / "probe.ipynb", CELLS)
    result = await open_notebook(client, path)
    sync = result.capabilities.notebook_document_sync
    assert [c.language for c in sync.notebook_selector[0].cells] == ["python"]
    by_cell = await published(client, code_cells(path))
    expected = cli_findings(path)
    assert {n for n in expected} == {3, 4}  # the head's unguarded bias, the deprecated alias
    for number, (kind, _) in enumerate(CELLS, start=1):
        uri = cell_uri(path, number - 1)
        if kind != "code":
            assert uri not in client.diagnostics  # prose gets nothing, not even []
            continue
        assert shown(by_cell[uri]) == sorted(expected.get(number, []))
    (alias,) = by_cell[cell_uri(path, 3)]
    assert text_at(USE, alias.range, "utf-16") == "xavier_uniform"
    assert path.as_uri() not in client.diagnostics  # the notebook itself is no document


async def test_an_edit_to_a_cell_relints_the_notebook(client, tmp_path):
    path = tmp_path / "probe.ipynb"
    await open_notebook(client, path)
    await published(client, code_cells(path))
    head = cell_uri(path, 2)
    guarded = HEAD.replace("        nn.init.zeros_(self.proj.bias)\n",
                           "        if self.proj.bias is not None:\n"
                           "            nn.init.zeros_(self.proj.bias)\n")
    forget(client, code_cells(path))
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=2,
                                                                     uri=path.as_uri()),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            text_content=[types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=head, version=2),
                changes=[types.TextDocumentContentChangeWholeDocument(text=guarded)])]))))
    after = await published(client, code_cells(path))
    assert after[head] == []
    assert [str(d.code) for d in after[cell_uri(path, 3)]] == ["INI001"]


async def test_quick_fixes_edit_their_own_cell(client, tmp_path):
    path = tmp_path / "probe.ipynb"
    await open_notebook(client, path)
    by_cell = await published(client, code_cells(path))
    use = cell_uri(path, 3)
    (alias,) = by_cell[use]
    found = await code_actions(client, use, alias.range)
    fix = next(a for a in found if a.title.startswith("initlint (INI001): Use `xavier_"))
    assert [d.range for d in fix.diagnostics] == [alias.range]
    (change,) = fix.edit.document_changes  # this cell only, at the version it was linted
    assert change.text_document.uri == use and change.text_document.version == 1
    fixed = apply_edits(USE, edits_of(fix.edit, use))
    assert fixed == USE.replace("xavier_uniform(", "xavier_uniform_(")
    noqa = next(a for a in found if a.title == "initlint (INI001): Disable for this line")
    assert apply_edits(USE, edits_of(noqa.edit, use)).endswith(
        "nn.init.xavier_uniform(head.proj.weight)  # noqa: INI001")
    head = cell_uri(path, 2)
    (unguarded,) = by_cell[head]
    guard = next(a for a in await code_actions(client, head, unguarded.range)
                 if a.title.startswith("initlint (INI005): "))
    assert [c.text_document.uri for c in guard.edit.document_changes] == [head]
    assert "if self.proj.bias is not None:" in apply_edits(HEAD, edits_of(guard.edit, head))


async def test_fix_all_fixes_every_cell_and_the_cli_agrees(client, tmp_path):
    path = tmp_path / "probe.ipynb"
    await open_notebook(client, path)
    await published(client, code_cells(path))
    use = cell_uri(path, 3)
    (fix_all,) = await code_actions(client, use, types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
        only=["source.fixAll"])
    if fix_all.edit is None:
        fix_all = await client.code_action_resolve_async(fix_all)
    cells = dict(enumerate(CELLS))
    changed = {change.text_document.uri for change in fix_all.edit.document_changes}
    assert changed == {cell_uri(path, 2), use}  # the cells with safe fixes, and only them
    fixed = tuple((kind, apply_edits(text, edits_of(fix_all.edit, cell_uri(path, i))))
                  for i, (kind, text) in cells.items())
    assert fixed[1] == CELLS[1]  # the magic line is still there, untouched
    assert cli_findings(write_notebook(tmp_path / "fixed.ipynb", fixed)) == {}


async def test_closing_or_deleting_cells_clears_them(client, tmp_path):
    path = tmp_path / "probe.ipynb"
    await open_notebook(client, path)
    await published(client, code_cells(path))
    use = cell_uri(path, 3)
    forget(client, {use, cell_uri(path, 2)})
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(version=2,
                                                                     uri=path.as_uri()),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
            structure=types.NotebookDocumentCellChangeStructure(
                array=types.NotebookCellArrayChange(start=3, delete_count=1),
                did_close=[types.TextDocumentIdentifier(uri=use)])))))
    after = await published(client, {use, cell_uri(path, 2)})
    assert after[use] == [] and [str(d.code) for d in after[cell_uri(path, 2)]] == ["INI005"]
    forget(client, {cell_uri(path, 1), cell_uri(path, 2)})
    client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(uri=path.as_uri()),
        cell_text_documents=[types.TextDocumentIdentifier(uri=cell_uri(path, i))
                             for i in range(3)]))
    closed = await published(client, {cell_uri(path, 1), cell_uri(path, 2)})
    assert all(diagnostics == [] for diagnostics in closed.values())


async def test_a_client_that_pulls_gets_each_cells_diagnostics(client, tmp_path):
    path = write_notebook(tmp_path / "probe.ipynb", CELLS)
    caps = capabilities()
    caps.text_document.diagnostic = types.DiagnosticClientCapabilities()  # VS Code 1.72+
    await open_notebook(client, path, caps=caps)
    expected = cli_findings(path)
    for number in (2, 3, 4):
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uri(path, number - 1))))
        assert shown(list(report.items)) == sorted(expected.get(number, []))
    assert client.diagnostics == {}  # nothing pushed: no duplicates
