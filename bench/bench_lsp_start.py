"""Language-server start-up, initlint beside ruff: ``initialize`` and first diagnostics.

Both servers are started the same way, by one raw JSON-RPC client over stdio (no client
library between the pipes and the clock), on the same copy of a package (default: timm from
the corpus, 304 files) made a project with a ``pyproject.toml`` and ``git init``:

- ``initialize``: from starting the process to the ``initialize`` response (what an editor
  waits for before it sends anything else), and the CPU time the server used until then
  (best of the rounds; it moves little with the machine's load, where wall time does);
- first diagnostics: from starting the process to the first ``publishDiagnostics`` for the
  file opened right after ``initialized`` (the client pushes nothing else; VS Code's
  capabilities for diagnostics: push, no pull).

Server requests (``workspace/configuration``, ``client/registerCapability``, progress) are
answered at once, with no settings. initlint runs with an empty cache (cold: the project's
facts parsed for context) and a warm one (a first session filled it); ruff keeps no cache
for its server. Best and median of ``--rounds`` each, with the machine's load average.

    python bench/bench_lsp_start.py [--package /work/corpus/site/timm] [--rounds 5]
        [--baseline /path/to/another/initlint/checkout] [--warm-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE = Path("/work/corpus/site/timm")
OPEN = "models/resnet.py"


@dataclass(frozen=True)
class Start:
    initialize: float  # seconds from spawn to the initialize response
    initialize_cpu: float  # CPU seconds the server had used by then (load hardly moves it)
    diagnostics: float  # seconds from spawn to the first diagnostics of the opened file
    count: int  # diagnostics in that first publish


class Pipe:
    """A bare JSON-RPC client on a server's stdin/stdout."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd=cwd)
        self.next_id = 0

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: object) -> int:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.next_id

    def read(self) -> dict:
        assert self.proc.stdout is not None
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def answer(self, message: dict) -> None:
        """Answer a server request as a client with no settings would."""
        result: object = None
        if message["method"] == "workspace/configuration":
            result = [None for _ in message["params"]["items"]]
        self.send({"id": message["id"], "result": result})

    def close(self) -> None:
        try:
            ident = self.request("shutdown", None)
            while True:
                message = self.read()
                if message.get("id") == ident and "method" not in message:
                    break
                if "method" in message and "id" in message:
                    self.answer(message)
            self.send({"method": "exit"})
            self.proc.wait(10)
        except (EOFError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {"publishDiagnostics": {"relatedInformation": True},
                     "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {
                         "valueSet": ["quickfix", "source.fixAll"]}}}},
    "workspace": {"configuration": True, "workspaceFolders": True,
                  "didChangeConfiguration": {"dynamicRegistration": True}},
    "window": {"workDoneProgress": True},
}


def start_once(command: list[str], env: dict[str, str], project: Path, path: Path) -> Start:
    begin = time.perf_counter()
    pipe = Pipe(command, env, project)
    try:
        ident = pipe.request("initialize", {
            "processId": os.getpid(), "rootUri": project.as_uri(),
            "workspaceFolders": [{"uri": project.as_uri(), "name": project.name}],
            "capabilities": CAPABILITIES, "initializationOptions": {}})
        while True:
            message = pipe.read()
            if message.get("id") == ident and "method" not in message:
                break
            if "method" in message and "id" in message:
                pipe.answer(message)
        initialized = time.perf_counter() - begin
        cpu = cpu_seconds(pipe.proc.pid)  # the server waits for `initialized`: idle now
        pipe.send({"method": "initialized", "params": {}})
        uri = path.as_uri()
        pipe.send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": path.read_text()}}})
        while True:
            message = pipe.read()
            if "id" in message and "method" in message:
                pipe.answer(message)
            elif (message.get("method") == "textDocument/publishDiagnostics"
                  and message["params"]["uri"] == uri):
                return Start(initialized, cpu, time.perf_counter() - begin,
                             len(message["params"]["diagnostics"]))
    finally:
        pipe.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc; 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_project(package: Path, into: Path) -> Path:
    project = into / package.name
    shutil.copytree(package, project / package.name,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (project / "pyproject.toml").write_text(f'[project]\nname = "{package.name}"\n')
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


def summary(label: str, starts: list[Start]) -> str:
    def ms(values: list[float]) -> str:
        best, median = min(values) * 1000, statistics.median(values) * 1000
        return f"best {best:6.0f} ms, median {median:6.0f} ms"

    cpu = min(s.initialize_cpu for s in starts) * 1000
    return (f"{label:<30} initialize {ms([s.initialize for s in starts])} (CPU {cpu:4.0f} "
            f"ms)  |  first diagnostics {ms([s.diagnostics for s in starts])}  "
            f"({starts[0].count} shown)")


@dataclass(frozen=True)
class Server:
    label: str
    command: list[str]
    root: Path  # the initlint checkout it runs from (PYTHONPATH)
    cache: str  # "cold": an empty cache each round; "warm": one filled before; "": none


def servers(args: argparse.Namespace) -> list[Server]:
    out = []
    for name, root in [("initlint", ROOT), *(("baseline", args.baseline),) * bool(args.baseline)]:
        if not args.warm_only:
            out.append(Server(f"{name} (cold cache)", [sys.executable, "-m", "initlint", "lsp"],
                              root, "cold"))
        out.append(Server(f"{name} (warm cache)", [sys.executable, "-m", "initlint", "lsp"],
                          root, "warm"))
    out.append(Server("python -m initlint.lsp (warm)", [sys.executable, "-m", "initlint.lsp"],
                      ROOT, "warm"))
    if args.ruff:
        out.append(Server("ruff server", [args.ruff, "server"], ROOT, ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE)
    parser.add_argument("--open", default=OPEN, help="the file to open, in the package")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ruff", default=shutil.which("ruff"), help="ruff's executable")
    parser.add_argument("--baseline", type=Path, help="another initlint checkout to compare "
                        "(e.g. the main branch's), measured in the same rounds")
    parser.add_argument("--warm-only", action="store_true",
                        help="leave out the empty-cache runs (each parses the whole package)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lsp-start-") as tmp:
        project = make_project(args.package, Path(tmp))
        path = project / args.package.name / args.open
        chosen = servers(args)
        base = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

        def env(server: Server, round_: int) -> dict[str, str]:
            cache = {"cold": f"cold-{server.label}-{round_}", "warm": f"warm-{server.root}"}
            return {**base, "PYTHONPATH": str(server.root),
                    "INITLINT_CACHE_DIR": str(Path(tmp) / cache.get(server.cache, "none"))}

        for server in chosen:
            if server.cache == "warm":  # a first session fills the cache
                start_once(server.command, env(server, -1), project, path)
        times: dict[str, list[Start]] = {server.label: [] for server in chosen}
        for round_ in range(args.rounds):  # interleaved: load changes hit every server alike
            for server in chosen:
                times[server.label].append(start_once(server.command, env(server, round_),
                                                      project, path))
        load = os.getloadavg()
        print(f"{args.package.name}: {sum(1 for _ in project.rglob('*.py'))} files, opened "
              f"{args.open}; {args.rounds} rounds; load average after {load[0]:.2f} "
              f"{load[1]:.2f} {load[2]:.2f}")
        for server in chosen:
            print(summary(server.label, times[server.label]))
        if args.ruff:
            print(subprocess.run([args.ruff, "--version"], capture_output=True,
                                 text=True).stdout.strip())


if __name__ == "__main__":
    main()
