"""What runs in a child process: list a file's models, or build and measure one.

The parent (``isolate.py``) starts these from a fork server that has imported torch once;
``child_entry.py`` has already isolated the process. Here any fork is noted, and results
go back as JSON over a pipe: the parent reads data, never objects.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from initlint.runtime.loader import Loader, one_line
from initlint.runtime.options import ModelSpec, RuntimeOptions, RuntimeSetupError
from initlint.runtime.results import Skipped, to_json

Send = Callable[[dict[str, Any]], None]


def _warm() -> None:
    """Pay meta's one-off set-up (~2 s) here, once, instead of in every child."""
    with torch.device("meta"):
        layer = nn.Linear(2, 2)
    layer(torch.empty(1, 2, device="meta"))


_warm()


def _unshadow(roots: list[str]) -> None:
    """The working directory and the project root go to the end of sys.path: they must not
    shadow installed packages (``python -m`` puts the working directory first)."""
    moved = [p for p in sys.path if p in ("", os.getcwd(), *roots)]
    for place in moved:
        sys.path.remove(place)
    sys.path.extend(p or os.getcwd() for p in moved)


def run(job: str, payload: dict[str, Any], writer: Any) -> None:
    """Run one job and send its result; never returns (os._exit skips the model's atexit
    hooks and any thread it left running)."""
    me = os.getpid()
    forked: list[int] = []
    os.register_at_fork(before=lambda: forked.append(1))

    def send(message: dict[str, Any]) -> None:
        if os.getpid() == me:  # a forked copy of this process must not speak for it
            writer.send_bytes(json.dumps(message).encode())

    try:
        _unshadow(payload.get("roots", []))
        result = JOBS[job](payload, lambda name: send({"phase": name}))
    except RuntimeSetupError as exc:
        result = {"setup_error": str(exc)}
    except BaseException as exc:
        result = {"error": one_line(exc)}
    if os.getpid() == me:
        send({"result": result, "forked": bool(forked)})
        writer.close()
        sys.stdout.flush()
        os._exit(0)
    os._exit(0)


def probe(payload: dict[str, Any], phase: Callable[[str], None]) -> dict[str, Any]:
    """Is the device there? (raises RuntimeSetupError when not)."""
    from initlint.runtime.device import resolve_device

    resolve_device(payload["device"])
    return {"torch": torch.__version__}


def list_files(payload: dict[str, Any], phase: Callable[[str], None]) -> dict[str, Any]:
    """Import each file and list the models in it (one listing per file)."""
    phase("import")
    out = {}
    for path, classes in payload["files"].items():
        loader = Loader()
        for root in payload["roots"]:
            loader.add_path(root)
        found = list(loader.candidates_from_file(path, classes))
        out[path] = {"candidates": [c.descriptor() for c in found],
                     "skipped": [to_json(s) for s in loader.skipped]}
    return out


def measure_one(payload: dict[str, Any], phase: Callable[[str], None]) -> dict[str, Any]:
    from initlint.runtime.build import build_and_measure
    from initlint.runtime.device import resolve_device

    options: RuntimeOptions = payload["options"]
    spec: ModelSpec | None = payload.get("spec")
    loader = Loader()
    phase("import")
    if spec is not None:
        candidate = loader.candidate_from_spec(spec, payload["roots"])
    else:
        for root in payload["roots"]:
            loader.add_path(root)
        candidate = loader.candidate_from_descriptor(payload["candidate"])
    if candidate is None:
        skipped = loader.skipped[0] if loader.skipped else Skipped(
            payload.get("label", "?"), "could not be imported")
        return to_json(skipped)
    device = resolve_device(options.device)
    return to_json(build_and_measure(candidate, loader, options, device, phase))


def draw_versions(payload: dict[str, Any], phase: Callable[[str], None]) -> dict[str, Any]:
    """Build a file's models from each version of its text (``--fix --verify``)."""
    from initlint.runtime.draw import draw

    return draw(payload, phase)


JOBS: dict[str, Callable[[dict[str, Any], Callable[[str], None]], dict[str, Any]]] = {
    "probe": probe, "list": list_files, "measure": measure_one, "draw": draw_versions,
}
