"""Run one runtime job in a child process, bounded in time and memory, and say what
happened: the child's JSON result, or why there is none (it exited, was killed, hung, used
too much memory, forked).

Children come from a ``forkserver`` that imports torch once (a fork of a process that has
run torch's thread pools can deadlock; the server never runs any). Nothing the child sends
is unpickled: results are JSON, read with a size cap.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import popen_forkserver, spawn
from multiprocessing.context import ForkServerProcess
from typing import Any

from initlint.runtime.inputs import available_memory

#: The most a child may send back (a ResNet-152's per-call numbers are ~1 MB).
MAX_RESULT = 64 << 20
#: How much of the child's captured output is kept (its last bytes).
OUTPUT_TAIL = 4096
POLL = 0.05
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
WHERE = {"start": "while starting", "import": "while importing its file",
         "meta": "in its constructor (on meta)", "build": "in its constructor",
         "input": "while trying inputs", "forward": "in forward/backward"}


@dataclass(frozen=True)
class Outcome:
    """What a child left: its result (None when it sent none) and why not."""

    result: dict[str, Any] | None
    reason: str  # "" when the child finished normally
    output: str  # the tail of its captured stdout/stderr, decoded


_CONTEXT: list[Any] = []


class _Popen(popen_forkserver.Popen):
    """A fork-server child that does not re-run the parent's ``__main__``: multiprocessing
    would import the calling script again in every child (slow, and it runs the script)."""

    def _launch(self, process_obj: Any) -> None:
        real = spawn.get_preparation_data

        def without_main(name: str) -> dict[str, Any]:
            data = real(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        spawn.get_preparation_data = without_main
        try:
            super()._launch(process_obj)  # type: ignore[misc]  # typeshed omits _launch
        finally:
            spawn.get_preparation_data = real


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:  # noqa: N802 - multiprocessing's name
        return _Popen(process_obj)


def _become_subreaper() -> None:
    """Linux: processes a model starts in a new session (``start_new_session=True``, a
    double fork) are orphaned when the child is killed; as a subreaper, initlint becomes
    their parent instead of init, so :func:`_sweep` can find and end them."""
    if not os.path.exists("/proc/self/stat"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _context():
    """One fork server per initlint process, preloaded with torch and the child code."""
    if not _CONTEXT:
        _become_subreaper()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["initlint.runtime.child_entry",
                                        "initlint.runtime.child"])
        _CONTEXT.append(context)
    return _CONTEXT[0]


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _processes() -> Iterator[tuple[int, str, int, int]]:
    """(pid, state, parent pid, process group) of every process /proc shows."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            yield int(entry), *stat


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of one process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            # after the command name (which may hold spaces and parentheses)
            fields = handle.read().rpartition(")")[2].split()
        return fields[0], int(fields[1]), int(fields[2])
    except (OSError, ValueError, IndexError):
        return None


def _parents() -> dict[int, int]:
    """pid → parent pid of every live (not zombie) process /proc shows."""
    return {pid: parent for pid, state, parent, _ in _processes() if state != "Z"}


def _descendants(pid: int) -> list[int]:
    """The live processes below ``pid``, whatever session or group they moved to."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], list(children.get(pid, ()))
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, ())
    return out


def _children() -> set[int]:
    """This process's live children (the fork server, its resource tracker, and orphans a
    killed child left, adopted because this process is a subreaper)."""
    me = os.getpid()
    return {pid for pid, parent in _parents().items() if parent == me}


def _end(pids: list[int]) -> None:
    """SIGKILL each process and its group (a session leader took its own group along)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _sweep(known: set[int]) -> None:
    """End what the job left as this process's children (orphans adopted as subreaper, not
    ``known``) and reap them, so none outlives the run or stays a zombie."""
    left = sorted(_children() - known)
    _end(left)
    for pid in left:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)


def _tree_rss(pid: int) -> int:
    """The memory of the child and of every process below it: a constructor that has a
    subprocess allocate is held to the same budget as one that allocates itself."""
    return _rss(pid) + sum(_rss(below) for below in _descendants(pid))


def _resume(known: set[int]) -> bool:
    """SIGCONT the fork server (and its resource tracker): a model that stopped its parent
    (``os.kill(os.getppid(), SIGSTOP)``) must not block every model after it. Says whether
    one was stopped."""
    stopped = False
    for pid in known:
        stat = _stat(pid)
        stopped = stopped or (stat is not None and stat[0] in ("T", "t"))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)
    return stopped


def _group_members(group: int) -> list[int]:
    """Other live (not zombie) processes of the child's process group (what the model
    started)."""
    return [pid for pid, state, _, pgrp in _processes()
            if pgrp == group and pid != group and state != "Z"]


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - OUTPUT_TAIL))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _death(exitcode: int | None, phase: str) -> str:
    where = WHERE.get(phase, "")
    if exitcode is None:
        return f"it stopped responding {where}"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"it was killed by {name} {where} (a crash in native code?)"
    return (f"it ended the process {where} (exit status {exitcode}: os._exit or "
            "sys.exit in the model's code?) before any result")


def run_job(job: str, payload: dict[str, Any], timeout: float, memory: float = 0.0) -> Outcome:
    """Run ``child.JOBS[job](payload)`` in a child; never raises for the child's failures."""
    context = _context()
    from initlint.runtime import child_entry

    # the model's share: the budget (half the free memory unless set), with room for the
    # allocator; the child's own baseline (torch's libraries) is measured and added
    limit = max(1.5 * memory, 1e9) if memory else 0.8 * available_memory()
    with tempfile.TemporaryDirectory(prefix="initlint-runtime-") as scratch:
        capture = os.path.join(scratch, "output")
        reader, writer = context.Pipe(duplex=False)
        process = _Process(target=child_entry.main, args=(job, payload, writer, capture),
                           daemon=True)
        process.start()
        known = _children()  # the fork server, its resource tracker: not the job's
        writer.close()
        try:
            result, reason = _wait(process, reader, timeout, limit)
        finally:
            _kill_group(process)
            _sweep(known)
            stopped = _resume(known)
            reader.close()
        if stopped and not reason:
            result, reason = None, ("it stopped a process of initlint's (SIGSTOP to its "
                                    "parent); initlint only measures models that leave other "
                                    "processes alone")
        if result is not None and result.get("forked"):
            result, reason = (None, "it started another process (os.fork) while being built "
                                   "or run; initlint only measures models that stay in one")
        output = _tail(capture)
    return Outcome(None if result is None else result.get("result"), reason, output)


def _wait(process: Any, reader: Any, timeout: float, limit: float) -> tuple[dict | None, str]:
    deadline = time.monotonic() + timeout
    phase = "start"
    baseline = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, f"it did not finish within {timeout:g} s (stuck {WHERE[phase]}?)"
        ready = reader.poll(min(POLL, remaining))
        if ready:
            try:
                message = json.loads(reader.recv_bytes(MAX_RESULT))
            except EOFError:
                process.join(1)
                return None, _death(process.exitcode, phase)
            except (OSError, ValueError) as exc:
                return None, f"it sent an unreadable result ({type(exc).__name__})"
            if not isinstance(message, dict):
                return None, "it sent an unreadable result"
            if "result" in message:
                if _group_members(process.pid) or _descendants(process.pid):
                    return None, ("it left other processes running (it forks or starts "
                                  "subprocesses); initlint only measures models that stay "
                                  "in one process")
                return message, ""
            if message.get("phase") in WHERE:
                phase = message["phase"]
                baseline = baseline or _rss(process.pid)
            continue
        if not process.is_alive():
            if reader.poll(0):
                continue  # read what it sent before it went
            return None, _death(process.exitcode, phase)
        if _tree_rss(process.pid) > baseline + limit:
            return None, (f"it used more than {limit / 1e9:.1f} GB of memory {WHERE[phase]}; "
                          "give it a smaller input or set memory-gb under "
                          "[tool.initlint.runtime]")


def _kill_group(process: Any) -> None:
    """The child, its group, and everything below it that left the group."""
    if process.pid is not None:
        _end(_descendants(process.pid))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.kill()
    process.join(5)
    with contextlib.suppress(Exception):
        process.close()
