"""The language server: documents in, diagnostics and code actions out (pygls 2, stdio).

Lints run on one worker thread, so the event loop keeps reading messages while a big file
is linted and the caches in :mod:`initlint.lsp.workspace` never race. A change is linted
after a short quiet period (debounce); a newer change cancels a run that has not started,
and a result for a version the client has moved past is dropped, never published.

Clients that pull diagnostics (``textDocument/diagnostic``) get them only that way; the
others get them pushed. Handler errors are logged to the client (``window/logMessage``)
and the server carries on.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from initlint import __version__
from initlint.checks import ALL_RULES
from initlint.checks.docs import rule_doc
from initlint.core.findings import Finding, Span
from initlint.files.safe_fs import text_too_large
from initlint.lsp import actions
from initlint.lsp.diagnostics import hover_markdown, to_diagnostics
from initlint.lsp.heap import collector_paused
from initlint.lsp.noqa import noqa_code_at
from initlint.lsp.positions import TextIndex
from initlint.lsp.protocol import AnsweringProtocol
from initlint.lsp.workspace import Linter

log = logging.getLogger("initlint.lsp")

#: Debounce bounds (seconds). Between them the delay follows the document's last lint time,
#: which keeps continuous typing at about half a core at most.
MIN_DEBOUNCE, MAX_DEBOUNCE = 0.05, 0.3

T = TypeVar("T")


@dataclass(frozen=True)
class LintResult:
    """The findings for one version of one document, as diagnostics in the client's units."""

    uri: str
    version: int | None
    text: str
    findings: tuple[Finding, ...]
    diagnostics: tuple[types.Diagnostic, ...]
    result_id: str
    seconds: float
    kept: bool = False  # the findings a run kept for this state of the project (no relink)


class InitlintServer(LanguageServer):
    """pygls server plus initlint's state: caches, results and pending lints per document."""

    def __init__(self) -> None:
        super().__init__("initlint", __version__, protocol_cls=AnsweringProtocol)
        self.linter = Linter()
        self.lint_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlint")
        self.results: dict[str, LintResult] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.debounce: float | None = None  # fixed, from initializationOptions.debounceMs

    # --- client capabilities ----------------------------------------------------------

    @property
    def pulls(self) -> bool:
        """Does the client pull diagnostics? Then pushing as well would show them twice."""
        td = self.client_capabilities.text_document
        return td is not None and td.diagnostic is not None

    @property
    def edit_style(self) -> actions.EditStyle:
        ws = self.client_capabilities.workspace
        versioned = bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
        return actions.EditStyle(self.workspace.position_codec, versioned)

    def resolves_edits(self) -> bool:
        td = self.client_capabilities.text_document
        support = td.code_action.resolve_support if td and td.code_action else None
        return bool(support and "edit" in support.properties)

    def refreshes_diagnostics(self) -> bool:
        ws = self.client_capabilities.workspace
        return bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)

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

    # --- documents --------------------------------------------------------------------

    def open_document(self, uri: str):
        """The open document at ``uri`` if it is Python, else None."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        name = uri.lower()
        if doc.language_id in ("python", None, "") or name.endswith((".py", ".pyi")):
            return doc
        return None

    def open_buffers(self, but: str) -> dict[str, str]:
        """Paths and texts of the other open Python files (they replace their disk copies);
        a buffer over a file's size cap is no context, as such a file on disk is not."""
        out = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            path = file_path(uri)
            if (uri != but and path and self.open_document(uri) is not None
                    and not text_too_large(doc.source)):
                out[path] = doc.source
        return out

    def delay_for(self, uri: str) -> float:
        if self.debounce is not None:
            return self.debounce
        last = self.results.get(uri)
        return min(MAX_DEBOUNCE, max(MIN_DEBOUNCE, last.seconds if last else MIN_DEBOUNCE))

    # --- linting ----------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """(Re-)lint ``uri`` after ``delay``; a run still waiting for it is superseded."""
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
                self.publish(uri, result.version, list(result.diagnostics))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log_error(f"linting {uri}", exc)

    async def lint_now(self, uri: str) -> LintResult | None:
        """Lint the document's current text on the lint thread; None when it changed or
        closed meanwhile (a newer run will report)."""
        doc = self.open_document(uri)
        if doc is None:
            return None
        text, version, path = doc.source, doc.version, file_path(uri)
        buffers = self.open_buffers(uri)
        codec = self.workspace.position_codec
        loop = asyncio.get_running_loop()
        result, error = await loop.run_in_executor(
            self.lint_thread, self._compute, uri, path, text, version, buffers, codec)
        if error:
            self.show_error(error)
        self.log_loads()
        if result.kept:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Log, message="initlint: the findings the last run kept "
                "for this state of the project; its context loads meanwhile"))
        current = self.open_document(uri)
        if current is None or current.version != version or current.source != text:
            return None
        self.results[uri] = result
        return result

    def _compute(self, uri: str, path: str | None, text: str, version: int | None,
                 buffers: dict[str, str], codec) -> tuple[LintResult, str | None]:
        """Runs on the lint thread."""
        start = time.perf_counter()
        with collector_paused():  # see lsp/heap.py
            outcome = self.linter.lint(path, uri, text, buffers)
        if outcome.kept:  # answered from the cache: load the context now, before an edit
            self.lint_thread.submit(self._warm, path, uri, text, buffers)
        diagnostics = tuple(to_diagnostics(outcome.findings, text, codec))
        digest = hashlib.sha1(repr((codec.encoding, outcome.findings)).encode()).hexdigest()
        seconds = time.perf_counter() - start
        return (LintResult(uri, version, text, outcome.findings, diagnostics, digest[:20],
                           seconds, outcome.kept), outcome.config_error)

    def _warm(self, path: str | None, uri: str, text: str, buffers: dict[str, str]) -> None:
        """On the lint thread, after a first answer from kept findings: lint the document
        again with its context loaded and linked, so the next edit relinks only itself."""
        try:
            self.linter.lint(path, uri, text, buffers)
        except Exception:  # not sent to the client from this thread; the next lint reports
            log.exception("loading the context of %s", uri)

    async def keep_after_lint(self, uri: str) -> None:
        """After a save, once the document is linted: keep its findings for this state of
        the project (``Linter.keep``), for a commit hook run next."""
        task = self.pending.get(uri)
        if task is not None and not task.done():
            await asyncio.wait({task})
        doc, path = self.open_document(uri), file_path(uri)
        if doc is None or not path:
            return
        try:
            await self.in_thread(self.linter.keep, path, doc.source, self.open_buffers(uri))
        except Exception as exc:
            self.log_error(f"keeping the findings of {uri}", exc)

    async def current(self, uri: str) -> LintResult | None:
        """The result for the document's current version: cached, awaited, or linted now."""
        for _ in range(8):
            doc = self.open_document(uri)
            if doc is None:
                return None
            result = self.results.get(uri)
            if result is not None and result.version == doc.version and result.text == doc.source:
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
        for other in list(self.workspace.text_documents):
            if other != uri and self.open_document(other) is not None:
                self.schedule(other, MAX_DEBOUNCE)

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.lint_thread, fn, *args)


def _covers(span: Span, row: int, column: int) -> bool:
    """Is (row, column) inside the range the client shows for ``span``? (An empty span is
    shown as its whole line.)"""
    if span.row == span.end_row and span.column == span.end_column:
        return row == span.row
    return (span.row, span.column) <= (row, column) <= (span.end_row, span.end_column)


def rule_markdown(code: str) -> str | None:
    """A rule's doc page, else (a rule without one yet) its name, summary and link."""
    text = rule_doc(code)
    if text is not None:
        return text
    rule = ALL_RULES.get(code)
    if rule is None:
        return None
    return f"## {rule.code} {rule.name}\n\n{rule.summary}\n\n[Documentation]({rule.url})"


def file_path(uri: str) -> str | None:
    """The file behind a ``file:`` URI; None for unsaved buffers (``untitled:``)."""
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
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounceMs"), (int, float)):
            server.debounce = max(0.0, options["debounceMs"] / 1000)
        if isinstance(options, dict) and options.get("cache") is False:
            server.linter.neighbours.use_cache = False  # neither read nor write the cache
        if isinstance(options, dict) and options.get("verifyFixes") is True:
            server.linter.verify_fixes = True  # fix-all builds the models, as --fix --verify

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
        uri = params.text_document.uri
        server.results.pop(uri, None)  # the config or a neighbour may have changed too
        server.schedule(uri, 0)
        server.others_changed(uri)
        for doc in [uri, *(other for other in server.workspace.text_documents if other != uri)]:
            # every open document, once re-linted against what is now on disk: a commit of
            # several files saved one after the other finds them all kept for its state
            asyncio.get_running_loop().create_task(server.keep_after_lint(doc))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded(server)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = server.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        server.results.pop(uri, None)
        path = file_path(uri)
        server.linter.forget(path or uri)
        if not server.pulls:
            server.publish(uri, None, [])

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(
        identifier="initlint", inter_file_dependencies=True, workspace_diagnostics=False))
    @guarded(server, types.RelatedFullDocumentDiagnosticReport(items=[]))
    async def diagnostic(params: types.DocumentDiagnosticParams):
        result = await server.current(params.text_document.uri)
        if result is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        if params.previous_result_id == result.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result.result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=list(result.diagnostics),
                                                         result_id=result.result_id)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=list(actions.KINDS), resolve_provider=True))
    @guarded(server, [])
    async def code_action(params: types.CodeActionParams):
        uri = params.text_document.uri
        result = await server.current(uri)
        if result is None:
            return []
        doc = actions.Document(uri, result.version, result.text, result.findings)
        style = server.edit_style
        only = params.context.only
        span = TextIndex(result.text).span_from_client(params.range, style.codec)
        found = await server.in_thread(actions.line_actions, doc, span, only, style)
        if actions.wanted(actions.FIX_ALL_KIND, only) and actions.has_safe_fix(result.findings):
            if server.resolves_edits():
                found.append(actions.fix_all_action(doc, {"uri": uri,
                                                          "version": result.version}))
            else:
                found.append(await _resolve_fix_all(server, doc, style))
        return found

    @server.feature(types.CODE_ACTION_RESOLVE)
    @guarded(server)
    async def resolve(action: types.CodeAction):
        data = action.data if isinstance(action.data, dict) else {}
        if action.kind != actions.FIX_ALL_KIND or "uri" not in data:
            return action
        result = await server.current(data["uri"])
        if result is None or result.version != data.get("version"):
            return action  # the document moved on: no edit rather than a stale one
        doc = actions.Document(result.uri, result.version, result.text, result.findings)
        return await _resolve_fix_all(server, doc, server.edit_style)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded(server)
    async def hover(params: types.HoverParams):
        """On a ``# noqa:`` code: the rule's doc. On a finding's range: its message, why,
        fix and rule link (diagnostics carry the one-line message only)."""
        uri = params.text_document.uri
        doc = server.open_document(uri)
        if doc is None:
            return None
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
        if result is None:
            return None
        at = [f for f in result.findings if _covers(f.span, row, column)]
        if not at:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value=hover_markdown(at)),
                           range=TextIndex(result.text).visible_range(at[0].span, codec))

    return server


async def _resolve_fix_all(server: InitlintServer, doc: actions.Document,
                           style: actions.EditStyle) -> types.CodeAction:
    path = file_path(doc.uri)
    buffers = server.open_buffers(doc.uri)
    after = await server.in_thread(server.linter.fix_all, path, doc.uri, doc.text, buffers)
    edits = actions.whole_edit(doc.text, after, style.codec)
    action = actions.fix_all_action(doc)
    action.edit = actions.workspace_edit(doc, edits, style)
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
