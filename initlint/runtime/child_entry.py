"""The child process's first step, importable without torch (the parent names it as the
process target): isolate the process, then hand over to ``child.py``."""

from __future__ import annotations

import json
import os
from typing import Any


def _capture(path: str) -> None:
    """fds 1 and 2 to the capture file, 0 to /dev/null: nothing the model prints, even from
    a thread or a subprocess, reaches initlint's output."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def main(job: str, payload: dict[str, Any], writer: Any, capture: str) -> None:
    """Lead a new process group, capture the output, run the job; never returns."""
    os.setpgid(0, 0)
    _capture(capture)
    try:
        from initlint.runtime.child import run
    except BaseException as exc:
        writer.send_bytes(json.dumps({"result": {"error": f"{type(exc).__name__}: {exc}"},
                                      "forked": False}).encode())
        os._exit(0)
    run(job, payload, writer)
