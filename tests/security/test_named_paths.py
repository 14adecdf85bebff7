"""Paths named on the command line are the user's list, not the parser's: one that cannot
be read is an INI000 while the others are checked, and one file named several ways is
checked (and reported) once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .hostile import MODEL, model, permissions_bind, run_cli


def _concise(root: Path, *args: str, unprivileged: bool = False):
    return run_cli([*args, "--no-cache", "--output-format", "concise"], root, timeout=60,
                   unprivileged=unprivileged)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_an_unreadable_named_file_is_ini000_and_the_rest_is_checked(tmp_path: Path) -> None:
    model(tmp_path, "good.py")
    secret = model(tmp_path, "secret.py", MODEL.replace("Net", "Secret"))
    secret.chmod(0)
    if not permissions_bind(secret):
        pytest.skip("mode 0000 cannot be made to bind here (root without prctl)")
    result = _concise(tmp_path, "good.py", "secret.py", unprivileged=True)
    out = result.stdout.decode()
    assert result.returncode == 1, result.stderr
    assert "good.py:8:17: INI001" in out
    assert "secret.py:1:1: INI000" in out and "Permission denied" in out
    assert "Secret" not in out and b"Usage:" not in result.stderr


def test_a_directory_named_like_a_module_is_walked(tmp_path: Path) -> None:
    """Not a usage error either: it is walked (and holds nothing)."""
    model(tmp_path, "good.py")
    (tmp_path / "pkg.py").mkdir()
    result = _concise(tmp_path, "good.py", "pkg.py")
    assert result.returncode == 1 and result.stdout.count(b"INI001") == 1, result.stderr


def test_one_file_named_three_ways_is_reported_once(tmp_path: Path) -> None:
    good = model(tmp_path, "good.py")
    (tmp_path / "sub").mkdir()
    result = _concise(tmp_path, ".", "sub/../good.py", str(good), "./good.py")
    assert result.returncode == 1, result.stderr
    assert result.stdout.count(b"INI001") == 1, result.stdout


def test_a_named_file_also_reached_through_a_linked_directory_is_reported_once(
        tmp_path: Path) -> None:
    """A link inside the tree is another name for the same file, not a second file."""
    good = model(tmp_path / "real", "good.py")
    (tmp_path / "alias").symlink_to("real")
    result = _concise(tmp_path, "real", "alias/good.py", str(good))
    assert result.stdout.count(b"INI001") == 1, result.stdout


def test_two_copies_of_a_file_are_two_files(tmp_path: Path) -> None:
    model(tmp_path, "a.py")
    model(tmp_path, "b.py")
    result = _concise(tmp_path, ".", "a.py", "b.py")
    assert result.stdout.count(b"INI001") == 2
