"""How fast does `initlint lsp` re-publish diagnostics after an edit?

Starts the real server over stdio with a pygls client (VS Code's capabilities: push
diagnostics, utf-16), opens a generated model file inside a package of generated neighbour
files, then times ``didChange`` → ``publishDiagnostics`` for that version: with the debounce
off (the re-lint itself, what the targets are about) and with the default adaptive debounce
(what a typing user sees). Also times the same lint in process, without the protocol.

Targets (issue 5): 3,000-line file < 0.5 s, 300-line file < 80 ms.

    python bench/bench_lsp.py [--rounds 15] [--neighbours 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pytest_lsp import client_capabilities

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_models import model_file

SERVER = [sys.executable, "-m", "initlint", "lsp"]


def make_package(root: Path, neighbours: int) -> Path:
    package = root / "zoo"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "__init__.py").write_text("")
    for i in range(neighbours):
        (package / "models" / f"part{i}.py").write_text(model_file(300))
    return package / "models"


class Timer:
    """A client that records when each document version's diagnostics arrive."""

    def __init__(self) -> None:
        self.client = LanguageClient("initlint-bench", "1")
        self.arrived: dict[tuple[str, int | None], asyncio.Future] = {}
        self.counts: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.counts[params.uri] = len(params.diagnostics)
            future = self.arrived.get((params.uri, params.version))
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

    def expect(self, uri: str, version: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.arrived[(uri, version)] = future
        return future

    async def start(self, root: Path, debounce_ms: float | None) -> None:
        await self.client.start_io(*SERVER)
        options = {} if debounce_ms is None else {"debounceMs": debounce_ms}
        await self.client.initialize_async(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri(),
            initialization_options=options))
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def edit_line(text: str) -> int:
    """The 0-based line of the first `dim: int = NN` default: the edit toggles its digit."""
    for number, line in enumerate(text.splitlines()):
        if "dim: int = " in line:
            return number
    raise ValueError("no dim default in the generated file")


async def measure(path: Path, text: str, debounce_ms: float | None, rounds: int
                  ) -> tuple[float, list[float], int]:
    timer = Timer()
    await timer.start(path.parent.parent.parent, debounce_ms)
    uri = path.as_uri()
    opened = timer.expect(uri, 1)
    start = time.perf_counter()
    timer.client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=text)))
    first = await opened - start
    line = edit_line(text)
    column = text.splitlines()[line].index("dim: int = ") + len("dim: int = ")
    times = []
    for version in range(2, rounds + 2):
        await asyncio.sleep(0.35)  # a pause in typing: nothing pending
        digit = "9" if version % 2 else "1"  # an incremental one-character edit, as VS Code sends
        rng = types.Range(start=types.Position(line=line, character=column),
                          end=types.Position(line=line, character=column + 1))
        done = timer.expect(uri, version)
        start = time.perf_counter()
        timer.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=rng, text=digit)]))
        times.append(await done - start)
    findings = timer.counts.get(uri, 0)
    await timer.stop()
    return first, times, findings


def in_process(path: Path, text: str, rounds: int) -> list[float]:
    from initlint.lsp.heap import collector_paused
    from initlint.lsp.workspace import Linter

    linter = Linter()
    linter.lint(str(path), path.as_uri(), text, {})  # warm the neighbour cache
    line = edit_line(text)
    lines = text.split("\n")
    column = lines[line].index("dim: int = ") + len("dim: int = ")
    times = []
    for version in range(rounds):  # the same one-character edits as over stdio
        digit = "9" if version % 2 else "1"
        lines[line] = lines[line][:column] + digit + lines[line][column + 1:]
        edited = "\n".join(lines)
        start = time.perf_counter()
        with collector_paused():  # as the server lints
            linter.lint(str(path), path.as_uri(), edited, {})
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"min {min(times) * 1000:6.1f}   median {statistics.median(times) * 1000:6.1f}   "
            f"p90 {p90 * 1000:6.1f}   max {max(times) * 1000:6.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--neighbours", type=int, default=20,
                        help="300-line neighbour files in the same package")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = make_package(Path(tmp), args.neighbours)
        print(f"package: {args.neighbours} neighbour files of ~300 lines; "
              f"{args.rounds} one-character edits per case")
        for lines, target in ((300, 0.080), (3000, 0.5)):
            text = model_file(lines)
            path = models / f"model_{lines}.py"
            path.write_text(text)
            count = text.count("\n")
            local = in_process(path, text, args.rounds)
            print(f"\n{count}-line file (target < {target * 1000:.0f} ms)")
            print(f"  lint in process           {summary(local)}")
            for label, debounce in (("stdio, no debounce", 0), ("stdio, default debounce",
                                                                  None)):
                first, times, findings = await measure(path, text, debounce, args.rounds)
                verdict = "ok" if statistics.median(times) < target else "OVER"
                print(f"  {label:<25} {summary(times)}   [{verdict}]")
            print(f"  open → first diagnostics  {first * 1000:7.1f} ms (cold: parses the "
                  f"neighbours); {findings} diagnostics")


if __name__ == "__main__":
    asyncio.run(main())
