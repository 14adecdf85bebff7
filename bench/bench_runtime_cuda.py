"""The runtime mode on ``cuda``: every fixture model (fixtures/runtime, fixtures/signal) built,
measured and confirmed on the GPU, with the time per model and whether the verdicts match
the CPU's. Without a CUDA GPU it says so and exits 0 (CI has none).

    python bench/bench_runtime_cuda.py [--device cuda:0] [--no-cpu]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from initlint.runtime.options import RuntimeOptions  # noqa: E402
from initlint.runtime.session import run_runtime  # noqa: E402


def fixtures() -> list[Path]:
    return sorted((ROOT / "fixtures" / "runtime").glob("*.py")) + \
        sorted((ROOT / "fixtures" / "signal").glob("*.py"))


def verdicts(report) -> dict[str, str]:
    return {f"{f.code} {f.subject}": f.runtime.status for f in report.findings
            if f.runtime is not None}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU comparison")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(f"skipped: torch {torch.__version__} sees no CUDA GPU "
              "(torch.cuda.is_available() is False)")
        return 0
    from conftest import ALL_SELECTED, lint_files
    from test_fixtures import parse_header

    print(f"device {args.device}: {torch.cuda.get_device_name(torch.device(args.device))}")
    print(f"{'model':58} {'input':28} {'s':>6}")
    mismatches = 0
    for path in fixtures():
        config, _ = parse_header(path.read_text(encoding="utf-8"))
        config = config if config is not None else ALL_SELECTED
        static = lint_files([path], config)
        gpu = run_runtime([str(path)], static, config, RuntimeOptions(device=args.device))
        for run in gpu.models:
            print(f"{run.label[:58]:58} {run.inputs[:28]:28} {run.seconds:>6.2f}")
        for skipped in gpu.skipped:
            print(f"{skipped.label[:58]:58} skipped: {skipped.reason[:60]}")
        if not args.no_cpu:
            cpu = run_runtime([str(path)], static, config, RuntimeOptions())
            if verdicts(cpu) != verdicts(gpu):
                mismatches += 1
                print(f"  verdicts differ from the CPU's: {verdicts(cpu)} vs {verdicts(gpu)}")
    print(f"{mismatches} fixture file(s) with verdicts that differ from the CPU's")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
