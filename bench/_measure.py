"""Run a command and measure it: wall time, CPU time of the whole process tree, and peak
memory of the tree (sum of RSS, and of PSS which splits pages shared by forked workers).

Linux /proc only (no psutil needed); elsewhere the memory columns fall back to the largest
single child's max RSS.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    wall: float  # seconds
    cpu: float  # user + system seconds of the command and every child it waited for
    rss_mb: float  # peak of the summed RSS of the process tree
    pss_mb: float  # peak of the summed PSS (0 when /proc has no smaps_rollup)
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        out += [int(c) for c in text.split()]
    return out


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        current = todo.pop()
        seen.append(current)
        todo += _children(current)
    return seen


def _kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.rss = self.pss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            self.rss = max(self.rss, sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in pids))
            self.pss = max(self.pss, sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
            self.stop.wait(self.interval)


def measure(command: list[str], env: dict[str, str] | None = None,
            cwd: str | None = None, timeout: float | None = None) -> Measured:
    """Run ``command`` to completion, sampling its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sampler = _Sampler(process.pid)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        sampler.stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss = sampler.rss / 1024 or after.ru_maxrss / 1024
    return Measured(wall, cpu, rss, sampler.pss / 1024, process.returncode, stdout, stderr)


def best_cpu(repeat: int, action: Callable[[], object]) -> float:
    """The least CPU time of ``repeat`` runs of ``action`` in this process (CPU, not wall:
    the machine is shared)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times)
