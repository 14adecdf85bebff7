"""A wrong clock once (a VM booted with the date years ahead) must not stop pruning for
good: a prune stamp or an entry from the future counts as now, so stale entries of other
builds, and of earlier cache layouts, are still removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from initlint.cache import store as cache_module
from initlint.cache.store import DAY, LAYOUT, OTHER_BUILD_DAYS, Cache

YEAR = 365 * DAY


def _age(paths, when: float) -> None:
    for path in paths:
        os.utime(path, (when, when), follow_symlinks=False)


def _other_build(root: Path) -> Cache:
    other = Cache(root)
    other.base = root / f"v{LAYOUT}" / ("0" * 32)
    other.put("run", "c" * 32, "from an older initlint")
    return other


def test_a_stamp_from_the_future_does_not_stop_pruning(tmp_path: Path) -> None:
    now = time.time()
    cache = Cache(tmp_path)
    cache.put("facts", "a" * 32, "fresh")
    assert cache.prune(now) == 0  # the first prune writes the stamp
    _age([tmp_path / f"v{LAYOUT}" / ".pruned"], now + 10 * YEAR)
    other = _other_build(tmp_path)
    _age([other.base, *other.base.rglob("*")], now - (OTHER_BUILD_DAYS + 1) * DAY)
    assert cache.prune(now) == 1 and not other.base.exists()
    assert cache.get("facts", "a" * 32) == "fresh"
    assert cache.prune(now + 60) == 0  # the stamp was reset to now: a day until the next


def test_entries_from_the_future_age_from_now(tmp_path: Path) -> None:
    now = time.time()
    cache = Cache(tmp_path)
    other = _other_build(tmp_path)
    entry = other._entry("run", "c" * 32)
    _age([entry], now + 10 * YEAR)
    assert cache.prune(now) == 0 and entry.exists()  # its age starts now ...
    later = now + (OTHER_BUILD_DAYS + 1) * DAY
    assert cache.prune(later) == 1 and not entry.exists()  # ... and ends like any other's


def test_entries_of_an_earlier_layout_are_removed(tmp_path: Path) -> None:
    now = time.time()
    cache = Cache(tmp_path)
    cache.put("facts", "a" * 32, "fresh")
    layout = tmp_path / f"v{int(LAYOUT) - 1}"  # as the build before the layout change left it
    shard = layout / ("0" * 32) / "run" / "cc"
    shard.mkdir(parents=True)
    (shard / ("c" * 32)).write_text("an entry of the old layout")
    (layout / "notes.txt").write_text("not ours")
    _age([layout / ("0" * 32), *layout.rglob("*")], now - (OTHER_BUILD_DAYS + 1) * DAY)
    assert cache.prune(now) == 1
    assert not (layout / ("0" * 32)).exists() and (layout / "notes.txt").exists()
    assert cache.get("facts", "a" * 32) == "fresh"


def test_a_clock_a_little_ahead_is_not_a_wrong_one(tmp_path: Path) -> None:
    now = time.time()
    cache = Cache(tmp_path)
    cache.put("facts", "a" * 32, "fresh")
    assert cache.prune(now) == 0
    _age([tmp_path / f"v{LAYOUT}" / ".pruned"], now + cache_module.FUTURE_SLACK_S / 2)
    other = _other_build(tmp_path)
    _age([other.base, *other.base.rglob("*")], now - (OTHER_BUILD_DAYS + 1) * DAY)
    assert cache.prune(now) == 0  # not due: pruned "just now" by a neighbour's clock
