"""An editor buffer is capped like a file on disk: a 12 MB generated document opened first
is one INI000 "larger than", never parsed, and a small document opened after it gets its
diagnostics promptly (the server runs under a 4 GB address-space limit, as the attack did)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from initlint.files.safe_fs import MAX_FILE_BYTES

from .hostile import MODEL

#: The server, with its address space capped at 4 GB where the platform can.
_CAPPED = ("import resource, runpy\n"
           "try:\n"
           "    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
           "except (ValueError, OSError):\n"
           "    pass\n"
           "runpy.run_module('initlint.cli.main', run_name='__main__')\n")


def _generated(size: int) -> str:
    """Valid Python of ``size`` bytes or more: model after model (each with a finding)."""
    count = size // len(MODEL) + 1
    return "".join(MODEL.replace("class Net", f"class Net{i}") for i in range(count))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-c", _CAPPED,
                                                               "lsp"]))
async def client(lsp_client: LanguageClient):
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        """Answered as VS Code answers it (pytest-lsp's client has no handler for it)."""

    yield
    try:
        await asyncio.wait_for(lsp_client.shutdown_session(), 10)
    finally:
        server = lsp_client._server
        if server is not None and server.returncode is None:
            server.kill()


def _open(client: LanguageClient, path: Path, text: str) -> str:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python",
                                             version=1, text=text)))
    return path.as_uri()


async def _published(client: LanguageClient, uris: set[str]) -> dict[str, list]:
    out: dict[str, list] = {}
    while not uris <= set(out):
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        out[params.uri] = list(params.diagnostics)
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="resource limits")
async def test_a_12_mb_document_is_capped_and_the_next_one_is_prompt(
        client: LanguageClient, tmp_path: Path) -> None:
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=tmp_path.as_uri(),
        initialization_options={"debounceMs": 20}))
    huge = _generated(12 * 1024 * 1024)
    assert len(huge.encode()) > MAX_FILE_BYTES
    big = _open(client, tmp_path / "generated.py", huge)
    small = _open(client, tmp_path / "model.py", MODEL)
    found = await asyncio.wait_for(_published(client, {big, small}), 20)
    assert [d.code for d in found[small]] == ["INI001"]
    (only,) = found[big]
    assert only.code == "INI000" and "larger than the 10 MB limit" in only.message
