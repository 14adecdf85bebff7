"""Runtime children that try to outlive their bounds: each model is one `not-run` line, the
static findings stay, and no process of the run is left when initlint exits."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from .hostile import run_cli

pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

MODELS = """\
import subprocess, sys
import torch.nn as nn


class SpawnsDaemon(nn.Module):
    \"\"\"A data-loader server or a tensorboard launcher: a helper in its own session.\"\"\"

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.xavier_uniform(self.fc.weight)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "MARKER"],
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def forward(self, x):
        return self.fc(x)


class InitNeverReturns(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        while True:
            pass

    def forward(self, x):
        return self.fc(x)
"""


def _alive_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def test_helpers_in_a_new_session_are_gone_and_hangs_are_bounded(tmp_path: Path) -> None:
    marker = f"initlint-escape-{uuid.uuid4().hex}"
    (tmp_path / "models.py").write_text(MODELS.replace("MARKER", marker))
    (tmp_path / "pyproject.toml").write_text("[tool.initlint.runtime]\ntimeout = 4\n")
    begun = time.monotonic()
    result = run_cli(["--no-cache", "--runtime", "--output-format", "concise", "models.py"],
                     tmp_path, timeout=300)
    seconds = time.monotonic() - begun
    leftovers = _alive_with(marker)
    for pid in leftovers:  # the test's own cleanup, so a failure leaves nothing behind
        os.kill(pid, 9)
    err = result.stderr.decode()
    assert leftovers == [], "a model's helper outlived the run"
    assert "skipped models.SpawnsDaemon: it left other processes running" in err, err
    assert "skipped models.InitNeverReturns: it did not finish within 4 s" in err, err
    assert result.stdout.count(b"INI001") == 1 and result.returncode == 1
    assert seconds < 120


BOUNDS = """\
import os, signal, subprocess, sys
import torch.nn as nn


class StopsTheServer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        os.kill(os.getppid(), signal.SIGSTOP)  # its parent: initlint's fork server

    def forward(self, x):
        return self.fc(x)


class HelperAllocates(nn.Module):
    \"\"\"2 GB in a subprocess, 64 MB at a time, held: the child itself stays small.\"\"\"

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        subprocess.run([sys.executable, "-c", "import time\\nheld = []\\nfor _ in range(32):\\n"
                        "    held.append(bytearray(64 << 20)); time.sleep(0.05)\\n"
                        "time.sleep(60)", "MARKER"])

    def forward(self, x):
        return self.fc(x)


class Fine(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.xavier_uniform(self.fc.weight)

    def forward(self, x):
        return self.fc(x)
"""


def test_a_stopped_fork_server_and_a_helpers_memory_are_bounded(tmp_path: Path) -> None:
    marker = f"initlint-escape-{uuid.uuid4().hex}"
    (tmp_path / "models.py").write_text(BOUNDS.replace("MARKER", marker))
    (tmp_path / "pyproject.toml").write_text(
        "[tool.initlint.runtime]\ntimeout = 20\nmemory-gb = 0.5\n")
    try:
        result = run_cli(["--no-cache", "--runtime", "--output-format", "concise",
                          "models.py"], tmp_path, timeout=150)
    finally:
        leftovers = _alive_with(marker)
        for pid in leftovers:
            os.kill(pid, 9)
    err = result.stderr.decode()
    assert "skipped models.StopsTheServer: it stopped a process of initlint's" in err, err
    assert "skipped models.HelperAllocates: it used more than 1.0 GB of memory" in err, err
    assert "models.Fine" not in err  # built and measured after both
    assert result.stdout.count(b"INI001") == 1 and leftovers == []
