"""`initlint lsp` end to end: a real pytest-lsp client over stdio, with the capabilities
VS Code, Neovim and Emacs send. Edits are applied here the way an editor applies them, with
this file's own position arithmetic, so the server's is checked, not reused."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from initlint.checks import ALL_RULES
from initlint.checks.docs import rule_doc
from initlint.core.config import Config
from initlint.engine.lint import lint_text

SERVER = [sys.executable, "-m", "initlint", "lsp"]

# --- helpers ---------------------------------------------------------------------------

MODEL = """\
import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.xavier_uniform(self.fc.weight)   # INI001, safe fix adds the underscore
"""

CLEAN = MODEL.replace("xavier_uniform(", "xavier_uniform_(")

#: The client spec pytest-lsp ships, with the position encoding it negotiates.
CLIENTS = {
    "visual-studio-code": "utf-16",
    "neovim@v0.11.0": "utf-8",
    "emacs": "utf-32",
}


async def start(client: LanguageClient, root: Path, spec: str = "visual-studio-code",
                options: dict | None = None) -> types.InitializeResult:
    return await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(spec),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options={"debounceMs": 20, **(options or {})},
    ))


def open_doc(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version,
                                             text=text)))
    return uri


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def pushed(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """Wait for the next diagnostics published for ``uri``."""
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text)


def offset(text: str, position: types.Position, encoding: str) -> int:
    """Character offset of a client position (documents here use "\\n" line endings)."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    for i in range(len(line) + 1):
        if _units(line[:i], encoding) >= position.character:
            return start + i
    return start + len(line)


def apply_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    spans = sorted(((offset(text, e.range.start, encoding), offset(text, e.range.end, encoding),
                     e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def edits_of(edit: types.WorkspaceEdit, uri: str) -> list[types.TextEdit]:
    """The TextEdits for ``uri``, whether sent as ``changes`` or ``documentChanges``."""
    if edit.document_changes:
        return [e for change in edit.document_changes
                if isinstance(change, types.TextDocumentEdit)
                and change.text_document.uri == uri for e in change.edits]
    return list((edit.changes or {}).get(uri, []))


def text_at(text: str, rng: types.Range, encoding: str) -> str:
    return text[offset(text, rng.start, encoding): offset(text, rng.end, encoding)]


def codes_in(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


async def code_actions(client: LanguageClient, uri: str, rng: types.Range,
                       only: list[str] | None = None) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=[], only=only)))
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


def line_range(line: int) -> types.Range:
    return types.Range(start=types.Position(line=line, character=0),
                       end=types.Position(line=line, character=200))


def engine_codes(path: Path, text: str) -> list[str]:
    return sorted(f.code for f in lint_text(str(path), text, Config()))


def accept_registrations(client: LanguageClient) -> list[types.Registration]:
    """Answer ``client/registerCapability`` as VS Code does (pytest-lsp's client has no
    handler for it); the registrations are kept for tests to read."""
    registrations: list[types.Registration] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    return registrations


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    lsp_client.registrations = accept_registrations(lsp_client)
    yield
    try:  # a test that failed before `initialize` would leave the server waiting forever
        await asyncio.wait_for(lsp_client.shutdown_session(), 10)
    finally:
        server = lsp_client._server
        if server is not None and server.returncode is None:
            server.kill()


# --- diagnostics -----------------------------------------------------------------------

async def test_open_publishes_the_finding(client: LanguageClient, tmp_path: Path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    diagnostics = await pushed(client, uri)
    assert codes_in(diagnostics) == ["INI001"]
    (diag,) = diagnostics
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.source == "initlint"
    assert diag.code_description.href == ALL_RULES["INI001"].url  # the finding's url
    assert diag.range == types.Range(start=types.Position(line=5, character=16),
                                     end=types.Position(line=5, character=30))
    assert text_at(MODEL, diag.range, "utf-16") == "xavier_uniform"
    finding, = lint_text(str(tmp_path / "model.py"), MODEL, Config())
    assert diag.message == finding.message  # one line: the why is in hover
    assert "\n" not in diag.message and diag.data["why"] == finding.why
    assert diag.data["fix"]["applicability"] == "safe"


async def test_hover_on_a_finding_shows_its_why_fix_and_link(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    (diag,) = await pushed(client, uri)
    finding, = lint_text(str(tmp_path / "model.py"), MODEL, Config())
    inside = types.Position(line=5, character=20)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=inside))
    assert hover is not None and hover.range == diag.range
    value = hover.contents.value
    assert finding.message in value and finding.why in value
    assert f"Fix (safe): {finding.fix.message}" in value
    assert f"]({ALL_RULES['INI001'].url})" in value
    outside = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=1, character=3)))
    assert outside is None


async def test_change_that_removes_the_mistake_clears_diagnostics(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    change_doc(client, uri, CLEAN, 2)
    assert await pushed(client, uri) == []
    change_doc(client, uri, MODEL, 3)
    assert codes_in(await pushed(client, uri)) == ["INI001"]


async def test_save_relints_and_close_clears(client, tmp_path):
    await start(client, tmp_path)
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    uri = open_doc(client, path, MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await pushed(client, uri) == []


async def test_rapid_changes_publish_only_the_latest_version(client, tmp_path):
    await start(client, tmp_path, options={"debounceMs": 150})
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    await pushed(client, uri)
    for version in range(2, 12):  # typing: each keystroke supersedes the last
        change_doc(client, uri, MODEL if version % 2 else CLEAN, version)
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            break
    assert params.version == 11
    assert codes_in(list(params.diagnostics)) == ["INI001"]


@pytest.mark.parametrize("spec", sorted(CLIENTS))
async def test_columns_follow_the_negotiated_encoding(client, tmp_path, spec):
    text = MODEL.replace("        nn.init.xavier",
                         '        s = "é😀"; nn.init.xavier')
    result = await start(client, tmp_path, spec)
    encoding = CLIENTS[spec]
    assert result.capabilities.position_encoding == encoding
    uri = open_doc(client, tmp_path / "model.py", text)
    if spec.startswith("neovim"):
        report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        diagnostics = list(report.items)
    else:
        diagnostics = await pushed(client, uri)
    (diag,) = diagnostics
    assert text_at(text, diag.range, encoding) == "xavier_uniform"
    start_units = {"utf-16": 27, "utf-8": 30, "utf-32": 26}[encoding]
    assert diag.range.start.character == start_units


async def test_pull_client_gets_diagnostics_only_by_pulling(client, tmp_path):
    await start(client, tmp_path, "neovim@v0.11.0")
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    params = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    report = await client.text_document_diagnostic_async(params)
    assert report.kind == "full"
    assert codes_in(list(report.items)) == ["INI001"]
    again = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=params.text_document, previous_result_id=report.result_id))
    assert again.kind == "unchanged"
    change_doc(client, uri, CLEAN, 2)
    after = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=params.text_document, previous_result_id=report.result_id))
    assert after.kind == "full" and list(after.items) == []
    assert uri not in client.diagnostics  # nothing was pushed: no duplicates in Neovim


async def test_syntax_error_gives_ini000_and_the_server_keeps_working(client, tmp_path):
    await start(client, tmp_path)
    broken = MODEL.replace("self.fc = nn.Linear(4, 4)", "self.fc = nn.Linear(4, ")
    uri = open_doc(client, tmp_path / "model.py", broken)
    diagnostics = await pushed(client, uri)
    assert codes_in(diagnostics) == ["INI000"]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error
    assert diagnostics[0].message.startswith("SyntaxError")
    # requests on the broken buffer answer instead of failing
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=4, character=10)))  # the error's line: its explanation
    assert hover is not None and hover.contents.value.startswith("**INI000** syntax-error")
    actions = await code_actions(client, uri, line_range(4))
    assert all("INI000" not in a.title or "Disable" in a.title for a in actions)
    change_doc(client, uri, MODEL, 2)
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    assert not [m for m in client.log_messages if m.type == types.MessageType.Error]


# --- code actions ----------------------------------------------------------------------

async def test_quick_fix_applied_lints_clean(client, tmp_path):
    await start(client, tmp_path)
    path = tmp_path / "model.py"
    uri = open_doc(client, path, MODEL)
    (diag,) = await pushed(client, uri)
    actions = await code_actions(client, uri, diag.range)
    fixes = [a for a in actions if a.title.startswith("initlint (INI001): Use `xavier_uniform_`")]
    assert len(fixes) == 1
    fix = fixes[0]
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert [str(d.code) for d in fix.diagnostics] == ["INI001"]
    fixed = apply_edits(MODEL, edits_of(fix.edit, uri))
    assert fixed == CLEAN
    assert engine_codes(path, fixed) == []
    change_doc(client, uri, fixed, 2)
    assert await pushed(client, uri) == []


async def test_noqa_action_silences_the_line(client, tmp_path):
    await start(client, tmp_path, "neovim@v0.7.0")  # sends plain `changes`, no versions
    path = tmp_path / "model.py"
    uri = open_doc(client, path, MODEL)
    (diag,) = await pushed(client, uri)
    actions = await code_actions(client, uri, diag.range)
    (noqa,) = [a for a in actions if a.title == "initlint (INI001): Disable for this line"]
    assert noqa.edit.changes and not noqa.edit.document_changes
    fixed = apply_edits(MODEL, edits_of(noqa.edit, uri))
    assert fixed.splitlines()[5].endswith(
        "# INI001, safe fix adds the underscore  # noqa: INI001")
    assert engine_codes(path, fixed) == []
    change_doc(client, uri, fixed, 2)
    assert await pushed(client, uri) == []


async def test_noqa_action_extends_an_existing_list(client, tmp_path):
    await start(client, tmp_path)
    path = tmp_path / "model.py"
    text = MODEL.replace("# INI001, safe fix adds the underscore", "# noqa: INI002")
    uri = open_doc(client, path, text)
    (diag,) = await pushed(client, uri)
    actions = await code_actions(client, uri, diag.range)
    (noqa,) = [a for a in actions if a.title.endswith("Disable for this line")]
    fixed = apply_edits(text, edits_of(noqa.edit, uri))
    assert fixed.splitlines()[5].endswith("# noqa: INI002, INI001")
    assert engine_codes(path, fixed) == []


TWO_FIXES = MODEL + """\
class Other(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        nn.init.kaiming_normal(self.a.weight)
        nn.init.xavier_normal(self.b.weight)
"""


@pytest.mark.parametrize("spec", ["visual-studio-code", "emacs"])  # resolve / eager edit
async def test_fix_all_applies_every_safe_fix(client, tmp_path, spec):
    await start(client, tmp_path, spec)
    path = tmp_path / "model.py"
    uri = open_doc(client, path, TWO_FIXES)
    assert codes_in(await pushed(client, uri)) == ["INI001"] * 3
    actions = await code_actions(client, uri, line_range(0), only=["source.fixAll"])
    (fix_all,) = actions
    assert fix_all.kind == "source.fixAll.initlint"
    if fix_all.edit is None:
        fix_all = await client.code_action_resolve_async(fix_all)
    edits = edits_of(fix_all.edit, uri)
    fixed = apply_edits(TWO_FIXES, edits, CLIENTS[spec])
    assert engine_codes(path, fixed) == []
    assert "kaiming_normal_(self.a.weight)" in fixed and "xavier_normal_(" in fixed
    change_doc(client, uri, fixed, 2)
    assert await pushed(client, uri) == []


async def test_quickfix_only_request_leaves_out_fix_all(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    (diag,) = await pushed(client, uri)
    kinds = {a.kind for a in await code_actions(client, uri, diag.range, only=["quickfix"])}
    assert kinds == {types.CodeActionKind.QuickFix}
    everything = {a.kind for a in await code_actions(client, uri, diag.range)}
    assert "source.fixAll.initlint" in everything


# --- hover -----------------------------------------------------------------------------

async def test_hover_on_a_noqa_code_shows_the_rule_doc(client, tmp_path):
    await start(client, tmp_path)
    text = MODEL.replace("# INI001, safe fix adds the underscore", "# noqa: INI001, INI101")
    uri = open_doc(client, tmp_path / "model.py", text)
    await pushed(client, uri)
    line = text.splitlines()[5]
    for code in ("INI001", "INI101"):
        column = line.index(code) + 2
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=5, character=column)))
        assert hover is not None and hover.contents.kind == types.MarkupKind.Markdown
        doc = rule_doc(code)
        if doc is not None:
            assert hover.contents.value == doc
        else:
            assert code in hover.contents.value
        assert text_at(text, hover.range, "utf-16") == code
    nothing = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=4, character=12)))
    assert nothing is None


# --- configuration and context -----------------------------------------------------------

async def test_workspace_config_is_honoured(client, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nignore = ["INI001"]\n')
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    assert await pushed(client, uri) == []
    assert client.messages == []


async def test_broken_config_shows_one_error_and_uses_defaults(client, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nselect = ["NOPE1"]\n')
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    change_doc(client, uri, MODEL + "\n", 2)
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "NOPE1" in errors[0].message


BASE = """\
import torch.nn as nn


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4, bias=False)
"""

HEAD = """\
import torch.nn as nn

from .base import Base


class Head(Base):
    def __init__(self):
        super().__init__()
        nn.init.zeros_(self.fc.bias)
"""


async def test_other_files_give_context_and_open_buffers_replace_them(client, tmp_path):
    package = tmp_path / "models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(BASE)
    (package / "head.py").write_text(HEAD)
    await start(client, tmp_path)
    head = open_doc(client, package / "head.py", HEAD)
    assert codes_in(await pushed(client, head)) == ["INI005"]  # bias=False is in base.py
    base = open_doc(client, package / "base.py", BASE)
    await pushed(client, base)
    change_doc(client, base, BASE.replace("bias=False", "bias=True"), 2)  # unsaved
    await pushed(client, base)
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=base)))
    assert await pushed(client, head) == []


async def test_uninitialized_session_does_not_hang_teardown(client, tmp_path):
    """The fixture kills a server it could not shut down (guards the whole file)."""


async def test_requests_for_unknown_documents_answer_empty(client, tmp_path):
    await start(client, tmp_path)
    uri = (tmp_path / "never_opened.py").as_uri()
    assert await code_actions(client, uri, line_range(0)) == []
    assert await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=0, character=0))) is None
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert list(report.items) == []
    # and the server still works afterwards
    opened = open_doc(client, tmp_path / "model.py", MODEL)
    assert codes_in(await pushed(client, opened)) == ["INI001"]
    assert not [m for m in client.log_messages if m.type == types.MessageType.Error]


async def test_untitled_buffer_is_linted_with_defaults(client, tmp_path):
    await start(client, tmp_path)
    uri = "untitled:Untitled-1"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=MODEL)))
    assert codes_in(await pushed(client, uri)) == ["INI001"]


async def test_pull_client_is_asked_to_refresh_when_a_neighbour_is_saved(client, tmp_path):
    package = tmp_path / "models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(BASE)
    caps = client_capabilities("neovim@v0.11.0")
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
        refresh_support=True)
    await client.initialize_session(types.InitializeParams(
        capabilities=caps, root_uri=tmp_path.as_uri(),
        initialization_options={"debounceMs": 20}))
    head = open_doc(client, package / "head.py", HEAD)
    pull = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=head))
    first = await client.text_document_diagnostic_async(pull)
    assert codes_in(list(first.items)) == ["INI005"]
    base = open_doc(client, package / "base.py", BASE.replace("bias=False", "bias=True"))
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=base)))
    for _ in range(100):
        if client.diagnostic_refresh_count:
            break
        await asyncio.sleep(0.02)
    assert client.diagnostic_refresh_count >= 1
    again = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=pull.text_document, previous_result_id=first.result_id))
    assert again.kind == "full" and list(again.items) == []
