#!/usr/bin/env python
"""initlint at scale, side by side with the issue's anchors, in one run.

Over the model sources of timm, torchvision and transformers (``*/models``: 2,724 files,
1.16M lines in the pinned corpus), measures

- ``ast.parse`` of every file, one process (the floor of initlint's own parse);
- ``libcst.parse_module`` of every file, one process (the floor of a libcst linter);
- initlint cold (empty cache, workers on every core), warm (nothing changed), after editing
  one file, and with ``--no-cache``: wall and CPU time, peak memory of the process tree;
- TorchFix 0.7.0 on a subset (it needs libcst 1.5: give a Python that has it with
  ``--torchfix-python``, e.g. a venv made by
  ``python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install torchfix==0.7.0``),
  extrapolated to the whole set by lines, and initlint cold on the same subset;
- optionally (``--providers``) the cost of each libcst metadata provider on 100k lines
  (bench/bench_libcst_providers.py);

then prints ratios against the targets: cold ≤ 0.7 × libcst parse-only, warm ≤ 0.05 × cold,
peak memory ≤ 500 MB. The machine is shared? Look at the load average it prints.

    python bench/bench_scale.py [--corpus /work/corpus/site] [--jobs 2]
        [--torchfix-python /tmp/tfvenv/bin/python] [--torchfix-files 150] [--providers]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import Measured, measure  # noqa: E402

PACKAGES = ("timm", "torchvision", "transformers")

PARSE_SCRIPT = """
import sys, time
paths = open(sys.argv[2]).read().split("\\0")
if sys.argv[1] == "libcst":
    import libcst
    parse = libcst.parse_module
else:
    import ast
    parse = ast.parse
texts = [open(p, encoding="utf-8").read() for p in paths]
start = time.perf_counter()
for text in texts:
    parse(text)
print(time.perf_counter() - start)
"""


def copy_sources(corpus: Path, target: Path) -> list[Path]:
    """The ``models`` trees of the three packages (and their package ``__init__`` files, so
    module names stay what they are in the corpus), under ``target``."""
    roots = []
    for name in PACKAGES:
        source = corpus / name / "models"
        if not source.is_dir():
            raise SystemExit(f"bench: {source} not found (install the corpus: see "
                             "ecosystem/requirements.txt)")
        (target / name).mkdir(parents=True)
        shutil.copy2(corpus / name / "__init__.py", target / name / "__init__.py")
        shutil.copytree(source, target / name / "models",
                        ignore=shutil.ignore_patterns("__pycache__"))
        roots.append(target / name / "models")
    return roots


def python_files(roots: list[Path]) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py"))


def lines_of(paths: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in paths)


def parse_only(python: str, kind: str, paths: list[Path], scratch: Path) -> float:
    """Seconds spent parsing (reading excluded), one process, modules discarded."""
    listing = scratch / f"{kind}.files"
    listing.write_text("\0".join(str(p) for p in paths))
    result = measure([python, "-c", PARSE_SCRIPT, kind, str(listing)])
    if result.returncode != 0:
        raise SystemExit(f"bench: {kind} parse failed:\n{result.stderr}")
    return float(result.stdout.strip().splitlines()[-1])


def initlint(paths: list[Path | str], jobs: int, cache: Path | None,
             extra: tuple[str, ...] = ()) -> Measured:
    env = {**os.environ}
    command = [sys.executable, "-m", "initlint", "check", *map(str, paths), "--exit-zero",
               "--output-format", "json", "-j", str(jobs), *extra]
    if cache is None:
        command.append("--no-cache")
    else:
        env["INITLINT_CACHE_DIR"] = str(cache)
    result = measure(command, env=env)
    if result.returncode != 0:
        raise SystemExit(f"bench: initlint failed ({result.returncode}):\n{result.stderr}")
    return result


def torchfix(python: str, paths: list[Path], jobs: int) -> Measured | None:
    probe = measure([python, "-c", "import torchfix"])
    if probe.returncode != 0:
        return None
    return measure([python, "-m", "torchfix", "-j", str(jobs), *map(str, paths)])


def spread(paths: list[Path], count: int) -> list[Path]:
    """``count`` files spread evenly over the sorted list (all three packages)."""
    if count >= len(paths):
        return list(paths)
    step = len(paths) / count
    return [paths[int(i * step)] for i in range(count)]


def _fmt(name: str, m: Measured, note: str = "") -> str:
    return f"  {name:<38} {m.wall:8.2f} {m.cpu:8.2f} {m.rss_mb:8.0f} {m.pss_mb:8.0f}  {note}"


def _verdict(ok: bool) -> str:
    return "✓" if ok else "✗"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus/site"))
    parser.add_argument("--jobs", "-j", type=int,
                        default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count() or 1)
    parser.add_argument("--libcst-python", default=sys.executable,
                        help="interpreter whose libcst is timed (default: this one)")
    parser.add_argument("--torchfix-python", default=sys.executable,
                        help="interpreter with torchfix==0.7.0 installed")
    parser.add_argument("--torchfix-files", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3,
                        help="initlint runs of each kind; the best is reported (default 3)")
    parser.add_argument("--skip-libcst", action="store_true", help="skip the ~100 s parse")
    parser.add_argument("--providers", action="store_true",
                        help="also time each libcst metadata provider on 100k lines")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="initlint-bench-"))
    try:
        return _run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args: argparse.Namespace, scratch: Path) -> int:
    roots = copy_sources(args.corpus, scratch / "src")
    paths = python_files(roots)
    total_lines = lines_of(paths)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    print(f"initlint scale bench: {len(paths):,} files, {total_lines:,} lines "
          f"({', '.join(p + '/models' for p in PACKAGES)})")
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores (using {args.jobs}), Python {platform.python_version()}, "
          f"load average {load[0]:.1f}")
    numbers: dict[str, Any] = {"files": len(paths), "lines": total_lines}

    numbers["ast_parse"] = parse_only(sys.executable, "ast", paths, scratch)
    if not args.skip_libcst:
        numbers["libcst_parse"] = parse_only(args.libcst_python, "libcst", paths, scratch)

    colds, warms, edits, no_caches = [], [], [], []
    edited = paths[len(paths) // 2]
    original = edited.read_bytes()
    for attempt in range(args.repeat):  # best of N: the machine may be shared
        cache = scratch / f"cache{attempt}"
        colds.append(initlint(roots, args.jobs, cache))
        warms.append(initlint(roots, args.jobs, cache))
        edited.write_bytes(original + f"\n# edited {attempt}\n".encode())
        edits.append(initlint(roots, args.jobs, cache))
        edited.write_bytes(original)
        no_caches.append(initlint(roots, args.jobs, None))
    cold, warm, one_edit, no_cache = (min(runs, key=lambda m: m.wall)
                                      for runs in (colds, warms, edits, no_caches))
    findings = len(json.loads(cold.stdout))
    assert all(m.stdout == cold.stdout for m in colds + warms + no_caches), \
        "runs disagree (warm vs cold vs --no-cache)"
    one_job = initlint(roots, 1, None)
    numbers.update(cold=cold.wall, cold_cpu=cold.cpu, warm=warm.wall, one_edit=one_edit.wall,
                   no_cache=no_cache.wall, one_job=one_job.wall, one_job_cpu=one_job.cpu,
                   peak_rss_mb=max(m.rss_mb for m in colds + warms + edits + no_caches),
                   peak_pss_mb=max(m.pss_mb for m in colds + warms + edits + no_caches),
                   findings=findings, repeat=args.repeat,
                   cold_runs=[round(m.wall, 2) for m in colds],
                   warm_runs=[round(m.wall, 2) for m in warms])

    subset = spread(paths, args.torchfix_files)
    subset_lines = lines_of(subset)
    tf = torchfix(args.torchfix_python, subset, args.jobs)
    il_subset = initlint(subset, args.jobs, None)

    print(f"\n  {'step':<38} {'wall s':>8} {'cpu s':>8} {'RSS MB':>8} {'PSS MB':>8}")
    print(f"  {'ast.parse, 1 process':<38} {numbers['ast_parse']:8.2f}")
    if "libcst_parse" in numbers:
        print(f"  {'libcst.parse_module, 1 process':<38} {numbers['libcst_parse']:8.2f}")
    print(_fmt(f"initlint cold (-j {args.jobs})", cold,
               f"{findings} findings; runs {', '.join(f'{m.wall:.1f}' for m in colds)}"))
    print(_fmt("initlint warm (nothing changed)", warm,
               f"runs {', '.join(f'{m.wall:.2f}' for m in warms)}"))
    print(_fmt("initlint warm, one file edited", one_edit))
    print(_fmt(f"initlint --no-cache (-j {args.jobs})", no_cache))
    print(_fmt("initlint --no-cache -j 1", one_job))
    note = f"{len(subset)} files, {subset_lines:,} lines"
    print(_fmt("initlint --no-cache, TorchFix subset", il_subset, note))
    if tf is not None:
        estimate = tf.wall * total_lines / max(subset_lines, 1)
        numbers.update(torchfix_subset=tf.wall, torchfix_estimate=estimate,
                       initlint_subset=il_subset.wall)
        print(_fmt(f"TorchFix 0.7.0 (-j {args.jobs}), same subset", tf,
                   f"→ ~{estimate:,.0f} s for all {len(paths):,} files (by lines)"))
    else:
        print(f"  TorchFix: skipped (no torchfix in {args.torchfix_python}; "
              f"pip install torchfix==0.7.0 in a venv, pass --torchfix-python)")

    print("\nratios")
    if "libcst_parse" in numbers:
        ratio = cold.wall / numbers["libcst_parse"]
        numbers["cold_over_libcst"] = ratio
        print(f"  cold / libcst parse-only       {ratio:6.3f}  (target ≤ 0.7)  "
              f"{_verdict(ratio <= 0.7)}")
    ratio = warm.wall / cold.wall
    numbers["warm_over_cold"] = ratio
    print(f"  warm / cold                    {ratio:6.3f}  (target ≤ 0.05) "
          f"{_verdict(ratio <= 0.05)}")
    print(f"  one edit / cold                {one_edit.wall / cold.wall:6.3f}")
    peak = numbers["peak_rss_mb"]
    print(f"  peak memory (RSS sum)          {peak:6.0f} MB (target ≤ 500; PSS "
          f"{numbers['peak_pss_mb']:.0f} MB) {_verdict(peak <= 500)}")
    print(f"  cold / ast.parse-only          {cold.wall / numbers['ast_parse']:6.2f}")
    if tf is not None:
        print(f"  TorchFix / initlint, same subset {tf.wall / il_subset.wall:6.1f}×  "
              f"(target ≥ 15×) {_verdict(tf.wall / il_subset.wall >= 15)}")
        print(f"  TorchFix (est. all) / cold     "
              f"{numbers['torchfix_estimate'] / cold.wall:6.1f}×")
    if args.providers:
        print()
        providers = measure([args.libcst_python, str(HERE / "bench_libcst_providers.py"),
                             "--corpus", str(args.corpus)])
        print(providers.stdout or providers.stderr, end="")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
