"""A checkout can hold links out of the tree, special files, loops and absurd depths: the
run reads only regular files of the tree, warns in one line about the rest, checks the rest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from initlint.files.discover import read_source
from initlint.files.safe_fs import MAX_FILE_BYTES, safe_walk

from .hostile import (
    SECRET,
    SECRET_ENV,
    deep_tree,
    escaping_symlinks,
    fifo,
    huge_file,
    model,
    permissions_bind,
    run_cli,
    symlink_loops,
)


def _concise(root: Path, *args: str, env: dict[str, str] | None = None):
    return run_cli([*args, "--no-cache", "--output-format", "concise"], root, env, timeout=60)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_links_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    model(repo)
    escaping_symlinks(repo, tmp_path / "outside")
    result = _concise(repo, ".", env={SECRET_ENV: SECRET})
    out = result.stdout + result.stderr
    assert SECRET.encode() not in out  # /proc/self/environ never read
    assert b"Outside" not in result.stdout and b"secret_model" not in result.stdout
    assert result.stdout.count(b"INI001") == 1 and b"model.py" in result.stdout
    for name in (b"env.py", b"zero.py", b"random.py", b"out_file.py"):
        assert name + b": symlink to" in result.stderr
    assert result.returncode == 1


def test_a_link_named_explicitly_is_the_users_choice(tmp_path: Path) -> None:
    outside = model(tmp_path / "outside")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "linked.py").symlink_to(outside)
    result = _concise(repo, "linked.py")
    assert result.stdout.count(b"INI001") == 1, result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_never_hangs_the_run(tmp_path: Path) -> None:
    model(tmp_path)
    fifo(tmp_path)
    walked = _concise(tmp_path, ".")
    assert walked.stdout.count(b"INI001") == 1
    assert b"fifo.py: not a regular file" in walked.stderr
    named = _concise(tmp_path, "fifo.py", "model.py")  # named: not a file, not a directory
    assert named.stdout.count(b"INI001") == 1 and b"fifo.py" in named.stderr
    assert read_source(str(tmp_path / "fifo.py")).error.endswith(
        "not a regular file (FIFO, device, socket or directory); not read")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_devices_are_never_read(tmp_path: Path) -> None:
    source = read_source("/dev/zero")  # named explicitly: refused before any read
    assert source.error and "not a regular file" in source.error


def test_loops_become_warnings_and_the_rest_is_checked(tmp_path: Path) -> None:
    model(tmp_path)
    symlink_loops(tmp_path)
    result = _concise(tmp_path, ".")
    assert result.stdout.count(b"INI001") == 1
    assert b"loop_a.py: symlink loop" in result.stderr
    assert b"self.py: symlink loop" in result.stderr
    assert result.returncode == 1


@pytest.fixture
def deep(tmp_path: Path):
    """The tree, removed afterwards with rm(1): shutil.rmtree recurses and cannot."""
    yield deep_tree(tmp_path, 1100)
    subprocess.run(["rm", "-rf", str(tmp_path / "d")], check=False)


@pytest.mark.skipif(os.name != "posix", reason="rm(1) cleans the tree up")
def test_a_1100_deep_tree_is_walked(tmp_path: Path, deep: Path) -> None:
    model(tmp_path)
    found = [os.path.join(d, f) for d, _, files in safe_walk(tmp_path, print) for f in files]
    assert len(found) == 2 and any(p.endswith(os.path.join("d", "deep.py")) for p in found)
    result = _concise(tmp_path, ".")
    assert result.stdout.count(b"INI001") == 2, result.stderr[-300:]
    assert deep.name.encode() in result.stdout


def test_a_file_over_the_size_cap_is_an_ini000(tmp_path: Path) -> None:
    huge_file(tmp_path, MAX_FILE_BYTES + 10)
    model(tmp_path)
    result = _concise(tmp_path, ".")
    assert b"huge.py:1:1: INI000" in result.stdout and b"larger than" in result.stdout
    assert result.stdout.count(b"INI001") == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_an_unreadable_directory_is_a_warning(tmp_path: Path) -> None:
    model(tmp_path)
    locked = tmp_path / "locked"
    model(locked)
    locked.chmod(0)
    try:
        if not permissions_bind(locked / "model.py"):
            pytest.skip("mode 0000 cannot be made to bind here (root without prctl)")
        result = run_cli(["--no-cache", "--output-format", "concise", "."], tmp_path,
                         timeout=60, unprivileged=True)
    finally:
        locked.chmod(0o755)
    assert b"locked: cannot read directory" in result.stderr
    assert result.stdout.count(b"INI001") == 1
