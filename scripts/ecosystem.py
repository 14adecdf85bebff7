#!/usr/bin/env python
"""Ecosystem regression check: lint a pinned corpus of real PyTorch packages and diff the
findings against the committed snapshot, so any change of behaviour on real code shows up
in review (like ruff's ecosystem check or pylint's primer).

Install the corpus once (source only; nothing is imported)::

    PIP_CONFIG_FILE=/dev/null pip install --no-deps --target /work/corpus/site \\
        -r ecosystem/requirements.txt

Then::

    python scripts/ecosystem.py [CORPUS]            # diff against ecosystem/snapshot.json
    python scripts/ecosystem.py [CORPUS] --update   # rewrite the snapshot

Each top-level package of the corpus is linted whole, as its own project (what a user of that
package would run), with every rule selected. Exit status: 0 same as the snapshot, 1 the
findings differ (the diff is printed), 2 initlint crashed or reported an internal error on
some package (always a bug, whatever the snapshot says).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from initlint import __version__  # noqa: E402
from initlint.cache.store import Cache  # noqa: E402
from initlint.core.config import Config  # noqa: E402
from initlint.engine.lint import lint_paths  # noqa: E402
from initlint.files.discover import discover  # noqa: E402

DEFAULT_CORPUS = Path("/work/corpus/site")
SNAPSHOT = REPO / "ecosystem" / "snapshot.json"
REQUIREMENTS = REPO / "ecosystem" / "requirements.txt"
SKIP_SUFFIXES = (".dist-info", ".egg-info", ".libs", ".data")
SKIP_NAMES = {"bin", "__pycache__"}

Row = tuple[str, str, int, str]  # code, file relative to the corpus root, row, message


def packages(corpus: Path) -> list[Path]:
    """Top-level directories holding Python code (packages, and stray ``tests`` trees)."""
    out = []
    for entry in sorted(corpus.iterdir()):
        if not entry.is_dir() or entry.name in SKIP_NAMES or entry.name.endswith(SKIP_SUFFIXES):
            continue
        if next(entry.rglob("*.py"), None) is not None:
            out.append(entry)
    return out


def installed_versions(corpus: Path) -> dict[str, str]:
    versions = {}
    for meta in sorted(corpus.glob("*.dist-info/METADATA")):
        fields = dict(line.split(": ", 1) for line in meta.read_text(errors="replace")
                      .splitlines()[:10] if ": " in line)
        if "Name" in fields and "Version" in fields:
            versions[_normal(fields["Name"])] = fields["Version"]
    return versions


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def lint_package(package: Path, corpus: Path, config: Config, jobs: int | None,
                 cache: Cache | None) -> tuple[list[Row], int, list[str]]:
    """Findings of one package as rows, its file count, and the internal errors seen."""
    files = discover([str(package)], config)
    result = lint_paths(files, config, jobs=jobs, cache=cache)
    rows: list[Row] = []
    internal: list[str] = []
    for finding in result.findings:
        rel = Path(finding.path).resolve().relative_to(corpus.resolve()).as_posix()
        rows.append((finding.code, rel, finding.span.row, finding.message))
        if "internal error" in finding.message:
            internal.append(f"{rel}:{finding.span.row}: {finding.code} {finding.message}")
    return sorted(rows), len(files), internal


def run(corpus: Path, config: Config, jobs: int | None, cache: Cache | None,
        only: set[str]) -> tuple[dict, list[str]]:
    results: dict[str, dict] = {}
    problems: list[str] = []
    for package in packages(corpus):
        if only and package.name not in only:
            continue
        start = time.perf_counter()
        try:
            rows, count, internal = lint_package(package, corpus, config, jobs, cache)
        except Exception:
            problems.append(f"{package.name}: initlint crashed\n{traceback.format_exc()}")
            continue
        problems += [f"{package.name}: {line}" for line in internal]
        results[package.name] = {"files": count, "findings": [list(r) for r in rows]}
        print(f"  {package.name:<36} {count:5d} files {len(rows):5d} findings "
              f"{time.perf_counter() - start:7.1f} s", file=sys.stderr)
    return results, problems


def diff(old: dict, new: dict) -> list[str]:
    """Readable lines: per package, findings gone (-) and new (+), then counts per rule."""
    lines: list[str] = []
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for name in sorted(set(old) | set(new)):
        if name not in new:
            lines.append(f"package {name}: missing from this run")
            continue
        if name not in old:
            lines.append(f"package {name}: not in the snapshot")
        before = {tuple(r) for r in old.get(name, {}).get("findings", [])}
        after = {tuple(r) for r in new[name]["findings"]}
        removed, added = sorted(before - after), sorted(after - before)
        if not (removed or added):
            continue
        lines.append(f"--- {name}: {len(removed)} gone, {len(added)} new")
        for sign, rows in (("-", removed), ("+", added)):
            for code, rel, row, message in rows:
                lines.append(f"{sign} {rel}:{row}: {code} {message}")
                (lost if sign == "-" else gained)[code] += 1
    if gained or lost:
        lines.append("per rule: " + ", ".join(
            f"{code} +{gained[code]} -{lost[code]}" for code in sorted(set(gained) | set(lost))))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--update", action="store_true", help="rewrite the snapshot")
    parser.add_argument("--select", default="ALL", help="rule codes (default: ALL)")
    parser.add_argument("--package", action="append", default=[],
                        help="only this top-level package (repeatable; never with --update)")
    parser.add_argument("--jobs", "-j", type=int, default=None)
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"ecosystem: no corpus at {args.corpus}; install it with\n  "
              f"PIP_CONFIG_FILE=/dev/null pip install --no-deps --target {args.corpus} "
              f"-r {REQUIREMENTS.relative_to(REPO)}", file=sys.stderr)
        return 2
    if args.update and args.package:
        parser.error("--update rewrites the whole snapshot: drop --package")
    config = Config(select=tuple(c.strip() for c in args.select.split(",") if c.strip()))
    cache = None if args.no_cache else Cache.for_config(Config(root=str(REPO)))
    installed, pins = installed_versions(args.corpus), pinned_versions()
    drift = sorted(f"{n}: pinned {v}, installed {installed.get(n, 'nothing')}"
                   for n, v in pins.items() if installed.get(n) != v)
    for line in drift:
        print(f"ecosystem: warning: {line}", file=sys.stderr)
    start = time.perf_counter()
    results, problems = run(args.corpus, config, args.jobs, cache, set(args.package))
    total = sum(len(r["findings"]) for r in results.values())
    print(f"ecosystem: {len(results)} packages, {sum(r['files'] for r in results.values())} "
          f"files, {total} findings in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    for problem in problems:
        print(f"ecosystem: CRASH {problem}", file=sys.stderr)
    if args.update:
        snapshot = {"initlint": __version__, "select": args.select,
                    "corpus": {n: installed.get(n, "") for n in sorted(pins)},
                    "packages": results}
        args.snapshot.parent.mkdir(parents=True, exist_ok=True)
        args.snapshot.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n")
        print(f"ecosystem: wrote {args.snapshot}", file=sys.stderr)
        return 2 if problems else 0
    if not args.snapshot.is_file():
        print(f"ecosystem: no snapshot at {args.snapshot}; run with --update", file=sys.stderr)
        return 2
    old = json.loads(args.snapshot.read_text())
    if old.get("select") != args.select:
        print(f"ecosystem: warning: snapshot taken with --select {old.get('select')}",
              file=sys.stderr)
    expected = old["packages"]
    if args.package:
        expected = {k: v for k, v in expected.items() if k in set(args.package)}
    lines = diff(expected, results)
    for line in lines:
        print(line)
    if problems:
        return 2
    if lines:
        print(f"ecosystem: findings differ from {args.snapshot.name} "
              f"(if intended: python scripts/ecosystem.py --update)", file=sys.stderr)
        return 1
    print("ecosystem: no change", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
