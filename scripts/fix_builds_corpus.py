#!/usr/bin/env python
"""Fixes never break a real model (issue 22): for each package of the ecosystem corpus, apply
``--fix --unsafe-fixes --select ALL`` to a copy of it, and build every default-constructible
``nn.Module`` of each fixed file before (the corpus as installed) and after (the fixed copy).

The models are built by the runtime mode's isolated children, the same code as
``--fix --verify`` (:func:`initlint.runtime.verify.draw_texts`): this process never imports
torch nor the corpus. The corpus directory is the children's project root, so each package
imports its dependencies (timm, torchvision...) from the corpus, while the fixed package itself
comes from the copy (the runtime loader maps a linted file's top-level package to its root).

Usage::

    python scripts/fix_builds_corpus.py [CORPUS] [--packages a,b] [--json OUT] [--deps DIR]

The corpus is installed with ``--no-deps``, so a file importing tqdm, einops or colorlog
cannot be built at all; ``--deps`` names a directory of such packages for the children.

Exit status: 0 no model stops building, 1 some did (each is printed with its error).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from initlint.runtime.draw import ERROR  # no torch: the parent side only
from initlint.runtime.verify import Draws, draw_texts

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "ecosystem" / "snapshot.json"
FLAGS = ["--select", "ALL", "--unsafe-fixes"]


@dataclass(frozen=True)
class Broken:
    """A model that built from the original file and not from the fixed one."""

    file: str
    model: str
    error: str


@dataclass
class PackageReport:
    package: str
    files_fixed: list[str] = field(default_factory=list)
    models_tried: int = 0  # default-constructible classes of the fixed files, built or not
    models_built: int = 0
    broken: list[Broken] = field(default_factory=list)
    not_tried: list[str] = field(default_factory=list)  # file: why no model was built before
    seconds: float = 0.0


def _initlint(args: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the linter needs no dependency
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def files_with_fixes(target: Path) -> list[Path]:
    """The files where ``--select ALL --unsafe-fixes`` offers a fix."""
    done = _initlint([str(target), *FLAGS, "--output-format", "json"], str(target.parent))
    findings = json.loads(done.stdout or "[]")
    return sorted({Path(f["filename"]).resolve() for f in findings if f.get("fix")})


def _draw(path: Path, text: str, site: Path) -> Draws:
    """Build ``path``'s models from ``text`` in a child whose project root is ``site``."""
    here = os.getcwd()
    os.chdir(site)  # draw_texts gives the child the working directory as its root
    try:
        return draw_texts(str(path), [text])
    finally:
        os.chdir(here)


def check_package(site: Path, name: str, work: Path) -> PackageReport:
    start = time.monotonic()
    report = PackageReport(name)
    original = site / name if (site / name).is_dir() else site / f"{name}.py"
    if not original.exists():
        report.not_tried.append(f"{original}: not in the corpus")
        return report
    fixable = files_with_fixes(original)
    if not fixable:
        report.seconds = time.monotonic() - start
        return report
    copy = work / original.name
    if original.is_dir():
        shutil.copytree(original, copy, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy2(original, copy)
    _initlint([str(copy), *FLAGS, "--fix"], str(work))
    for path in fixable:
        fixed = copy / path.relative_to(original) if original.is_dir() else copy
        before, after = path.read_text(), fixed.read_text()
        rel = str(path.relative_to(site))
        if before == after:
            continue
        report.files_fixed.append(rel)
        was = _draw(path, before, site)
        if was.failure or not was.versions:
            report.not_tried.append(f"{rel}: {was.failure or 'nothing built'}")
            continue
        report.models_tried += len(was.versions[0])
        built = {k for k, v in was.versions[0].items() if not v.startswith(ERROR)}
        report.models_built += len(built)
        if not built:
            continue
        now = _draw(fixed, after, site)
        if now.failure or not now.versions:
            report.broken += [Broken(rel, k, f"the fixed file: {now.failure}")
                              for k in sorted(built)]
            continue
        both = Draws((was.versions[0], now.versions[0]))
        report.broken += [Broken(rel, k, e) for k, e in sorted(both.broken(1).items())]
    report.seconds = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default="/work/corpus/site")
    parser.add_argument("--packages", help="comma-separated top-level names (default: all "
                        "of ecosystem/snapshot.json)")
    parser.add_argument("--json", help="write the per-package report here (JSON)")
    parser.add_argument("--deps", help="a directory of the corpus's third-party imports "
                        "(it is installed with --no-deps), put on the children's PYTHONPATH")
    args = parser.parse_args(argv)
    if args.deps:
        paths = [os.path.abspath(args.deps), os.environ.get("PYTHONPATH", "")]
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        sys.path.append(paths[0])  # the forkserver children start from this process's path
    site = Path(args.corpus).resolve()
    if not site.is_dir():
        print(f"no corpus at {site}", file=sys.stderr)
        return 2
    names = (args.packages.split(",") if args.packages
             else sorted(json.loads(SNAPSHOT.read_text())["packages"]))
    reports = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="fixbuilds-") as work:
            report = check_package(site, name, Path(work))
        reports.append(report)
        print(f"{name}: {len(report.files_fixed)} files fixed, {report.models_tried} models "
              f"tried, {report.models_built} built, {len(report.broken)} broken "
              f"({report.seconds:.0f}s)", flush=True)
        for b in report.broken:
            print(f"  BROKEN {b.file} {b.model}: {b.error}", flush=True)
        for why in report.not_tried:
            print(f"  not built: {why}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps([asdict(r) for r in reports], indent=1))
    broken = sum(len(r.broken) for r in reports)
    print(f"total: {len(reports)} packages, {sum(len(r.files_fixed) for r in reports)} files "
          f"fixed, {sum(r.models_tried for r in reports)} models tried, "
          f"{sum(r.models_built for r in reports)} built, {broken} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
