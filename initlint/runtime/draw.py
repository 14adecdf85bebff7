"""The child's side of ``--fix --verify`` (torch is imported here): import the file as it is
on disk, then run each version of its text as that module and build every class it defines
that needs no arguments, under a fixed seed, and digest what each drew."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from typing import Any

#: What a version's class is when its constructor raised: ``error: ValueError: ...``.
ERROR = "error: "


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
