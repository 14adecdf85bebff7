"""Build a file's default-constructible models from several versions of its text, under a
fixed seed, and say for each what it drew: the check behind ``--fix --verify``.

The parent side (:func:`draw_texts`) never imports torch: the versions go to one child
process (``isolate.py``), which imports the file as it is on disk (its package, its sibling
imports), then runs each version's text as that module and builds every class it defines
that needs no arguments. A version whose model no longer builds, or draws other values,
is the fix to drop.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: Building every model of one file, for every version: this long at most.
DRAW_TIMEOUT = 300.0
#: What a version's class is when its constructor raised: ``error: ValueError: ...``.
ERROR = "error: "


@dataclass(frozen=True)
class Draws:
    """Per version of the text: class key → digest of every parameter and buffer it drew,
    or ``ERROR`` + why it did not build. ``failure``: why no version could be tried."""

    versions: tuple[dict[str, str], ...]
    failure: str = ""

    def broken(self, index: int) -> dict[str, str]:
        """Classes that built from the first version and not from version ``index``."""
        if self.failure or index >= len(self.versions) or not self.versions:
            return {}
        first, other = self.versions[0], self.versions[index]
        return {key: other.get(key, ERROR + "the class is gone")[len(ERROR):]
                for key, digest in first.items() if not digest.startswith(ERROR)
                and other.get(key, ERROR).startswith(ERROR)}

    def redrawn(self, index: int) -> list[str]:
        """Classes that built from both and drew different values."""
        if self.failure or index >= len(self.versions) or not self.versions:
            return []
        first, other = self.versions[0], self.versions[index]
        return sorted(key for key, digest in first.items() if not digest.startswith(ERROR)
                      and key in other and not other[key].startswith(ERROR)
                      and other[key] != digest)


def draw_texts(path: str, texts: Sequence[str], seed: int = 0, isolate: bool = True,
               timeout: float = DRAW_TIMEOUT) -> Draws:
    """Build the models of ``path`` from each of ``texts`` (the first is the reference)."""
    roots = [os.getcwd()]
    payload = {"path": path, "texts": list(texts), "seed": seed, "roots": roots}
    if not isolate:
        return _read(draw(payload, lambda name: None))
    from initlint.runtime.isolate import run_job

    outcome = run_job("draw", payload, timeout)
    if outcome.result is None:
        return Draws((), outcome.reason or "the child sent nothing")
    if "error" in outcome.result:
        return Draws((), str(outcome.result["error"]))
    return _read(outcome.result)


def _read(result: dict[str, Any]) -> Draws:
    versions = result.get("versions")
    if not isinstance(versions, list) or not all(
            isinstance(v, dict) and all(isinstance(d, str) for d in v.values())
            for v in versions):
        return Draws((), str(result.get("failure") or "an unreadable result"))
    return Draws(tuple(versions), str(result.get("failure", "")))


# --- the child's side (torch is imported here) --------------------------------------------

def draw(payload: dict[str, Any], phase: Callable[[str], None]) -> dict[str, Any]:
    """The ``draw`` job: import the file, then each version of its text in turn."""
    from initlint.runtime.loader import Loader, one_line

    loader = Loader()
    for root in payload.get("roots", []):
        loader.add_path(root)
    path = os.path.abspath(payload["path"])
    phase("import")
    module = loader._import_file(path)
    if module is None:
        why = loader.skipped[0].reason if loader.skipped else "it could not be imported"
        return {"versions": [], "failure": why}
    versions = []
    phase("build")
    for text in payload["texts"]:
        try:
            fresh = _module_from_text(module, path, text)
        except (Exception, SystemExit) as exc:  # user code
            versions.append({"<module>": ERROR + one_line(exc)})
            continue
        versions.append(_draw_classes(loader, fresh, int(payload.get("seed", 0))))
    sys.modules[module.__name__] = module
    return {"versions": versions}


def _module_from_text(original: types.ModuleType, path: str, text: str) -> types.ModuleType:
    """Run ``text`` as the module ``original`` (same name, file and package)."""
    from initlint.runtime.loader import user_code

    fresh = types.ModuleType(original.__name__)
    for attr in ("__file__", "__package__", "__spec__", "__loader__", "__path__"):
        if hasattr(original, attr):
            setattr(fresh, attr, getattr(original, attr))
    sys.modules[original.__name__] = fresh
    with user_code():
        exec(compile(text, path, "exec"), fresh.__dict__)
    return fresh


def _draw_classes(loader: Any, module: types.ModuleType, seed: int) -> dict[str, str]:
    import torch
    import torch.nn as nn

    from initlint.runtime.loader import not_buildable, one_line, user_code

    out: dict[str, str] = {}
    for obj in list(vars(module).values()):
        if not (isinstance(obj, type) and issubclass(obj, nn.Module)
                and obj.__module__ == module.__name__):
            continue
        reason = not_buildable(obj)
        if reason and reason != "defines no forward() (a base class?)":
            continue
        key = loader.class_key(obj)
        try:
            with user_code():
                torch.manual_seed(seed)
                model = obj()
            out[key] = digest(model)
        except (Exception, SystemExit) as exc:  # user code: anything can happen
            out[key] = ERROR + one_line(exc)
    return out


def digest(model: Any) -> str:
    """A hash of every parameter's and buffer's name, shape and values."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if not isinstance(tensor, torch.Tensor):
            continue
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]
