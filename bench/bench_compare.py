#!/usr/bin/env python
"""Two checkouts of initlint side by side on the same sources: did a change slow the static
path? Runs are interleaved (A, B, A, B, ...) so a shared machine's load hits both alike, and
the best of N is kept for each kind of run: cold (empty cache), warm (nothing changed), one
file edited, ``--no-cache``. Wall and CPU time (the whole process tree) are both reported:
on a loaded machine CPU time is the steadier of the two.

    python bench/bench_compare.py --before /tmp/old-checkout --after . \\
        [--corpus /work/corpus/site] [--packages timm torchvision] [--repeat 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import Measured, measure  # noqa: E402

KINDS = ("cold", "warm", "one_edit", "no_cache")


def copy_models(corpus: Path, packages: list[str], target: Path) -> list[Path]:
    roots = []
    for name in packages:
        (target / name).mkdir(parents=True)
        shutil.copy2(corpus / name / "__init__.py", target / name / "__init__.py")
        shutil.copytree(corpus / name / "models", target / name / "models",
                        ignore=shutil.ignore_patterns("__pycache__"))
        roots.append(target / name / "models")
    return roots


def run(tree: Path, roots: list[Path], jobs: int, cache: Path | None) -> Measured:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "initlint", "check", *map(str, roots), "--exit-zero",
               "--output-format", "json", "-j", str(jobs)]
    if cache is None:
        command.append("--no-cache")
    else:
        env["INITLINT_CACHE_DIR"] = str(cache)
    result = measure(command, env=env)
    if result.returncode != 0:
        raise SystemExit(f"bench: {tree}: initlint failed:\n{result.stderr[-2000:]}")
    return result


def one_round(tree: Path, roots: list[Path], edited: Path, jobs: int,
              scratch: Path) -> dict[str, Measured]:
    cache = Path(tempfile.mkdtemp(dir=scratch))
    shutil.rmtree(cache)  # initlint creates it (0700) itself
    original = edited.read_bytes()
    out = {"cold": run(tree, roots, jobs, cache), "warm": run(tree, roots, jobs, cache)}
    edited.write_bytes(original + b"\n# edited\n")
    try:
        out["one_edit"] = run(tree, roots, jobs, cache)
    finally:
        edited.write_bytes(original)
    out["no_cache"] = run(tree, roots, jobs, None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=HERE.parent)
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus/site"))
    parser.add_argument("--packages", nargs="+", default=["timm", "torchvision"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", "-j", type=int, default=2)
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    with tempfile.TemporaryDirectory(prefix="initlint-compare-") as tmp:
        scratch = Path(tmp)
        roots = copy_models(args.corpus, args.packages, scratch / "src")
        files = sorted(p for root in roots for p in root.rglob("*.py"))
        edited = files[len(files) // 2]
        best: dict[str, dict[str, Measured]] = {name: {} for name in trees}
        outputs: dict[str, set[str]] = {name: set() for name in trees}
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        print(f"{len(files)} files ({', '.join(args.packages)}), -j {args.jobs}, best of "
              f"{args.repeat}, load average {load:.1f} at start")
        for attempt in range(args.repeat):
            order = list(trees) if attempt % 2 == 0 else list(reversed(trees))
            for name in order:
                measured = one_round(trees[name], roots, edited, args.jobs, scratch)
                for kind, result in measured.items():
                    if kind != "one_edit":
                        outputs[name].add(result.stdout)
                    kept = best[name].get(kind)
                    if kept is None or result.wall < kept.wall:
                        best[name][kind] = result
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        print(f"load average {load:.1f} at the end")
        print(f"\n  {'run':<10} {'before wall':>12} {'after wall':>11} {'ratio':>7} "
              f"{'before cpu':>11} {'after cpu':>10} {'ratio':>7}")
        for kind in KINDS:
            b, a = best["before"][kind], best["after"][kind]
            print(f"  {kind:<10} {b.wall:12.2f} {a.wall:11.2f} {a.wall / b.wall:7.3f} "
                  f"{b.cpu:11.2f} {a.cpu:10.2f} {a.cpu / b.cpu:7.3f}")
        same = all(len(found) == 1 for found in outputs.values())
        print(f"\nfindings identical across cold/warm/--no-cache within each tree: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
