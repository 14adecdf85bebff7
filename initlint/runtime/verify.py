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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from initlint.runtime.draw import ERROR, draw
from initlint.runtime.isolate import run_job

#: Building every model of one file, for every version: this long at most.
DRAW_TIMEOUT = 300.0


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
