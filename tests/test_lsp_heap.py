"""The server's heap policy (initlint/lsp/heap.py) rests on one fact: linting makes no
reference cycles, so pausing the cycle collector during a lint and freezing what a lint
loaded lose nothing. These tests lint real fixture packages and ask the collector."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

from initlint.lsp.heap import Heap, collector_paused
from initlint.lsp.workspace import Linter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    shutil.copytree(FIXTURES / "coverage", package)
    shutil.copytree(FIXTURES / "structure", package / "structure")
    (package / "__init__.py").write_text("")
    return package


def _garbage() -> list[str]:
    """Types of the cyclic garbage the collector finds now (syntax trees kept by a
    recursive closure show up as ``cell``, ``function`` and ``ast`` nodes)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def test_linting_and_linking_make_no_reference_cycles(tmp_path: Path) -> None:
    package = _package(tmp_path)
    linter = Linter(use_cache=False)
    for path in sorted(package.rglob("*.py")):
        linter.lint(str(path), path.as_uri(), path.read_text(), {})  # load the context
    gc.collect()
    with collector_paused():
        for path in sorted(package.rglob("*.py")):
            text = path.read_text() + "\n# edited\nX = 1\n"
            outcome = linter.lint(str(path), path.as_uri(), text, {})
            assert outcome.findings is not None
        assert not gc.isenabled()
        assert _garbage() == []


def test_collector_state_is_restored() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_heap_settles_once_per_context() -> None:
    heap = Heap()
    try:
        assert heap.settle(1) is True
        assert gc.get_freeze_count() > 0
        assert heap.settle(1) is False
        assert heap.settle(2) is True
    finally:
        gc.unfreeze()
