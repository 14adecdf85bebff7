"""The persistent cache: warm runs equal cold runs, cross-file facts stay right, bad entries
are ignored, --no-cache writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from initlint.cache.store import ENV_VAR, Cache, config_key, content_hash, default_directory
from initlint.core.config import Config
from initlint.engine import lint as engine
from initlint.engine.lint import lint_paths
from initlint.files.discover import discover

ALL = Config(select=("ALL",))

HELPERS = '''\
import torch.nn as nn


def init_stack(module):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
'''

MODELS = '''\
import torch.nn as nn

from . import helpers


class DeepMLP(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(),
                                 nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        helpers.init_stack(self)

    def forward(self, x):
        return self.net(x)
'''


def _package(root: Path) -> Path:
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A package: its helpers init the models."""\n')
    (pkg / "helpers.py").write_text(HELPERS)
    (pkg / "models.py").write_text(MODELS)
    return pkg


def _run(pkg: Path, cache: Cache | None, config: Config = ALL):
    return lint_paths(discover([str(pkg)], config), config, jobs=1, cache=cache)


def _keys(findings) -> list[tuple]:
    return [(Path(f.path).name, f.code, f.span.row, f.message) for f in findings]


def test_warm_run_equals_cold_run_and_skips_the_work(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    cold = _run(pkg, Cache(tmp_path / "cache"))
    assert not cold.from_cache and cold.cached == 0
    warm = _run(pkg, Cache(tmp_path / "cache"))
    assert warm.from_cache
    assert _keys(warm.findings) == _keys(cold.findings) == _keys(_run(pkg, None).findings)
    assert (warm.files, warm.parsed) == (cold.files, cold.parsed)


def test_editing_a_helper_rechecks_the_file_that_uses_it(tmp_path: Path) -> None:
    """models.py does not change, its cached facts are reused, yet its findings follow the
    helper it calls in helpers.py."""
    pkg = _package(tmp_path)
    before = _run(pkg, Cache(tmp_path / "cache"))
    helpers = pkg / "helpers.py"
    helpers.write_text(HELPERS.replace("isinstance(m, nn.Linear)", "isinstance(m, nn.Conv2d)"))
    after = _run(pkg, Cache(tmp_path / "cache"))
    assert not after.from_cache
    assert after.cached == 2  # __init__.py and models.py: only helpers.py was parsed again
    fresh = _run(pkg, None)
    assert _keys(after.findings) == _keys(fresh.findings)
    in_models = [k for k in _keys(after.findings) if k[0] == "models.py"]
    assert in_models != [k for k in _keys(before.findings) if k[0] == "models.py"], \
        "the scenario must change a finding in models.py (the file that was not edited)"
    # and back: the first state's entries are still valid
    helpers.write_text(HELPERS)
    again = _run(pkg, Cache(tmp_path / "cache"))
    assert again.from_cache and _keys(again.findings) == _keys(before.findings)


def test_config_is_part_of_the_key(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    (pkg / "helpers.py").write_text(HELPERS.replace("nn.Linear", "nn.Conv2d"))
    cache_dir = tmp_path / "cache"
    everything = _run(pkg, Cache(cache_dir))
    assert everything.findings
    only = Config(select=("INI201",))
    narrowed = _run(pkg, Cache(cache_dir), only)
    assert not narrowed.from_cache
    assert _keys(narrowed.findings) == _keys(_run(pkg, None, only).findings)
    assert config_key(ALL, ["INI101"]) != config_key(only, ["INI201"])


def test_corrupt_entries_are_ignored_and_replaced(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    cache_dir = tmp_path / "cache"
    expected = _keys(_run(pkg, Cache(cache_dir)).findings)
    entries = [p for p in (cache_dir).rglob("*") if p.is_file() and p.parent.parent.name
               in ("facts", "run")]
    assert len(entries) >= 4
    garbage = [b"", b"\x80\x04not a pickle", b"\x80\x04\x95", os.urandom(64)]
    for index, entry in enumerate(entries):
        entry.write_bytes(garbage[index % len(garbage)])
    cache = Cache(cache_dir)
    result = _run(pkg, cache)
    assert not result.from_cache and result.cached == 0
    assert _keys(result.findings) == expected
    assert _run(pkg, Cache(cache_dir)).from_cache  # rewritten


def test_an_entry_under_the_wrong_key_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("run", "a" * 32, (("x",), 1))
    (cache.base / "run" / "bb").mkdir(parents=True)
    (cache.base / "run" / "aa" / ("a" * 32)).replace(cache.base / "run" / "bb" / ("b" * 32))
    assert cache.get("run", "b" * 32) is None
    assert cache.get("run", "a" * 32) is None


def test_an_unwritable_cache_turns_itself_off(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = Cache(blocker)
    result = _run(pkg, cache)
    assert not cache.enabled
    assert _keys(result.findings) == _keys(_run(pkg, None).findings)


def test_file_key_covers_content_path_and_module() -> None:
    cache = Cache("/nonexistent")
    one, two = content_hash("x = 1\n"), content_hash("x = 2\n")
    assert one == content_hash("x = 1\n") and one != two
    base = cache.file_key("a.py", "pkg.a", one)
    assert base == cache.file_key("a.py", "pkg.a", one)
    assert len({base, cache.file_key("a.py", "pkg.a", two), cache.file_key("b.py", "pkg.a", one),
                cache.file_key("a.py", "a", one)}) == 4


def test_default_directory_is_per_user_never_the_linted_tree(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory(Config(root=str(tmp_path))) == tmp_path / "xdg" / "initlint"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # XDG: only absolute paths count
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_directory(Config(root=str(tmp_path))) == (
        tmp_path / "home" / ".cache" / "initlint")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert default_directory(Config(root=str(tmp_path))) == tmp_path / "elsewhere"


def _cli(args: list[str], cwd: Path, cache_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, ENV_VAR: str(cache_dir)}
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_uses_the_cache_and_no_cache_bypasses_it(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    (pkg / "helpers.py").write_text(HELPERS.replace("nn.Linear", "nn.Conv2d"))
    bypassed = _cli(["--select", "ALL", "--no-cache", str(pkg)], tmp_path, tmp_path / "c1")
    assert bypassed.returncode == 1, bypassed.stderr
    assert not (tmp_path / "c1").exists()
    cold = _cli(["--select", "ALL", str(pkg)], tmp_path, tmp_path / "c2")
    warm = _cli(["--select", "ALL", str(pkg)], tmp_path, tmp_path / "c2")
    assert (tmp_path / "c2" / "CACHEDIR.TAG").is_file()
    assert textwrap.dedent((tmp_path / "c2" / ".gitignore").read_text()).strip().endswith("*")
    assert cold.stdout == warm.stdout == bypassed.stdout
    assert cold.returncode == warm.returncode == 1
    assert "\r" not in cold.stderr + warm.stderr  # no progress counter on a pipe


def test_partial_warm_run_with_workers_equals_a_fresh_run(tmp_path: Path) -> None:
    """Enough files for worker processes: cached facts load while workers parse the rest."""
    import shutil

    root = tmp_path / "fixtures"
    shutil.copytree(Path(__file__).resolve().parent.parent / "fixtures", root)
    files = discover([str(root)], ALL)
    assert len(files) >= 16
    cache_dir = tmp_path / "cache"
    lint_paths(files, ALL, jobs=2, cache=Cache(cache_dir))
    edited = files[: max(engine.MIN_PARALLEL_FILES, len(files) * 2 // 3)]
    for path in edited:  # enough files for the worker pool to start
        Path(path).write_text(Path(path).read_text() + "\n# edited\n")
    warm = lint_paths(files, ALL, jobs=2, cache=Cache(cache_dir))
    assert not warm.from_cache and 0 < warm.cached < len(files)
    fresh = lint_paths(files, ALL, jobs=2)
    assert _keys(warm.findings) == _keys(fresh.findings)


def test_prune_drops_stale_entries_and_old_builds_once_a_day(tmp_path: Path) -> None:
    import time

    from initlint.cache import store as cache_module

    cache = Cache(tmp_path)
    cache.put("facts", "a" * 32, "fresh")
    cache.put("facts", "b" * 32, "stale")
    old_build = Cache(tmp_path)
    old_build.base = tmp_path / f"v{cache_module.LAYOUT}" / ("0" * 32)
    old_build.put("run", "c" * 32, "from an older initlint")
    day = cache_module.DAY
    now = time.time()
    stale = now - (cache_module.MAX_AGE_DAYS + 1) * day
    os.utime(cache._entry("facts", "b" * 32), (stale, stale))
    ancient = now - (cache_module.OTHER_BUILD_DAYS + 1) * day
    for path in [old_build.base, *old_build.base.rglob("*")]:
        os.utime(path, (ancient, ancient))
    assert cache.prune(now) == 2
    assert cache.get("facts", "a" * 32) == "fresh"
    assert cache.get("facts", "b" * 32) is None
    assert not old_build.base.exists()
    cache.put("facts", "d" * 32, "x")
    os.utime(cache._entry("facts", "d" * 32), (stale, stale))
    assert cache.prune(now + 60) == 0  # pruned less than a day ago
    assert cache.prune(now + day + 1) == 1


def test_a_hit_keeps_an_entry_alive(tmp_path: Path) -> None:
    from initlint.cache import store as cache_module

    cache = Cache(tmp_path)
    cache.put("facts", "a" * 32, "value")
    entry = cache._entry("facts", "a" * 32)
    long_ago = entry.stat().st_mtime - (cache_module.MAX_AGE_DAYS + 5) * cache_module.DAY
    os.utime(entry, (long_ago, long_ago))
    assert cache.get("facts", "a" * 32) == "value"
    assert cache.prune() == 0 and entry.is_file()


def test_unknown_round_trips_through_the_cache_wherever_it_stands() -> None:
    """UNKNOWN is an enum singleton: stored twice in one entry (an untyped field, a tuple),
    it comes back as the same object each time, never as a dataclass tag."""
    from initlint.cache import codec
    from initlint.core.findings import Span
    from initlint.extract.facts import UNKNOWN, Construction

    layer = Construction("torch.nn.Linear", (("bias", UNKNOWN),), (UNKNOWN,), Span(1, 1, 1, 2),
                         "")
    value = (UNKNOWN, [UNKNOWN, 1], layer)
    back = codec.loads(codec.dumps(value))
    assert back[0] is UNKNOWN and back[1][0] is UNKNOWN
    assert back[2].args[0] is UNKNOWN and back[2].kwargs[0][1] is UNKNOWN
    assert ... is not UNKNOWN  # a literal ``...`` in linted code is a known value
