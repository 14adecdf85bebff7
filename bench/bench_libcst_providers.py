#!/usr/bin/env python
"""What each libcst metadata provider costs, relative to libcst's own parse, on ~100k lines
of timm and torchvision model files (the design question behind initlint's choice of
Python's ``ast`` for analysis).

    python bench/bench_libcst_providers.py [--corpus /work/corpus/site] [--lines 100000]

Each provider is resolved on a fresh ``MetadataWrapper`` (so its own dependencies are paid
for: QualifiedNameProvider includes ScopeProvider), without the wrapper's defensive deep
copy, which is measured on its own. Needs only libcst (any interpreter that has it: this
script imports nothing from initlint), so it also runs in a TorchFix virtualenv.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

PROVIDERS = {"PositionProvider": PositionProvider, "ParentNodeProvider": ParentNodeProvider,
             "ScopeProvider": ScopeProvider, "QualifiedNameProvider": QualifiedNameProvider}


def subset(corpus: Path, budget: int) -> list[Path]:
    """timm and torchvision model files in path order until ``budget`` lines."""
    files = sorted((corpus / "timm" / "models").rglob("*.py")) + \
        sorted((corpus / "torchvision" / "models").rglob("*.py"))
    out, lines = [], 0
    for path in files:
        if lines >= budget:
            break
        out.append(path)
        lines += path.read_text(encoding="utf-8").count("\n")
    return out


class _Plain(cst.CSTVisitor):
    """One full visitor pass that does nothing: the floor of any libcst rule."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.count += 1
        return True


def measure(paths: list[Path]) -> dict[str, float]:
    """Seconds per step, summed over files; one file's tree at a time (as a linter holds
    them), so the collector does not rescan a growing heap of earlier trees."""
    steps = ["ast.parse", "parse_module", "plain visitor pass", "MetadataWrapper copy",
             *PROVIDERS]
    out = dict.fromkeys(steps, 0.0)
    clock = time.perf_counter
    for path in paths:
        text = path.read_text(encoding="utf-8")
        start = clock()
        ast.parse(text)
        out["ast.parse"] += clock() - start
        start = clock()
        module = cst.parse_module(text)
        out["parse_module"] += clock() - start
        start = clock()
        module.visit(_Plain())
        out["plain visitor pass"] += clock() - start
        start = clock()
        MetadataWrapper(module)  # the default deep copy
        out["MetadataWrapper copy"] += clock() - start
        for name, provider in PROVIDERS.items():
            start = clock()
            MetadataWrapper(module, unsafe_skip_copy=True).resolve(provider)
            out[name] += clock() - start
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus/site"))
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print the timings as JSON")
    args = parser.parse_args(argv)
    paths = subset(args.corpus, args.lines)
    if not paths:
        print(f"no timm/torchvision model files under {args.corpus}", file=sys.stderr)
        return 2
    lines = sum(p.read_text(encoding="utf-8").count("\n") for p in paths)
    timings = measure(paths)
    if args.json:
        print(json.dumps({"files": len(paths), "lines": lines, "libcst": cst_version(),
                          "timings": timings}))
        return 0
    parse = timings["parse_module"]
    print(f"libcst {cst_version()} on {len(paths)} files, {lines:,} lines (one process)")
    for name, seconds in timings.items():
        print(f"  {name:<24} {seconds:8.2f} s  {seconds / parse:5.2f}× parse")
    return 0


def cst_version() -> str:
    try:
        from importlib.metadata import version

        return version("libcst")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
