"""A wrongly typed setting anywhere in ``[tool.initlint]`` is the user's error to fix: one
line and exit 2 on the command line (whether or not ``--runtime`` is asked for, as ruff and
mypy reject a bad key of any section), one ``window/showMessage`` in the editor."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from .hostile import MODEL, model, run_cli

BAD = {
    "select-int": "[tool.initlint]\nselect = 5",
    "select-str": '[tool.initlint]\nselect = "x"',
    "select-null-like": "[tool.initlint]\nselect = [5]",
    "min-depth-float": "[tool.initlint]\nmin-depth = 4.5",
    "gitignore-str": '[tool.initlint]\nrespect-gitignore = "no"',
    "runtime-memory-str": '[tool.initlint.runtime]\nmemory-gb = "x"',
    "runtime-timeout-bool": "[tool.initlint.runtime]\ntimeout = true",
    "runtime-seed-str": '[tool.initlint.runtime]\nseed = "1"',
    "runtime-unknown-key": "[tool.initlint.runtime]\nmemroy-gb = 1",
    "runtime-models-list": "[tool.initlint.runtime]\nmodels = [1]",
}


@pytest.mark.parametrize("toml", BAD.values(), ids=BAD.keys())
def test_a_wrongly_typed_setting_is_one_line_exit_2(tmp_path: Path, toml: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml + "\n")
    model(tmp_path)
    result = run_cli(["--no-cache", "."], tmp_path)
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2, result.stdout
    assert len(lines) == 1 and lines[0].startswith("initlint: error: ")
    assert "pyproject.toml" in lines[0] and b"Traceback" not in result.stderr


def test_runtime_settings_named_on_the_command_line_still_count(tmp_path: Path) -> None:
    """``only-named = true`` with the models given by ``--runtime-model`` is valid: the
    static check of the table must not demand models the command line supplies."""
    (tmp_path / "pyproject.toml").write_text("[tool.initlint.runtime]\nonly-named = true\n")
    model(tmp_path)
    result = run_cli(["--no-cache", "--output-format", "concise", "."], tmp_path)
    assert result.returncode == 1 and result.stdout.count(b"INI001") == 1, result.stderr


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m",
                                                               "initlint.cli.main", "lsp"]))
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


async def _diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


@pytest.mark.parametrize("toml", [BAD["select-int"], BAD["runtime-memory-str"]],
                         ids=["select-int", "runtime-memory-str"])
async def test_the_editor_is_shown_the_type_error(client, tmp_path: Path, toml: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml + "\n")
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=tmp_path.as_uri(),
        initialization_options={"debounceMs": 20}))
    uri = (tmp_path / "model.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=MODEL)))
    found = await asyncio.wait_for(_diagnostics(client, uri), 30)
    assert [d.code for d in found] == ["INI001"]  # the defaults still lint the document
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "pyproject.toml" in errors[0].message
