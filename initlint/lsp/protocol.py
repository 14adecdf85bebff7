"""The JSON-RPC protocol with one guarantee pygls lacks: a request whose params do not
deserialize is answered (``InvalidParams``), so a client never waits forever on it."""

from __future__ import annotations

import logging
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol

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
