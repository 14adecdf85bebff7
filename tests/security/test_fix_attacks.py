"""``--fix`` writes only the exact bytes its edits were computed from, never through an odd
file, and two runs at once (or an editor saving meanwhile) cannot corrupt a file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from initlint.core.config import Config
from initlint.engine import fix as fix_module
from initlint.engine.fix import fix_paths
from initlint.files import safe_write

from .hostile import FIXED, MODEL, model, run_cli

EDITED = MODEL.replace("nn.Linear(4, 4)", "nn.Linear(4, 8)  # saved by an editor meanwhile")


def test_read_only_files_are_refused(tmp_path: Path) -> None:
    path = model(tmp_path)
    path.chmod(0o444)
    run = fix_paths([str(path)], Config())
    assert path.read_text() == MODEL
    assert any("read-only; not written" in e for e in run.errors)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_hard_links_are_refused(tmp_path: Path) -> None:
    path = model(tmp_path)
    other = tmp_path / "elsewhere.txt"
    os.link(path, other)
    run = fix_paths([str(path)], Config())
    assert path.read_text() == MODEL == other.read_text()
    assert any("hard links" in e for e in run.errors)


def test_symlinks_leaving_their_directory_are_refused(tmp_path: Path) -> None:
    outside = model(tmp_path / "outside")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.py").symlink_to(outside)
    run = fix_paths([str(repo / "link.py")], Config())
    assert outside.read_text() == MODEL
    assert any("outside its directory" in e for e in run.errors)


def test_a_symlink_to_a_sibling_is_written_through_and_kept(tmp_path: Path) -> None:
    real = model(tmp_path, "real.py")
    (tmp_path / "link.py").symlink_to("real.py")
    fix_paths([str(tmp_path / "link.py")], Config())
    assert (tmp_path / "link.py").is_symlink() and real.read_text() == FIXED


def test_mode_is_kept(tmp_path: Path) -> None:
    path = model(tmp_path)
    path.chmod(0o640)
    fix_paths([str(path)], Config())
    assert path.read_text() == FIXED and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_an_edit_between_analysis_and_write_is_never_overwritten(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """The editor saves after the fixes were computed, before they are written: the write
    is refused (the save survives) — never edits of one text applied to another."""
    path = model(tmp_path)
    real_fix_text = fix_module.fix_text

    def save_meanwhile(*args, **kwargs):
        result = real_fix_text(*args, **kwargs)
        path.write_text(EDITED)
        return result

    monkeypatch.setattr(fix_module, "fix_text", save_meanwhile)
    run = fix_paths([str(path)], Config())
    assert path.read_text() == EDITED
    assert any("changed on disk" in e for e in run.errors)


def test_an_edit_between_the_lint_and_the_fix_is_linted_again(tmp_path: Path,
                                                               monkeypatch) -> None:
    """The file changes after the first lint (its findings' spans are for the old text):
    the new text is linted again and fixed correctly, not patched at stale offsets."""
    path = model(tmp_path)
    shifted = "# a new first line moves every span\n" + MODEL
    real_read = fix_module.read_source

    def edited_before_read(file: str):
        path.write_text(shifted)
        return real_read(file)

    monkeypatch.setattr(fix_module, "read_source", edited_before_read)
    from initlint.cache.store import Cache

    fix_paths([str(path)], Config(), cache=Cache(tmp_path / "cache"))
    assert path.read_text() == "# a new first line moves every span\n" + FIXED


def test_replace_bytes_is_a_compare_and_swap(tmp_path: Path) -> None:
    path = model(tmp_path)
    with pytest.raises(safe_write.WriteRefusedError):
        safe_write.replace_bytes(str(path), b"something else", b"new")
    assert path.read_text() == MODEL
    safe_write.replace_bytes(str(path), MODEL.encode(), FIXED.encode())
    assert path.read_text() == FIXED


def test_two_fix_runs_at_once_never_corrupt(tmp_path: Path) -> None:
    """Two ``initlint --fix`` processes over the same files, started together: every file
    ends up fixed exactly once (``xavier_uniform_``, never ``xavier_uniform__``) and parses."""
    files = [model(tmp_path, f"m{i}.py") for i in range(30)]
    command = [sys.executable, "-m", "initlint", "--fix", "--no-cache", "-j", "1", "."]
    procs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        proc.communicate(timeout=300)
        assert proc.returncode in (0, 1)
    for path in files:
        assert path.read_text() == FIXED, path


def test_two_concurrent_writers_through_safe_write(tmp_path: Path) -> None:
    """Many processes each append their own line through ``rewrite``: the lock makes every
    read-modify-write see the previous one, so no line is lost."""
    path = tmp_path / "counter.txt"
    path.write_text("")
    script = ("import sys; from initlint.files import safe_write\n"
              "for _ in range(20):\n"
              "    safe_write.rewrite(sys.argv[1], lambda b: b + sys.argv[2].encode() + b'\\n')\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"w{i}"])
             for i in range(4)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    lines = path.read_text().splitlines()
    assert sorted(lines) == sorted(f"w{i}" for i in range(4) for _ in range(20))


def test_cli_reports_a_refused_write(tmp_path: Path) -> None:
    path = model(tmp_path)
    path.chmod(0o444)
    result = run_cli(["--fix", "--no-cache", "."], tmp_path)
    assert b"read-only; not written" in result.stderr and path.read_text() == MODEL
    assert result.returncode == 1
