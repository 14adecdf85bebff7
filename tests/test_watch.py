"""``--watch``: a real process lints, then lints again when a file really changes on disk
(watchfiles); every wait is bounded, and the process is stopped at the end."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("watchfiles")

CLEAN = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\n"
BROKEN = "import torch.nn as nn\n\nnn.init.xavier_uniform(nn.Linear(2, 2).weight)\n"
WAIT = 60  # seconds for one report at most (a loaded 2-core CI machine)

#: The installed entry point, as the console script calls it.
ENTRY = "import sys; from initlint.cli.main import main; sys.exit(main())"


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _until(lines: queue.Queue, needle: str) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"no {needle!r} within {WAIT} s; got {seen}")


def test_watch_lints_again_after_a_change(tmp_path: Path):
    model = tmp_path / "model.py"
    model.write_text(CLEAN, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "--watch", "--no-cache",
                             "--output-format", "concise", "."], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        first = _until(lines, "watching for changes")
        assert "All checks passed!\n" in first
        time.sleep(0.5)  # let the watcher settle before the edit
        model.write_text(BROKEN, encoding="utf-8")
        second = _until(lines, "watching for changes")
        assert any(line.startswith("model.py:3:9: INI001 ") for line in second), second
        model.write_text(CLEAN, encoding="utf-8")
        third = _until(lines, "watching for changes")
        assert "All checks passed!\n" in third
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    assert proc.returncode == 0
