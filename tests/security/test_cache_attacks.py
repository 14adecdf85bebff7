"""The cache is data, lives where the repository cannot reach, and deletes only its own."""

from __future__ import annotations

import json
import os
import pickle
import stat
import time
from pathlib import Path

import pytest

from initlint.cache import codec
from initlint.cache.store import ENV_VAR, LAYOUT, Cache, default_directory
from initlint.core.config import Config
from initlint.core.findings import Finding, Severity, Span
from initlint.engine.lint import Parsed, lint_paths, parse_path

from .hostile import FIXED, MODEL, model, run_cli

KEY = "ab" * 16


class _RunsCode:
    """Unpickling this creates a file: proof that an entry ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_default_location_is_per_user_not_the_repository(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    repo = tmp_path / "repo"
    assert not default_directory(Config(root=str(repo))).is_relative_to(repo)


def test_a_planted_pickle_never_runs(tmp_path: Path) -> None:
    """An entry under the exact key a run will ask for, holding a pickle that would create
    a file when unpickled: a miss, no code, the run's result is right."""
    marker = tmp_path / "pwned"
    cache = Cache(tmp_path / "cache")
    cache.put("run", KEY, "placeholder")  # make the directories as initlint would
    entry = cache._entry("run", KEY)
    entry.write_bytes(pickle.dumps((KEY, _RunsCode(str(marker)))))
    assert cache.get("run", KEY) is None
    assert not marker.exists()
    assert not entry.exists()  # dropped as foreign


def test_planted_pickles_for_every_file_of_a_real_run(tmp_path: Path) -> None:
    src = tmp_path / "src"
    path = model(src)
    marker = tmp_path / "pwned"
    cache = Cache(tmp_path / "cache")
    first = lint_paths([str(path)], Config(), jobs=1, cache=cache).findings
    for entry in cache.base.rglob("*"):
        if entry.is_file():
            entry.write_bytes(pickle.dumps(_RunsCode(str(marker))))
    again = lint_paths([str(path)], Config(), jobs=1, cache=Cache(tmp_path / "cache"))
    assert again.findings == first and not again.from_cache
    assert not marker.exists()


@pytest.mark.parametrize("document", [
    b"", b"\n", b"[]", b'["os:system"]\n{"\\u00000": ["echo pwned"]}',
    b'["builtins:eval"]\n{"\\u00000": ["1"]}',
    b'["initlint.core.findings:Span"]\n{"\\u00000": [1]}',
    b'["initlint.core.findings:Span"]\n{"\\u00009": [1, 2, 3, 4]}', b'[]\n{"\\u0000b": "zz"}',
    b'[]\n' + b"[" * 100_000 + b"]" * 100_000, b'["initlint.cache.store:Cache"]\n{"\\u00000": []}',
    b'["initlint.core.findings:Severity"]\n{"\\u0000e": ["\\u00000", "nope"]}', b"\x80\xff",
    json.dumps(["initlint.core.findings:Span"]).encode() + b'\n{"\\u00000": [1,2,3,4], "x": 1}',
])
def test_malformed_or_foreign_documents_are_decode_errors(document: bytes) -> None:
    with pytest.raises(codec.DecodeError):
        codec.loads(document)


def test_codec_round_trips_facts_and_findings(tmp_path: Path) -> None:
    parsed = parse_path(str(model(tmp_path)))
    finding = Finding("INI001", Severity.ERROR, "m.py", Span(1, 2, 3, 4), "msg \udcff", "why")
    value = (parsed, (finding,), 3, ..., b"\x00", 1 + 2j, frozenset({(1, 2)}), {"k": (1,)})
    back = codec.loads(codec.dumps(value))
    assert back == value and isinstance(back[0], Parsed)
    assert back[1][0].severity is Severity.ERROR


def test_codec_refuses_foreign_objects() -> None:
    with pytest.raises(codec.EncodeError):
        codec.dumps((Path("x"),))


def test_a_symlinked_cache_directory_is_not_used(tmp_path: Path) -> None:
    """INITLINT_CACHE_DIR (or a checkout) pointing the cache at another directory through a
    symlink: the cache turns itself off, the victim is untouched (no prune, no tag)."""
    victim = tmp_path / "datasets"
    old = victim / f"v{LAYOUT}" / ("0" * 32) / "facts" / "aa"
    old.mkdir(parents=True)
    (old / ("a" * 32)).write_text("checkpoint")
    ancient = time.time() - 400 * 86400
    os.utime(old / ("a" * 32), (ancient, ancient))
    link = tmp_path / "cache"
    link.symlink_to(victim)
    src = tmp_path / "src"
    model(src)
    result = run_cli([str(src)], tmp_path, {ENV_VAR: str(link)})
    assert result.returncode == 1, result.stderr
    assert b"cache disabled" in result.stderr and b"symlink" in result.stderr
    assert (old / ("a" * 32)).read_text() == "checkpoint"
    assert sorted(p.name for p in victim.iterdir()) == [f"v{LAYOUT}"]


def test_symlinks_inside_the_cache_are_never_followed(tmp_path: Path) -> None:
    """A layout directory replaced by a symlink to a victim: nothing read, written or pruned
    there; a pruned shard holding a symlink and a foreign file deletes neither."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    root = tmp_path / "cache"
    cache = Cache(root)
    cache.put("facts", KEY, "value")
    layout = root / f"v{LAYOUT}"
    shard = cache._entry("facts", KEY).parent
    planted_link = shard / ("c" * 32)
    planted_link.symlink_to(victim / "keep.txt")
    (shard / "notes.txt").write_text("not ours")
    ancient = time.time() - 400 * 86400
    for path in (cache._entry("facts", KEY), shard / "notes.txt"):
        os.utime(path, (ancient, ancient))
    os.utime(planted_link, (ancient, ancient), follow_symlinks=False)
    assert cache.prune() == 1  # only our entry
    assert (victim / "keep.txt").read_text() == "keep"
    assert (shard / "notes.txt").exists() and planted_link.is_symlink()
    for child in list(layout.iterdir()):
        if child.is_dir():
            import shutil
            shutil.rmtree(child)
    (layout / cache.base.name).symlink_to(victim)
    fresh = Cache(root)
    fresh.put("facts", KEY, "value")
    assert fresh.get("facts", KEY) is None
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]


def test_marker_files_only_in_a_directory_initlint_created(tmp_path: Path) -> None:
    """An existing directory gets no CACHEDIR.TAG/.gitignore, and a planted symlink named
    like them is never written through."""
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o700)
    outside = tmp_path / "outside.txt"
    outside.write_text("original")
    (existing / ".gitignore").symlink_to(outside)
    (existing / "CACHEDIR.TAG").symlink_to(outside)
    cache = Cache(existing)
    cache.put("facts", KEY, "value")
    assert cache.get("facts", KEY) == "value"
    assert outside.read_text() == "original"
    made = Cache(tmp_path / "new")
    made.put("facts", KEY, "value")
    assert (tmp_path / "new" / "CACHEDIR.TAG").is_file()
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_a_directory_others_can_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cache = Cache(shared)
    cache.put("facts", KEY, "value")
    assert not cache.enabled and "writable by other users" in cache.problem
    assert not any(shared.iterdir())


def test_a_file_edited_during_a_run_is_never_cached_under_the_other_content(
        tmp_path: Path, monkeypatch) -> None:
    """The file changes between the scan that keys it and the parse that reads it (an
    editor save mid-run): neither its facts nor the run's findings may be stored under the
    key of the content the run did not analyse."""
    from initlint.engine import lint as engine

    src = tmp_path / "src"
    path = model(src)
    real_parse = engine._parse_file

    def edited_meanwhile(file: str, digest: str):
        path.write_text(FIXED)  # the save lands right before the parse reads the file
        return real_parse(file, digest)

    monkeypatch.setattr(engine, "_parse_file", edited_meanwhile)
    racy = lint_paths([str(path)], Config(), jobs=1, cache=Cache(tmp_path / "c"))
    monkeypatch.undo()
    assert racy.findings == []  # what was analysed: the fixed text
    path.write_text(MODEL)  # back to the content the racy run was keyed with
    again = lint_paths([str(path)], Config(), jobs=1, cache=Cache(tmp_path / "c"))
    fresh = lint_paths([str(path)], Config(), jobs=1)
    assert again.findings == fresh.findings and [f.code for f in fresh.findings] == ["INI001"]


def test_concurrent_runs_share_one_cache_safely(tmp_path: Path) -> None:
    """Three runs at once on one cache (a pre-commit hook, the editor and a terminal):
    every run, and the warm run after them, reports exactly what --no-cache reports."""
    import subprocess
    import sys

    src = tmp_path / "src"
    for i in range(24):
        model(src, f"m{i}.py", MODEL.replace("Net", f"Net{i}"))
    env = {**os.environ, ENV_VAR: str(tmp_path / "cache")}
    command = [sys.executable, "-m", "initlint", "--output-format", "json", "-j", "2",
               str(src)]
    expected = run_cli([*command[3:], "--no-cache"], tmp_path).stdout
    procs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert all(out == expected for out in outputs)
    assert run_cli(command[3:], tmp_path, {ENV_VAR: str(tmp_path / "cache")}).stdout == expected
