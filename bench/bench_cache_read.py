#!/usr/bin/env python
"""What reading the cache costs: the warm run (nothing changed: one run entry), the decode
of every file's facts entry, and a run after editing one file (which decodes the others'
facts, then links and checks them all), over a copy of one corpus.

Run it once per initlint tree to compare two builds on one machine in one sitting (the
integrity digest and type checks of entries must cost under 5% of either):

    PYTHONPATH=/tmp/base python bench/bench_cache_read.py
    PYTHONPATH=. python bench/bench_cache_read.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import best_cpu

import initlint
from initlint.cache.store import Cache
from initlint.core.config import Config
from initlint.engine.lint import lint_paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path,
                        default=Path("/work/corpus/site/timm/models"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"  # a copy: one of its files gets edited
        shutil.copytree(args.corpus, corpus)
        files = sorted(str(p) for p in corpus.rglob("*.py"))
        root = Path(scratch) / "cache"
        lint_paths(files, Config(), jobs=2, cache=Cache(root))  # cold: fills the cache
        keys = [(entry.parent.parent.name, entry.name)
                for entry in Cache(root).base.rglob("*") if entry.is_file()]
        facts = [key for kind, key in keys if kind == "facts"]

        def decode_all() -> None:
            cache = Cache(root)
            assert all(cache.get("facts", key) is not None for key in facts)

        def warm() -> None:
            assert lint_paths(files, Config(), jobs=2, cache=Cache(root)).from_cache

        edit = Path(max(files, key=os.path.getsize))  # surely holds models

        def edited() -> None:  # one file changed: every other file's facts are decoded
            edit.write_text(original + f"\nEDIT = {time.monotonic_ns()}\n")
            assert not lint_paths(files, Config(), jobs=2, cache=Cache(root)).from_cache

        original = edit.read_text()
        decode, warm_s = best_cpu(args.repeat, decode_all), best_cpu(args.repeat, warm)
        edit_s = best_cpu(args.repeat, edited)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"initlint {Path(initlint.__file__).parent}: {len(files)} files, "
          f"{len(facts)} facts entries; best of {args.repeat}")
    print(f"  decode every facts entry: {decode * 1000:8.1f} ms CPU")
    print(f"  warm run (nothing changed): {warm_s * 1000:6.1f} ms CPU")
    print(f"  run after editing one file: {edit_s * 1000:6.1f} ms CPU (this process)")
    print(f"  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
