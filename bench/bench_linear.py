#!/usr/bin/env python
"""Does the cost grow with the input, and no faster? Two inputs 4× apart, measured in one
run, in this process (CPU time, best of N: the machine is shared; read the load average):

- ``--fix`` of one class with 50 vs 200, and 100 vs 400, fixable findings (``fix_text``);
- ``check`` of one file with 1,250 vs 5,000 model classes (``lint_paths``, no cache).

A ratio near 4 is linear; the issue's attack measured 14× and 13×.

    python bench/bench_linear.py [--repeat 3] [--fix-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import best_cpu

from initlint.core.config import Config
from initlint.engine.fix import fix_text
from initlint.engine.lint import lint_paths

HEAD = "import torch.nn as nn\n\n\n"


def fixable(count: int) -> str:
    """One model whose ``__init__`` has ``count`` deprecated-alias inits (INI001, safe)."""
    body = "".join(f"        self.l{i} = nn.Linear(4, 4)\n"
                   f"        nn.init.xavier_uniform(self.l{i}.weight)\n" for i in range(count))
    return (HEAD + "class Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n" + body)


def classes(count: int) -> str:
    """``count`` small models, each with one finding."""
    return HEAD + "".join(
        f"class Net{i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        f"        self.fc = nn.Linear(4, 4)\n        nn.init.xavier_uniform(self.fc.weight)"
        "\n\n\n" for i in range(count))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fix-only", action="store_true", help="only the --fix cases")
    args = parser.parse_args(argv)

    def fix(path: str) -> object:
        return fix_text(path, Path(path).read_text(), Config())

    cases = [("--fix, fixable findings in one class", fixable, 50, 200, fix),
             ("--fix, fixable findings in one class", fixable, 100, 400, fix)]
    if not args.fix_only:
        cases.append(("check, model classes in one file", classes, 1250, 5000,
                      lambda path: lint_paths([path], Config(), jobs=1)))
    with tempfile.TemporaryDirectory() as scratch:
        for label, make, small, big, run in cases:
            seconds = []
            for count in (small, big):
                path = os.path.join(scratch, f"m{count}.py")
                Path(path).write_text(make(count))
                seconds.append(best_cpu(args.repeat, lambda path=path, run=run: run(path)))
            print(f"{label}: {small}: {seconds[0]:.2f} s, {big}: {seconds[1]:.2f} s CPU, "
                  f"ratio {seconds[1] / seconds[0]:.1f} (linear: {big / small:.0f})")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
