"""The JSON-RPC protocol with two things pygls lacks: a request whose params do not
deserialize is answered (``InvalidParams``), so a client never waits forever on it; and
``initialize`` advertises no ``executeCommandProvider`` when the server has no commands
(pygls always sends one, empty, which clients list as a feature that does nothing)."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)


class AnsweringProtocol(LanguageServerProtocol):
    """pygls' protocol; a malformed request gets its error response before pygls drops it."""

    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "method" in data and data.get("id") is not None:
                try:
                    self._send_response(data["id"], error=exc.to_response_error())
                except Exception:  # the connection may be gone: nothing more to do
                    log.exception("could not answer a malformed request")
            raise

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams
                       ) -> Generator[Any, Any, types.InitializeResult]:
        result = yield from super().lsp_initialize(params)
        commands = result.capabilities.execute_command_provider
        if commands is not None and not commands.commands:
            result.capabilities.execute_command_provider = None
        return result
