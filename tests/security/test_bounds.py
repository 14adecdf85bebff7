"""Bounded on any input: cost linear in a file's size, workers capped, Ctrl-C is 130, a bad
config is one line (exit 2), a malformed editor request gets an answer."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from initlint.core.text import split_lines
from initlint.engine.lint import default_jobs, worker_count

from .hostile import MODEL, model, run_cli


def test_worker_count_is_capped_by_cores_and_files() -> None:
    assert worker_count(100_000, 10_000) == default_jobs()
    assert worker_count(8, 1) == 1
    assert worker_count(-5, 100) == 1 and worker_count(0, 100) == 1


def test_jobs_100000_runs(tmp_path: Path) -> None:
    for i in range(20):
        model(tmp_path, f"m{i}.py")
    result = run_cli(["-j", "100000", "--no-cache", "--output-format", "concise", "."],
                     tmp_path)
    assert result.returncode == 1 and result.stdout.count(b"INI001") == 20


def test_lines_are_split_once_per_text() -> None:
    """Rules and reporters ask for a file's lines once per finding: the answer is shared,
    not recomputed (10,000 findings in a 430 KB file took 310 s when it was)."""
    text = MODEL * 3
    assert split_lines(text) is split_lines(text)


def test_many_findings_in_one_file(tmp_path: Path) -> None:
    body = "".join(f"        nn.init.xavier_uniform(self.w{i})\n" for i in range(3000))
    model(tmp_path, "big.py", MODEL + "\n\nclass Big(nn.Module):\n    def __init__(self):\n"
          "        super().__init__()\n" + body)
    result = run_cli(["--no-cache", "."], tmp_path, timeout=300)
    assert result.stdout.count(b"INI001 [error]") == 3001


@pytest.mark.parametrize("source", [
    "x = " + "+".join(["1"] * 200_000) + "\n",  # RecursionError in ast.parse
    "x = " + "[" * 150 + "]" * 150 + "\n",
    "s = '" + "a" * 2_000_000 + "'\n",  # one 2 MB line
], ids=["long-chain", "deep-brackets", "long-line"])
def test_pathological_sources_are_ini000_or_fine(tmp_path: Path, source: str) -> None:
    model(tmp_path, "odd.py", "import torch\n" + source)
    model(tmp_path)
    result = run_cli(["--no-cache", "--output-format", "concise", "."], tmp_path, timeout=300)
    assert result.returncode == 1 and b"model.py:8:17: INI001" in result.stdout
    assert b"internal error" not in result.stdout + result.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    for i in range(400):
        model(tmp_path / f"p{i % 20}", f"m{i}.py", MODEL * 20)
    proc = subprocess.Popen([sys.executable, "-m", "initlint", "--no-cache", "-j", "1",
                             "."], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(1.5)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be interrupted")
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and b"interrupted" in err


@pytest.mark.parametrize("toml", [
    "tool = 5", "[tool]\ninitlint = 5", "[tool.initlint]\nselect = 5",
    "[tool.initlint]\nper-file-ignores = 5", "[tool.initlint]\nexclude = 'x'",
    "[tool.initlint]\nmin-depth = '4'", "[tool.initlint]\nruntime = 5",
])
def test_config_type_errors_are_one_line_exit_2(tmp_path: Path, toml: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml + "\n")
    model(tmp_path)
    result = run_cli(["--no-cache", "--config", "pyproject.toml", "."], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initlint: error: pyproject.toml: ")


def _lsp_messages(proc: subprocess.Popen, seconds: float) -> list[dict]:
    buffer, out, end = b"", [], time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            buffer += os.read(proc.stdout.fileno(), 65536)
        while b"\r\n\r\n" in buffer:
            head, rest = buffer.split(b"\r\n\r\n", 1)
            length = int(next(line for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")).split(b":")[1])
            if len(rest) < length:
                break
            out.append(json.loads(rest[:length]))
            buffer = rest[length:]
        if any("id" in m and m.get("id") == 99 for m in out):
            break
    return out


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.skipif(os.name != "posix", reason="select() on pipes")
def test_lsp_answers_requests_with_invalid_params() -> None:
    pytest.importorskip("pygls")
    proc = subprocess.Popen([sys.executable, "-m", "initlint", "lsp"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                 "params": {"processId": None, "rootUri": None,
                                            "capabilities": {}}}))
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover",
                                 "params": {"position": {"line": -1, "character": "a"}}}))
        proc.stdin.flush()
        answers = [m for m in _lsp_messages(proc, 60) if m.get("id") == 99]
    finally:
        proc.kill()
        proc.wait()
    assert answers and answers[0]["error"]["code"] == -32602


def test_a_deeply_nested_pyproject_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.initlint]\nselect = " + "[" * 100_000 + "]" * 100_000 + "\n")
    model(tmp_path)
    result = run_cli(["--no-cache", "."], tmp_path)
    assert result.returncode == 2 and b"nested too deeply" in result.stderr
    assert b"internal error" not in result.stderr


def test_a_deeply_nested_notebook_is_one_ini000(tmp_path: Path) -> None:
    (tmp_path / "deep.ipynb").write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    model(tmp_path)
    result = run_cli(["--no-cache", "--output-format", "concise", "."], tmp_path)
    assert b"deep.ipynb:1:1: INI000" in result.stdout and result.stdout.count(b"INI001") == 1
