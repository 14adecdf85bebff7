"""The language server's context (issue 14, items 3 and 6): it shares the command line's
cache, skips what git ignores, takes each document's nearest config, and re-links only when
an edit changes what the document means. End to end with a real pytest-lsp client where the
protocol matters, on the Linter itself otherwise."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from test_lsp import accept_registrations

from initlint.lsp.workspace import ConfigCache, Linter

#: One cache directory for the server processes of this module and the CLI runs that warm
#: it (files live in per-test directories, so entries never collide).
CACHE = tempfile.mkdtemp(prefix="initlint-lsp-cache-")
SERVER = [sys.executable, "-m", "initlint", "lsp"]

HELPERS = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    """)
USES = textwrap.dedent("""\
    import torch.nn as nn

    from pkg.init_utils import init_weights


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, bias=False)
            self.apply(init_weights)
    """)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER,
                                              server_env={"INITLINT_CACHE_DIR": CACHE}))
async def client(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    yield
    try:
        await asyncio.wait_for(lsp_client.shutdown_session(), 10)
    finally:
        server = lsp_client._server
        if server is not None and server.returncode is None:
            server.kill()


async def open_and_wait(client: LanguageClient, root: Path, path: Path) -> list[str]:
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri(),
        initialization_options={"debounceMs": 0}))
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=path.read_text())))
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return sorted(str(d.code) for d in params.diagnostics)


def reads(client: LanguageClient) -> list[str]:
    return [m.message for m in client.log_messages if "context files read" in m.message]


async def test_the_server_reads_the_facts_the_cli_cached(client, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    root = write(tmp_path / "proj", {"pyproject.toml": "", "pkg/__init__.py": "",
                                     "pkg/init_utils.py": HELPERS, "pkg/models.py": USES,
                                     **{f"pkg/part{i}.py": USES.replace("Head", f"Head{i}")
                                        for i in range(3)}})
    monkeypatch.setenv("INITLINT_CACHE_DIR", CACHE)
    warm = subprocess.run([sys.executable, "-m", "initlint", str(root)], timeout=120,
                          capture_output=True, text=True)  # a fresh process, as the server
    assert warm.returncode == 1, warm.stdout + warm.stderr  # ...and the cache is warm
    path = root / "pkg" / "init_utils.py"
    codes = await open_and_wait(client, root, path)
    assert codes == ["INI005"]  # the Linear built with bias=False is in another file
    assert reads(client) == []  # the findings the CLI kept for this very project state...
    assert any("findings the last run kept" in m.message for m in client.log_messages)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text=HELPERS.replace("m.bias", "m.bias "))]))
    while True:  # ...then its context, linked after an edit: the CLI's facts
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.version == 2:
            break
    assert sorted(str(d.code) for d in params.diagnostics) == ["INI005"]
    (line,) = reads(client)
    assert line.startswith("initlint: 5 context files read: 0 parsed, 4 from the cache, "
                           "1 without model code, in ")


async def test_the_server_skips_gitignored_files(client, tmp_path: Path):
    root = write(tmp_path / "proj", {".gitignore": "generated/\n", "pkg/__init__.py": "",
                                     "pkg/init_utils.py": HELPERS,
                                     "pkg/generated/models.py": USES})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    codes = await open_and_wait(client, root, root / "pkg" / "init_utils.py")
    assert codes == ["INI201"]  # the only caller is ignored: not part of the project


def test_a_nested_pyproject_without_the_table_does_not_hide_the_root(tmp_path: Path):
    write(tmp_path, {"pyproject.toml": '[tool.initlint]\nselect = ["INI005"]\n',
                     "sub/pyproject.toml": '[project]\nname = "sub"\n', "sub/m.py": ""})
    config, error = ConfigCache().for_path(str(tmp_path / "sub" / "m.py"))
    assert (config.select, config.source, error) == (("INI005",), str(tmp_path /
                                                                       "pyproject.toml"), None)


def test_an_edit_that_changes_no_fact_is_not_relinked(tmp_path: Path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/init_utils.py": HELPERS,
                            "pkg/models.py": USES})
    path = str(root / "pkg" / "models.py")
    linter = Linter(use_cache=False)
    first = linter.lint(path, path, USES, {})
    assert linter.relinks == 1
    comment = USES.replace("import torch.nn as nn\n", "import torch.nn as nn  # layers\n")
    assert linter.lint(path, path, comment, {}) == first
    assert linter.relinks == 1  # same facts, same context: the findings stand
    wider = comment.replace("nn.Linear(4, 2, bias=False)", "nn.Linear(8, 2, bias=False)")
    linter.lint(path, path, wider, {})
    assert linter.relinks == 2  # a fact changed: linked and checked again
    noted = "# The heads.\n" + wider
    linter.lint(path, path, noted, {})
    assert linter.relinks == 3  # every row moved
    parses = linter.parses
    reworded = noted.replace("# The heads.", "# The model heads.")
    assert linter.lint(path, path, reworded, {}).findings == linter.lint(path, path, noted,
                                                                           {}).findings
    assert (linter.relinks, linter.parses) == (3, parses)  # comment lines: not even parsed
    helper = str(root / "pkg" / "init_utils.py")
    before = [f.code for f in linter.lint(helper, helper, HELPERS, {}).findings]
    guarded = HELPERS.replace("nn.init.zeros_(m.bias)", "nn.init.zeros_(m.bias)  # noqa: INI005")
    assert guarded != HELPERS
    after = [f.code for f in linter.lint(helper, helper, guarded, {}).findings]
    assert (before, after) == (["INI005"], [])  # a comment on a finding's line counts


def test_lint_uses_the_documents_own_config(tmp_path: Path):
    write(tmp_path, {"a/initlint.toml": 'ignore = ["INI001"]\n',
                     "a/m.py": "import torch.nn as nn\nnn.init.normal(w)\n"})
    path = str(tmp_path / "a" / "m.py")
    assert Linter(use_cache=False).lint(path, path, (tmp_path / "a" / "m.py").read_text(),
                                        {}).findings == ()  # INI001 ignored by a/initlint.toml


async def test_files_saved_in_the_editor_are_kept_for_the_commit_hook(client, tmp_path: Path):
    """Edit two files, save both: the hook's run over them then finds every one's findings
    kept for the state on disk, and links nothing."""
    from initlint.cache.store import Cache
    from initlint.cli.discovery import DiscoveryOptions, resolve_run
    from initlint.engine.lint import _known_findings, _scan
    from initlint.files.walk import Resolver

    root = write(tmp_path / "proj", {"pyproject.toml": "", "pkg/__init__.py": "",
                                     "pkg/init_utils.py": HELPERS, "pkg/models.py": USES})
    await open_and_wait(client, root, root / "pkg" / "init_utils.py")
    edits = {"pkg/init_utils.py": HELPERS + "\n# edited\n", "pkg/models.py": USES + "\n# too\n"}
    for name, text in edits.items():
        uri = (root / name).as_uri()
        if name != "pkg/init_utils.py":
            client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                                     text=(root / name).read_text())))
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    for name, text in edits.items():  # saved one after the other
        (root / name).write_text(text)
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=(root / name).as_uri())))
    named = tuple(str(root / name) for name in edits)
    run = resolve_run(named, Resolver(), DiscoveryOptions(force_exclude=True))
    cache = Cache(CACHE)
    for _ in range(100):  # the server keeps them once it has re-linted both
        kept = _known_findings(cache, _scan(run.files, cache), run.config, run.configs,
                               run.report)
        if kept is not None:
            break
        await asyncio.sleep(0.1)
    assert kept is not None and sorted(f.code for f in kept) == ["INI005"]
