"""The language server: documents and notebooks in, diagnostics and code actions out (pygls 2,
stdio).

``initialize`` is answered before anything of the engine is imported: the rules, the engine
and the project's context load on the lint thread once the client says ``initialized`` (or
at the first request that needs them), and the first diagnostics are published when they
are ready. The editor's settings (:mod:`initlint.lsp.settings`) are asked for then too, and
the first lint waits for them (briefly), so it never shows what the settings would hide.

Lints run on one worker thread, so the event loop keeps reading messages while a big file
is linted and the caches in :mod:`initlint.lsp.workspace` never race. A change is linted
after a short quiet period (debounce); a newer change cancels a run that has not started,
and a result for a version the client has moved past is dropped, never published.

What is linted is a *unit*: a Python document, or a notebook whose code cells make one
program (:mod:`initlint.lsp.notebooks`); a notebook's findings are published per cell, with
cell-relative positions, and its code actions edit the cells. Clients that pull diagnostics
(``textDocument/diagnostic``) get them only that way; the others get them pushed. Handler
errors are logged to the client (``window/logMessage``) and the server carries on.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from initlint import __version__
from initlint.files.safe_fs import text_too_large
from initlint.lsp import settings as editor
from initlint.lsp.notebooks import NotebookText, notebook_text
from initlint.lsp.protocol import AnsweringProtocol

if TYPE_CHECKING:  # the engine: loaded on the lint thread after `initialize` is answered
    from initlint.core.findings import Finding, Span
    from initlint.lsp import actions
    from initlint.lsp.workspace import Linter

log = logging.getLogger("initlint.lsp")

#: Debounce bounds (seconds). Between them the delay follows the document's last lint time,
#: which keeps continuous typing at about half a core at most.
MIN_DEBOUNCE, MAX_DEBOUNCE = 0.05, 0.3
#: How long the first lint waits for the client to answer ``workspace/configuration``.
SETTINGS_WAIT = 2.0
#: Notebooks of any type (``*``, as VS Code's client matches it) with Python cells, as ruff's
#: server selects them. (Ruff leaves ``notebook`` out; lsprotocol-based clients cannot read
#: that form back.)
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithCells(
        cells=[types.NotebookCellLanguage(language="python")], notebook="*")],
    save=True)

T = TypeVar("T")


@dataclass(frozen=True)
class Unit:
    """What one lint covers: a Python document, or a notebook's code cells as one program."""

    uri: str
    version: int | None
    text: str  # a notebook's program
    notebook: NotebookText | None = None

    def state(self) -> tuple[Any, ...]:
        """What a result must match to be current (a notebook's cells have versions too)."""
        cells = tuple((c.uri, c.version) for c in self.notebook.cells) if self.notebook else ()
        return self.version, self.text, cells


@dataclass(frozen=True)
class View:
    """A lint's findings as one client document shows them: the document itself, or one
    code cell of a notebook (rows counted from the cell's first line)."""

    uri: str
    version: int | None
    text: str
    findings: tuple[Finding, ...]
    diagnostics: tuple[types.Diagnostic, ...]
    result_id: str


@dataclass(frozen=True)
class LintResult:
    """The findings for one state of one unit, and the views the client shows them in."""

    unit: Unit
    findings: tuple[Finding, ...]  # in the unit's text (a notebook: its program)
    views: tuple[View, ...]
    seconds: float
    kept: bool = False  # the findings a run kept for this state of the project (no relink)

    def view(self, uri: str) -> View | None:
        for view in self.views:
            if view.uri == uri:
                return view
        return None


class InitlintServer(LanguageServer):
    """pygls server plus initlint's state: caches, results and pending lints per unit."""

    def __init__(self) -> None:
        super().__init__("initlint", __version__, protocol_cls=AnsweringProtocol,
                         notebook_document_sync=NOTEBOOK_SYNC)
        self.lint_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlint")
        self.results: dict[str, LintResult] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.shown: dict[str, set[str]] = {}  # unit → the views last published for it
        self.debounce: float | None = None  # fixed, from initializationOptions.debounceMs
        self.use_cache = True  # initializationOptions.cache
        self.init_settings: dict[str, Any] = {}  # initializationOptions.settings
        self.scopes = editor.Scopes()
        self._loading: Future[Linter] | None = None
        self._settled: asyncio.Event | None = None  # set once the settings are known
        self.background: set[asyncio.Task] = set()  # tasks nobody awaits, kept till done

    # --- loading ----------------------------------------------------------------------

    def load(self) -> Future[Linter]:
        """Import the engine and make the linter, on the lint thread (started once)."""
        if self._loading is None:
            self._loading = self.lint_thread.submit(self._load, self.use_cache)
        return self._loading

    def _load(self, use_cache: bool) -> Linter:
        from initlint.lsp import actions, diagnostics  # noqa: F401  (the rules, the fixes)
        from initlint.lsp.workspace import Linter

        linter = Linter()
        linter.neighbours.use_cache = use_cache  # False: neither read nor write the cache
        linter.scopes = self.scopes
        return linter

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn`` on the lint thread, after the engine has loaded."""
        self.load()
        return self.lint_thread.submit(fn, *args)

    @property
    def linter(self) -> Linter:
        """The linter: for jobs on the lint thread (:meth:`submit`), which find it made."""
        return self.load().result()

    def _use_scopes(self, scopes: editor.Scopes) -> None:
        self.linter.scopes = scopes

    async def ready(self) -> None:
        """Wait until the engine is loaded (event-loop side, before using its modules)."""
        await asyncio.wrap_future(self.load())

    async def settled(self) -> None:
        """Wait (a little) for the client's answer to ``workspace/configuration``."""
        if self._settled is not None and not self._settled.is_set():
            try:
                await asyncio.wait_for(self._settled.wait(), SETTINGS_WAIT)
            except asyncio.TimeoutError:
                self._settled.set()  # a client that never answers: go on without

    # --- client capabilities ----------------------------------------------------------

    @property
    def pulls(self) -> bool:
        """Does the client pull diagnostics? Then pushing as well would show them twice."""
        td = self.client_capabilities.text_document
        return td is not None and td.diagnostic is not None

    @property
    def edit_style(self) -> actions.EditStyle:
        from initlint.lsp.actions import EditStyle

        ws = self.client_capabilities.workspace
        versioned = bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
        return EditStyle(self.workspace.position_codec, versioned)

    def resolves_edits(self) -> bool:
        td = self.client_capabilities.text_document
        support = td.code_action.resolve_support if td and td.code_action else None
        return bool(support and "edit" in support.properties)

    def refreshes_diagnostics(self) -> bool:
        ws = self.client_capabilities.workspace
        return bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)

    def asks_configuration(self) -> bool:
        ws = self.client_capabilities.workspace
        return bool(ws and ws.configuration)

    def registers_configuration(self) -> bool:
        ws = self.client_capabilities.workspace
        change = ws.did_change_configuration if ws else None
        return bool(change and change.dynamic_registration)

    # --- settings ---------------------------------------------------------------------

    async def pull_settings(self) -> None:
        """Ask the client for the ``initlint`` section, globally and per workspace folder."""
        folders = list(self.workspace.folders.values())
        items = [types.ConfigurationItem(section=editor.SECTION)]
        items += [types.ConfigurationItem(scope_uri=f.uri, section=editor.SECTION)
                  for f in folders]
        try:
            answer = await self.workspace_configuration_async(
                types.ConfigurationParams(items=items))
        except Exception as exc:  # a client that cannot answer: the init options stand
            log.warning("workspace/configuration failed: %s", exc)
            return
        answer = list(answer or []) + [None] * (len(items) - len(answer or []))
        default = editor.parse(self.init_settings, answer[0])
        scoped = tuple((os.path.realpath(to_fs_path(f.uri) or ""),
                        editor.parse(self.init_settings, answer[0], value))
                       for f, value in zip(folders, answer[1:], strict=False)
                       if f.uri.startswith("file:"))
        scoped = tuple((folder, s) for folder, s in scoped if s != default)
        self.use_settings(editor.Scopes(default, scoped))

    def use_settings(self, scopes: editor.Scopes) -> None:
        """Lint with new settings from now on: every open unit again."""
        if self._settled is not None:
            self._settled.set()
        if scopes == self.scopes:
            return
        self.scopes = scopes
        self.submit(self._use_scopes, scopes)
        self.results.clear()
        if self.pulls:
            if self.refreshes_diagnostics():
                self.workspace_diagnostic_refresh(None)
            return
        for uri in self.open_units():
            self.schedule(uri, 0)

    def settings_for(self, uri: str) -> editor.EditorSettings:
        return self.scopes.for_path(file_path(uri))

    # --- reporting --------------------------------------------------------------------

    def log_error(self, what: str, exc: BaseException) -> None:
        """Tell the client's log, never stdout; reporting must not fail in turn."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("%s: %s", what, text)
        try:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error, message=f"initlint: {what} failed:\n{text}"))
        except Exception:  # the connection may be gone
            log.exception("could not send a log message")

    def log_loads(self) -> None:
        """Tell the client's log how each new batch of context files was read (the cache
        makes the first diagnostics in a big package fast; this shows whether it did)."""
        loads = self.linter.neighbours.loads
        while loads:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Log, message=f"initlint: {loads.pop(0).describe()}"))

    def show_error(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error,
                                                         message=message))

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]
                ) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, version=version, diagnostics=diagnostics))

    def publish_result(self, result: LintResult) -> None:
        """Every view of a unit; a cell that left the notebook is cleared."""
        before = self.shown.get(result.unit.uri, set())
        now = {view.uri for view in result.views}
        for view in result.views:
            self.publish(view.uri, view.version, list(view.diagnostics))
        for gone in sorted(before - now):
            self.publish(gone, None, [])
        self.shown[result.unit.uri] = now

    # --- documents and notebooks ------------------------------------------------------

    def _document(self, uri: str) -> Any:
        return self.workspace.text_documents.get(unquote(uri))

    def owner(self, uri: str) -> str:
        """The unit a client document belongs to: a cell's notebook, else itself."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def unit(self, uri: str) -> Unit | None:
        """The unit at ``uri`` as the client holds it now: an open notebook, or an open
        Python document that is not a notebook's cell; else None."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is not None:
            text = notebook_text(notebook, self._document)
            return Unit(notebook.uri, notebook.version, text.program, text)
        if self.workspace.get_notebook_document(cell_uri=uri) is not None:
            return None
        doc = self._document(uri)
        if doc is None:
            return None
        if doc.language_id in ("python", None, "") or uri.lower().endswith((".py", ".pyi")):
            return Unit(uri, doc.version, doc.source)
        return None

    def open_units(self) -> list[str]:
        """Every open unit: notebooks and the Python documents that are not cells."""
        notebooks = [nb.uri for nb in self.workspace.notebook_documents.values()]
        documents = [doc.uri for doc in list(self.workspace.text_documents.values())
                     if self.workspace.get_notebook_document(cell_uri=doc.uri) is None]
        return notebooks + [uri for uri in documents if self.unit(uri) is not None]

    def open_buffers(self, but: str) -> dict[str, str]:
        """Paths and texts of the other open units (they replace their files on disk; a
        notebook's is its program); a buffer over a file's size cap is no context, as such
        a file on disk is not."""
        out = {}
        for uri in self.open_units():
            path = file_path(uri)
            unit = self.unit(uri) if uri != but else None
            if path and unit is not None and not text_too_large(unit.text):
                out[path] = unit.text
        return out

    def delay_for(self, uri: str) -> float:
        if self.debounce is not None:
            return self.debounce
        last = self.results.get(uri)
        return min(MAX_DEBOUNCE, max(MIN_DEBOUNCE, last.seconds if last else MIN_DEBOUNCE))

    # --- linting ----------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """(Re-)lint unit ``uri`` after ``delay``; a run still waiting for it is superseded."""
        old = self.pending.get(uri)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._lint_later(uri, delay))
        self.pending[uri] = task

        def forget(done: asyncio.Task, uri: str = uri) -> None:
            if self.pending.get(uri) is done:
                del self.pending[uri]

        task.add_done_callback(forget)

    async def _lint_later(self, uri: str, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            result = await self.lint_now(uri)
            if result is not None and not self.pulls:
                self.publish_result(result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log_error(f"linting {uri}", exc)

    async def lint_now(self, uri: str) -> LintResult | None:
        """Lint the unit's current text on the lint thread; None when it changed or closed
        meanwhile (a newer run will report)."""
        await self.settled()
        unit = self.unit(uri)
        if unit is None:
            return None
        buffers = self.open_buffers(uri)
        codec = self.workspace.position_codec
        result, error = await self.in_thread(self._compute, unit, buffers, codec)
        if error:
            self.show_error(error)
        self.log_loads()  # (the linter is made: the lint just ran)
        if result.kept:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Log, message="initlint: the findings the last run kept "
                "for this state of the project; its context loads meanwhile"))
        current = self.unit(uri)
        if current is None or current.state() != unit.state():
            return None
        self.results[uri] = result
        return result

    def _compute(self, unit: Unit, buffers: dict[str, str], codec
                 ) -> tuple[LintResult, str | None]:
        """Runs on the lint thread."""
        from initlint.lsp.diagnostics import to_diagnostics
        from initlint.lsp.heap import collector_paused

        start = time.perf_counter()
        path = file_path(unit.uri)
        with collector_paused():  # see lsp/heap.py
            outcome = self.linter.lint(path, unit.uri, unit.text, buffers)
        if outcome.kept:  # answered from the cache: load the context now, before an edit
            self.lint_thread.submit(self._warm, path, unit.uri, unit.text, buffers)
        if unit.notebook is None:
            shown = [(unit.uri, unit.version, unit.text, outcome.findings)]
        else:
            by_cell = unit.notebook.by_cell(outcome.findings)
            shown = [(cell.uri, cell.version, cell.text, by_cell[cell.uri])
                     for cell in unit.notebook.code_cells()]
        views = []
        for uri, version, text, findings in shown:
            digest = hashlib.sha1(repr((codec.encoding, findings)).encode()).hexdigest()
            views.append(View(uri, version, text, findings,
                              tuple(to_diagnostics(findings, text, codec)), digest[:20]))
        seconds = time.perf_counter() - start
        return (LintResult(unit, outcome.findings, tuple(views), seconds, outcome.kept),
                outcome.config_error)

    def _warm(self, path: str | None, uri: str, text: str, buffers: dict[str, str]) -> None:
        """On the lint thread, after a first answer from kept findings: lint the document
        again with its context loaded and linked, so the next edit relinks only itself."""
        try:
            self.linter.lint(path, uri, text, buffers)
        except Exception:  # not sent to the client from this thread; the next lint reports
            log.exception("loading the context of %s", uri)

    async def keep_after_lint(self, uri: str) -> None:
        """After a save, once the unit is linted: keep its findings for this state of the
        project (``Linter.keep``), for a commit hook run next."""
        task = self.pending.get(uri)
        if task is not None and not task.done():
            await asyncio.wait({task})
        unit, path = self.unit(uri), file_path(uri)
        if unit is None or not path:
            return
        try:
            await self.in_thread(lambda: self.linter.keep(path, unit.text,
                                                          self.open_buffers(uri)))
        except Exception as exc:
            self.log_error(f"keeping the findings of {uri}", exc)

    async def current(self, uri: str) -> LintResult | None:
        """The result for the current state of the unit ``uri`` belongs to: cached,
        awaited, or linted now."""
        uri = self.owner(uri)
        for _ in range(8):
            unit = self.unit(uri)
            if unit is None:
                return None
            result = self.results.get(uri)
            if result is not None and result.unit.state() == unit.state():
                return result
            task = self.pending.get(uri)
            if task is not None and not task.done():
                await asyncio.wait({task})
                continue
            result = await self.lint_now(uri)
            if result is not None:
                return result
        return None

    def others_changed(self, uri: str) -> None:
        """A saved file is context for the others: re-lint them (push) or ask the client to
        pull again."""
        for other in list(self.results):
            if other != uri:
                self.results.pop(other, None)
        if self.pulls:
            if self.refreshes_diagnostics():
                self.workspace_diagnostic_refresh(None)
            return
        for other in self.open_units():
            if other != uri:
                self.schedule(other, MAX_DEBOUNCE)

    def saved(self, uri: str) -> None:
        """A unit was saved: it, and every unit its file is context for, again."""
        self.results.pop(uri, None)  # the config or a neighbour may have changed too
        self.schedule(uri, 0)
        self.others_changed(uri)
        for unit in [uri, *(other for other in self.open_units() if other != uri)]:
            # every open unit, once re-linted against what is now on disk: a commit of
            # several files saved one after the other finds them all kept for its state
            self.spawn(self.keep_after_lint(unit))

    def closed(self, uri: str, views: list[str]) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.results.pop(uri, None)
        shown = self.shown.pop(uri, set()) | set(views)
        path = file_path(uri) or uri
        self.submit(lambda: self.linter.forget(path))
        if not self.pulls:
            for view in sorted(shown):
                self.publish(view, None, [])

    def spawn(self, job: Any) -> None:
        """Run a coroutine in the background, keeping it referenced until it finishes."""
        task = asyncio.get_running_loop().create_task(job)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.submit(fn, *args))


def _covers(span: Span, row: int, column: int) -> bool:
    """Is (row, column) inside the range the client shows for ``span``? (An empty span is
    shown as its whole line.)"""
    if span.row == span.end_row and span.column == span.end_column:
        return row == span.row
    return (span.row, span.column) <= (row, column) <= (span.end_row, span.end_column)


def rule_markdown(code: str) -> str | None:
    """A rule's doc page, else (a rule without one yet) its name, summary and link."""
    from initlint.checks import ALL_RULES
    from initlint.checks.docs import rule_doc

    text = rule_doc(code)
    if text is not None:
        return text
    rule = ALL_RULES.get(code)
    if rule is None:
        return None
    return f"## {rule.code} {rule.name}\n\n{rule.summary}\n\n[Documentation]({rule.url})"


def file_path(uri: str) -> str | None:
    """The file behind a ``file:`` URI; None for unsaved buffers (``untitled:``) and
    notebook cells."""
    return to_fs_path(uri) if uri.startswith("file:") else None


def guarded(server: InitlintServer, default: Any = None):
    """Wrap a handler so an exception is logged and answered with ``default``, never
    raised into pygls (which would pop up "Error in server" or drop the request)."""

    def wrap(fn):
        if asyncio.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(params):
                try:
                    return await fn(params)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    server.log_error(fn.__name__, exc)
                    return default
            return run_async

        @functools.wraps(fn)
        def run(params):
            try:
                return fn(params)
            except Exception as exc:
                server.log_error(fn.__name__, exc)
                return default
        return run

    return wrap


def create_server() -> InitlintServer:
    """A server with every feature registered (each handler closes over it)."""
    server = InitlintServer()

    @server.feature(types.INITIALIZE)
    @guarded(server)
    def initialize(params: types.InitializeParams) -> None:
        """Options only: nothing is loaded or linted before the answer goes out."""
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounceMs"), (int, float)):
            server.debounce = max(0.0, options["debounceMs"] / 1000)
        if isinstance(options, dict) and options.get("cache") is False:
            server.use_cache = False
        server.init_settings = editor.init_layer(options)
        server.scopes = editor.Scopes(editor.parse(server.init_settings))
        if server.asks_configuration():
            server._settled = asyncio.Event()

    @server.feature(types.INITIALIZED)
    @guarded(server)
    def initialized(params: types.InitializedParams) -> None:
        server.load()  # the engine, on the lint thread, while the client opens files
        if server.asks_configuration():
            server.spawn(server.pull_settings())
        if server.registers_configuration():  # so the client tells us when they change
            server.spawn(_register_configuration(server))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @guarded(server)
    def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        if server.asks_configuration():
            server.spawn(server.pull_settings())
            return
        pushed = params.settings  # a client that cannot be asked sends them here
        if isinstance(pushed, dict) and isinstance(pushed.get(editor.SECTION), dict):
            pushed = pushed[editor.SECTION]
        server.use_settings(editor.Scopes(editor.parse(server.init_settings, pushed)))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded(server)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded(server)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        server.schedule(uri, server.delay_for(uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @guarded(server)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded(server)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.closed(params.text_document.uri, [params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    @guarded(server)
    def notebook_did_open(params: types.DidOpenNotebookDocumentParams) -> None:
        server.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    @guarded(server)
    def notebook_did_change(params: types.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        server.schedule(uri, server.delay_for(uri))

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    @guarded(server)
    def notebook_did_save(params: types.DidSaveNotebookDocumentParams) -> None:
        server.saved(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    @guarded(server)
    def notebook_did_close(params: types.DidCloseNotebookDocumentParams) -> None:
        server.closed(params.notebook_document.uri,
                      [cell.uri for cell in params.cell_text_documents])

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(
        identifier="initlint", inter_file_dependencies=True, workspace_diagnostics=False))
    @guarded(server, types.RelatedFullDocumentDiagnosticReport(items=[]))
    async def diagnostic(params: types.DocumentDiagnosticParams):
        uri = params.text_document.uri
        result = await server.current(uri)
        view = result.view(uri) if result is not None else None
        if view is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        if params.previous_result_id == view.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=view.result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=list(view.diagnostics),
                                                         result_id=view.result_id)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll,
                           "source.fixAll.initlint"], resolve_provider=True))
    @guarded(server, [])
    async def code_action(params: types.CodeActionParams):
        uri = params.text_document.uri
        result = await server.current(uri)
        view = result.view(uri) if result is not None else None
        if result is None or view is None:
            return []
        await server.ready()
        from initlint.lsp import actions
        from initlint.lsp.positions import TextIndex

        unit, style, only = result.unit, server.edit_style, params.context.only
        doc = actions.Document(unit.uri, unit.version, unit.text, result.findings)
        span = TextIndex(view.text).span_from_client(params.range, style.codec)
        target = _target(doc, unit, style)
        if unit.notebook is not None:
            span = unit.notebook.to_program(uri, span) or span
        settings = server.settings_for(unit.uri)
        offer = actions.Offer(settings.fix_violation, settings.disable_rule_comment)
        found = await server.in_thread(actions.line_actions, doc, span, only, target, offer)
        if (settings.fix_all and actions.wanted(actions.FIX_ALL_KIND, only)
                and actions.has_safe_fix(result.findings)):
            if server.resolves_edits():
                found.append(actions.fix_all_action(doc, {"uri": unit.uri,
                                                          "state": _state_key(unit)}))
            else:
                found.append(await _resolve_fix_all(server, result))
        return found

    @server.feature(types.CODE_ACTION_RESOLVE)
    @guarded(server)
    async def resolve(action: types.CodeAction):
        data = action.data if isinstance(action.data, dict) else {}
        if action.kind != "source.fixAll.initlint" or "uri" not in data:
            return action
        result = await server.current(data["uri"])
        if result is None or _state_key(result.unit) != data.get("state"):
            return action  # the document moved on: no edit rather than a stale one
        return await _resolve_fix_all(server, result)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded(server)
    async def hover(params: types.HoverParams):
        """On a ``# noqa:`` code: the rule's doc. On a finding's range: its message, why,
        fix and rule link (diagnostics carry the one-line message only)."""
        uri = params.text_document.uri
        if server.unit(server.owner(uri)) is None:
            return None
        doc = server._document(uri)
        await server.ready()
        from initlint.core.findings import Span
        from initlint.lsp.diagnostics import hover_markdown
        from initlint.lsp.noqa import noqa_code_at
        from initlint.lsp.positions import TextIndex

        codec = server.workspace.position_codec
        index = TextIndex(doc.source)
        row, column = index.from_client(params.position, codec)
        found = noqa_code_at(index.line(row), column)
        if found is not None:
            text = rule_markdown(found.code)
            if text is None:
                return None
            rng = index.range(Span(row, found.start, row, found.end), codec)
            return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                            value=text), range=rng)
        result = await server.current(uri)
        view = result.view(uri) if result is not None else None
        if view is None:
            return None
        at = [f for f in view.findings if _covers(f.span, row, column)]
        if not at:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value=hover_markdown(at)),
                           range=TextIndex(view.text).visible_range(at[0].span, codec))

    return server


def _state_key(unit: Unit) -> str:
    """A short name for a unit's state, carried in a fix-all action until it is resolved."""
    return hashlib.sha1(repr(unit.state()).encode()).hexdigest()[:20]


def _target(doc: actions.Document, unit: Unit, style: actions.EditStyle) -> actions.Target:
    from initlint.lsp import actions

    if unit.notebook is not None:
        return actions.CellsTarget(unit.notebook, style)
    return actions.FileTarget(doc, style)


async def _register_configuration(server: InitlintServer) -> None:
    try:
        await server.client_register_capability_async(types.RegistrationParams(registrations=[
            types.Registration(id="initlint-configuration",
                               method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                               register_options=types.DidChangeConfigurationRegistrationOptions(
                                   section=editor.SECTION))]))
    except Exception as exc:  # the client keeps its settings to itself: nothing breaks
        log.warning("could not register for configuration changes: %s", exc)


async def _resolve_fix_all(server: InitlintServer, result: LintResult) -> types.CodeAction:
    from initlint.lsp import actions

    unit = result.unit
    doc = actions.Document(unit.uri, unit.version, unit.text, result.findings)
    path = file_path(unit.uri)
    buffers = server.open_buffers(unit.uri)
    after = await server.in_thread(lambda: server.linter.fix_all(path, unit.uri, unit.text,
                                                                 buffers))
    action = actions.fix_all_action(doc)
    action.edit = (_target(doc, unit, server.edit_style).edit(None, after)
                   or types.WorkspaceEdit(changes={}))
    return action


def serve() -> None:
    """Run on stdin/stdout. Anything printed by accident goes to stderr, never into the
    protocol stream."""
    import sys

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    logging.basicConfig(level=os.environ.get("INITLINT_LSP_LOG", "WARNING").upper(),
                        stream=sys.stderr, format="initlint-lsp %(levelname)s %(message)s")
    create_server().start_io(stdin, stdout)
