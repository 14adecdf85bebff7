"""What the fix engine costs, and what the static path saves by not loading libcst.

    python bench/bench_fix.py [--corpus DIR] [--runs 3]

Prints (best of N, wall clock):
- start-up: ``initlint check`` of one small file, and ``python -c "import libcst"`` alone
  (what every plain check would pay if the static path imported it);
- ``--diff --unsafe-fixes`` over the bundled fixtures (every rule's fixes computed);
- ``with_edits`` per file with fixes: libcst parse + positions + one transform per fix.
Measured, never asserted (shared machines: read ``uptime`` beside the numbers).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def best(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=ENV, cwd=ROOT, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def with_edits_cost(paths: list[str]) -> tuple[int, int, float]:
    """(files with fixes, fixes, seconds) for computing every fix's edits once."""
    sys.path.insert(0, str(ROOT))
    from initlint.core.config import Config
    from initlint.engine.fix import with_edits_from_files
    from initlint.engine.lint import lint_paths
    from initlint.files.discover import discover

    config = Config(select=("ALL",))
    findings = lint_paths(discover(paths, config), config, jobs=1).findings
    fixable = [f for f in findings if f.fix is not None and f.fix.changes]
    start = time.perf_counter()
    with_edits_from_files(fixable)
    return len({f.path for f in fixable}), len(fixable), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", help="also time with_edits over this directory")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    small = str(ROOT / "fixtures" / "api_misuse" / "clean_misc.py")
    check = [sys.executable, "-m", "initlint", "check", "--no-cache", small]
    print(f"load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"initlint check, one small file:  {best(check, args.runs):6.3f} s")
    libcst = [sys.executable, "-c", "import libcst, libcst.metadata"]
    bare = [sys.executable, "-c", "pass"]
    cost = best(libcst, args.runs) - best(bare, args.runs)
    print(f"import libcst (+metadata) alone: {cost:6.3f} s  (the static path does not pay it)")
    diff = [sys.executable, "-m", "initlint", "--diff", "--unsafe-fixes", "--select", "ALL",
            str(ROOT / "fixtures")]
    print(f"--diff --unsafe-fixes fixtures/: {best(diff, args.runs):6.3f} s")
    for target in [str(ROOT / "fixtures"), *([args.corpus] if args.corpus else [])]:
        files, fixes, seconds = with_edits_cost([target])
        print(f"with_edits {target}: {fixes} fixes in {files} files, {seconds:.3f} s "
              f"({1000 * seconds / max(files, 1):.1f} ms per file)")


if __name__ == "__main__":
    main()
