"""The engine's plumbing: prefilter, worker processes, chunking, progress, crash isolation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from initlint.checks import ALL_RULES
from initlint.checks.base import Rule
from initlint.core.config import Config
from initlint.core.findings import Severity
from initlint.engine import lint as engine
from initlint.engine.lint import (
    Parsed,
    _chunks,
    check_project,
    lint_paths,
    parse_all,
    parse_source,
    prefilter,
)
from initlint.engine.progress import Progress
from initlint.files.discover import Source, discover

REPO = Path(__file__).resolve().parent.parent
ALL = Config(select=("ALL",))


def _fixture_files() -> list[str]:
    files = discover([str(REPO / "fixtures")], ALL)
    assert len(files) >= 16, "need enough files for the worker path"
    return files


def _summary(findings) -> list[tuple]:
    return [(f.path, f.code, f.span, f.message) for f in findings]


def test_prefilter_skips_files_without_model_or_init_code() -> None:
    skipped = parse_source(Source("plain.py", "def add(a, b):\n    return a + b\n"))
    assert skipped.skipped and skipped.facts is None and skipped.error is None
    for marker in ("import torch", "x = nn.Linear", "def __init__(self): pass",
                   "class A(Module): pass", "m.apply(f)"):
        parsed = parse_source(Source("m.py", marker + "\n"))
        assert not parsed.skipped, marker
        assert parsed.facts is not None, marker
    assert not prefilter("print('hello')\n") and prefilter("import torch\n")


def test_workers_find_what_one_process_finds() -> None:
    files = _fixture_files()
    sequential = lint_paths(files, ALL, jobs=1)
    parallel = lint_paths(files, ALL, jobs=2)
    assert _summary(parallel.findings) == _summary(sequential.findings)
    assert (parallel.files, parallel.parsed) == (sequential.files, sequential.parsed)


def test_parse_all_keeps_order_and_text() -> None:
    files = _fixture_files()
    parsed = parse_all(files, jobs=2)
    assert [p.path for p in parsed] == files
    for item in parsed:
        if not item.error:
            assert item.text == Path(item.path).read_text(encoding="utf-8")


@pytest.mark.parametrize("jobs", [1, 2, 3, 7])
def test_chunks_cover_every_file_once_biggest_first(jobs: int) -> None:
    sizes = [(i * 37) % 101 for i in range(60)]
    chunks = _chunks(sizes, jobs)
    flat = [i for chunk in chunks for i in chunk]
    assert sorted(flat) == list(range(60))
    assert [sizes[i] for i in flat] == sorted(sizes, reverse=True)
    assert len(chunks) <= jobs * engine.CHUNKS_PER_JOB + 1


def test_a_crashing_rule_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(ctx):
        raise KeyError("boom")

    monkeypatch.setitem(ALL_RULES, "INI999", Rule("INI999", "explodes", Severity.ERROR,
                                                  "a broken rule", explode))
    monkeypatch.delenv(engine.DEBUG_ENV, raising=False)
    parsed = parse_source(Source("m.py", "import torch\nclass A(torch.nn.Module): pass\n"))
    findings = check_project([parsed], Config(select=("INI000", "INI999")))
    assert [(f.code, f.path) for f in findings] == [("INI000", "m.py")]
    assert "internal error in INI999" in findings[0].message
    monkeypatch.setenv(engine.DEBUG_ENV, "1")
    with pytest.raises(KeyError):
        check_project([parsed], Config(select=("INI000", "INI999")))


def test_a_crashing_extractor_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args):
        raise AttributeError("no such thing")

    monkeypatch.setattr(engine, "extract", explode)
    monkeypatch.delenv(engine.DEBUG_ENV, raising=False)
    parsed = parse_source(Source("m.py", "import torch\n"))
    assert isinstance(parsed, Parsed) and parsed.facts is None
    assert parsed.error is not None and parsed.error.code == "INI000"
    assert "internal error" in parsed.error.message


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_on_a_terminal_and_erases_itself() -> None:
    stream = _Terminal()
    with Progress(60, stream) as progress:
        progress.advance(59)
        progress.advance(5)  # never past the total
    out = stream.getvalue()
    assert "\rinitlint: 60/60 files (100%)" in out
    assert out.endswith("\r\x1b[K")


def test_progress_is_silent_off_a_terminal_and_for_small_runs() -> None:
    pipe = io.StringIO()
    with Progress(500, pipe) as progress:
        progress.advance(500)
    assert pipe.getvalue() == ""
    small = _Terminal()
    with Progress(3, small) as progress:
        progress.advance(3)
    assert small.getvalue() == ""


def test_lint_paths_reports_progress_for_every_file() -> None:
    files = _fixture_files()
    stream = _Terminal()
    progress = Progress(len(files), stream, enabled=True)
    lint_paths(files, ALL, jobs=2, progress=progress)
    assert progress.done == len(files)
    assert f"{len(files)}/{len(files)} files" in stream.getvalue()
