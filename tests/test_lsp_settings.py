"""The editor's settings and start-up (issue 22, item 6), with a real pytest-lsp client: the
server asks for the ``initlint`` section (``workspace/configuration``) and lints with it over
``[tool.initlint]`` as ruff's server does with its own, again when the client says the
settings changed; clients that cannot be asked pass them in ``initializationOptions``.
``initialize`` is answered without loading the engine, and advertises no empty
``executeCommandProvider``."""
# ruff: noqa: F811  (``client``, the fixture imported from test_lsp, is each test's argument)

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from test_lsp import (  # noqa: F401  (``client`` is the pytest-lsp fixture)
    accept_registrations,
    client,
    code_actions,
    codes_in,
    line_range,
    open_doc,
    pushed,
)

# INI001 (the deprecated alias, a safe fix) and INI005 (an unguarded bias, a safe fix).
MODEL = """\
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.hidden = nn.Linear(width, width)
        self.out = nn.Linear(width, classes, bias=False)
        nn.init.kaiming_uniform(self.hidden.weight, nonlinearity="relu")
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        return self.out(self.hidden(x).relu())
"""


async def start(client: LanguageClient, root: Path, settings: dict | None = None,
                spec: str = "visual-studio-code", options: dict | None = None
                ) -> types.InitializeResult:
    """Start a session whose client answers ``workspace/configuration`` with ``settings``."""
    if settings is not None:
        client.set_configuration(settings, section="initlint")
    return await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(spec), root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options={"debounceMs": 20, **(options or {})}))


def project(root: Path, table: str = "") -> Path:
    (root / "pyproject.toml").write_text(f"[project]\nname = 'cls'\n\n[tool.initlint]\n{table}")
    return root / "model.py"


@pytest.mark.parametrize(("table", "settings", "shown"), [
    # the editor's ignore adds to the file's
    ('ignore = ["INI005"]\n', {"lint": {"ignore": ["INI001"]}}, []),
    # the editor's select starts a new selection: the file's ignore goes with it
    ('ignore = ["INI005"]\n', {"lint": {"select": ["INI005"]}}, ["INI005"]),
    # filesystemFirst: the file's keys win (its ignore), the editor's fill what it leaves
    # unset (the select)
    ('ignore = ["INI005"]\n', {"lint": {"select": ["INI005"], "ignore": []},
                               "configurationPreference": "filesystemFirst"}, []),
    # editorOnly: the file is not read
    ('ignore = ["INI005"]\n', {"configurationPreference": "editorOnly"},
     ["INI001", "INI005"]),
])
async def test_settings_from_the_editor_layer_over_the_file(client, tmp_path, table, settings,
                                                            shown):
    await start(client, tmp_path, settings)
    uri = open_doc(client, project(tmp_path, table), MODEL)
    assert codes_in(await pushed(client, uri)) == shown
    assert client.messages == []


async def test_a_settings_change_relints_with_the_new_settings(client, tmp_path):
    await start(client, tmp_path, {})
    uri = open_doc(client, project(tmp_path), MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI001", "INI005"]
    assert [r.method for r in client.registrations] == [
        types.WORKSPACE_DID_CHANGE_CONFIGURATION]  # VS Code sends changes once registered
    client.set_configuration({"lint": {"extendSelect": [], "ignore": ["INI001"]}},
                             section="initlint")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None))
    assert codes_in(await pushed(client, uri)) == ["INI005"]


async def test_clients_that_cannot_be_asked_pass_settings_at_start(client, tmp_path):
    await start(client, tmp_path, spec="neovim@v0.7.0",  # no workspace/configuration
                options={"settings": {"lint": {"ignore": ["INI005"]}}})
    uri = open_doc(client, project(tmp_path), MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI001"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"initlint": {"lint": {"ignore": ["INI001"]}}}))
    assert codes_in(await pushed(client, uri)) == ["INI005"]


async def test_settings_choose_the_code_actions(client, tmp_path):
    await start(client, tmp_path, {"fixAll": False,
                                   "codeAction": {"disableRuleComment": {"enable": False}}})
    uri = open_doc(client, project(tmp_path), MODEL)
    await pushed(client, uri)
    titles = [a.title for a in await code_actions(client, uri, line_range(8))]
    assert titles == ["initlint (INI001): Use `kaiming_uniform_` (same init, no deprecation "
                      "warning)"]


async def test_lint_enable_false_shows_nothing(client, tmp_path):
    await start(client, tmp_path, {"lint": {"enable": False}})
    uri = open_doc(client, project(tmp_path), MODEL)
    assert await pushed(client, uri) == []


async def test_bad_settings_are_reported_once_and_left_out(client, tmp_path):
    await start(client, tmp_path, {"lint": {"select": ["INI777"]}, "fixAll": "yes"})
    uri = open_doc(client, project(tmp_path), MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI001", "INI005"]  # the file's, default
    (error,) = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert "`fixAll` must be true or false" in error and "INI777" in error


# --- start-up ------------------------------------------------------------------------

ENGINE = ("initlint.checks", "initlint.engine", "initlint.semantic", "initlint.extract",
          "initlint.fixes", "initlint.cache")


def test_what_answers_initialize_loads_no_engine():
    """Everything the server imports before it can answer ``initialize``: no rule, no
    linker, no cache (they load on the lint thread afterwards)."""
    code = ("import sys, initlint.lsp.server; "
            f"print(sorted(m for m in sys.modules if m.startswith({ENGINE!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m",
                                                              "initlint.lsp"]))
async def bare(lsp_client: LanguageClient):
    lsp_client.registrations = accept_registrations(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def test_the_server_runs_without_the_command_line_and_has_no_empty_commands(
        bare: LanguageClient, tmp_path):  # python -m initlint.lsp
    result = await start(bare, tmp_path)
    assert result.capabilities.execute_command_provider is None
    assert result.capabilities.code_action_provider.resolve_provider
    uri = open_doc(bare, project(tmp_path), MODEL)
    assert codes_in(await pushed(bare, uri)) == ["INI001", "INI005"]


def test_initlint_lsp_serves_before_the_command_line_loads():
    """``initlint lsp`` (the console script) reaches the server without importing the
    commands' modules: what runs in place of the server lists what was imported."""
    code = ("import sys, initlint.lsp as lsp; sys.argv = ['initlint', 'lsp', '--stdio']; "
            "lsp.main = lambda: print(sorted(m for m in sys.modules if m.startswith("
            f"{(*ENGINE, 'initlint.cli.main', 'click')!r}))); "
            "from initlint.cli import entry; entry()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
