"""The runtime mode on healthy real architectures, and on the planted-bug fixtures.

    /work/zoo-venv/bin/python bench/bench_zoo.py          # PYTHONPATH=<this tree>

The ratio is the time inside the child (meta estimate, build, input search, forward,
backward, hooks) over the baseline; "job s" adds the fork and the import of the model's
package (transformers: seconds), which a notebook pays once.

Needs torchvision, timm and transformers (a separate venv: PyPI's torchvision does not import
with this project's CPU torch). Prints, per zoo model: its input, the runtime-only findings
(there must be none: these models are healthy), the time of the isolated runtime job (fork,
meta estimate, build, input search, forward, backward, hooks) and its ratio to one build +
one forward/backward of the same model on the same input, timed in a fresh process. Then,
per planted-bug fixture (fixtures/runtime, fixtures/signal), whether every static finding
the runtime measures was confirmed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from initlint.core.config import Config  # noqa: E402
from initlint.runtime.options import ModelSpec, RuntimeOptions, TensorSpec  # noqa: E402
from initlint.runtime.session import run_runtime  # noqa: E402

IDS = (("input_ids", TensorSpec((8, 16), "long")),)
ZOO = [
    ModelSpec("zoo_models:tv_resnet50"),
    ModelSpec("zoo_models:tv_resnet18"),
    ModelSpec("zoo_models:tv_mobilenet_v3_small"),
    ModelSpec("zoo_models:tv_vit"),
    ModelSpec("zoo_models:tv_efficientnet_b0"),
    ModelSpec("zoo_models:timm_convnext_atto"),
    ModelSpec("zoo_models:timm_vit_tiny"),
    ModelSpec("zoo_models:timm_efficientnet_b0"),
    ModelSpec("zoo_models:timm_resnet26d"),
    ModelSpec("zoo_models:hf_bert"),
    ModelSpec("zoo_models:hf_gpt2"),
    ModelSpec("zoo_models:hf_gpt2_small"),
    ModelSpec("zoo_models:hf_t5", inputs=(("input_ids", TensorSpec((8, 16), "long")), (
        "decoder_input_ids", TensorSpec((8, 8), "long")))),
    ModelSpec("zoo_models:hf_llama"),
    ModelSpec("zoo_models:hf_mistral"),
    ModelSpec("zoo_models:hf_vit", input=(8, 3, 64, 64)),
    ModelSpec("zoo_models:hf_mamba"),
    ModelSpec("zoo_models:hf_rwkv"),
]
COST = ("zoo_models:tv_resnet50", "zoo_models:hf_gpt2_small")
ALL_COSTS = False

BASELINE = """
import sys, time, json, importlib
sys.path[:0] = {paths!r}
import torch
factory = getattr(importlib.import_module({module!r}), {attr!r})
importlib.import_module({package!r})  # imported before the clock starts, as in a notebook
shapes = {shapes!r}
torch.manual_seed(0)
begun = time.perf_counter()
model = factory()
model.train()
def make(shape, dtype):
    return torch.randint(0, 1000, shape) if dtype.startswith("int") else torch.randn(shape)
args = [make(s, d) for n, s, d in shapes if not n]
kwargs = {{n: make(s, d) for n, s, d in shapes if n}}
out = model(*args, **kwargs)
out = out[0] if isinstance(out, (tuple, list)) else getattr(out, "last_hidden_state", out)
out.float().pow(2).mean().backward()
print(json.dumps(time.perf_counter() - begun))
"""


def baseline(spec: ModelSpec, run) -> float | None:
    """One build + one forward/backward of the model itself, on the input the runtime used."""
    shapes = _shapes(run.inputs)
    package = {"tv": "torchvision", "timm": "timm", "hf": "transformers"}[spec.attr.split("_")[0]]
    code = BASELINE.format(paths=[str(ROOT / "bench"), str(ROOT)], module=spec.module,
                           attr=spec.attr, shapes=shapes, package=package)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=900)
    try:
        return float(json.loads(result.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        print(result.stderr[-2000:], file=sys.stderr)
        return None


def _shapes(described: str) -> list[tuple[str, tuple[int, ...], str]]:
    """'input_ids=(8, 16) token ids, ...' → [(name, shape, dtype)]."""
    import re

    out = []
    for name, dims, kind in re.findall(r"(?:(\w+)=)?\(([\d, ]+)\) ([\w ]+)", described):
        shape = tuple(int(d) for d in dims.split(",") if d.strip())
        out.append((name, shape, "int64" if "token" in kind else kind.strip()))
    return out


def _timed_jobs() -> dict[str, float]:
    """Wall time of each isolated measure job (fork, imports, meta estimate, build, inputs,
    forward, backward), without the fork server's one start per initlint run."""
    from initlint.runtime import isolate

    times: dict[str, float] = {}
    real = isolate.run_job

    def timed(job, payload, *args, **kwargs):
        begun = time.perf_counter()
        try:
            return real(job, payload, *args, **kwargs)
        finally:
            if job == "measure":
                times[payload["label"]] = time.perf_counter() - begun

    isolate.run_job = timed
    return times


def zoo(device: str) -> None:
    os.chdir(ROOT / "bench")
    times = _timed_jobs()
    print(f"{'model':24} {'input':44} {'runtime-only':>12} {'job s':>6} {'in-child s':>10} "
          f"{'build+f/b s':>11} {'ratio':>5}")
    for spec in ZOO:
        options = RuntimeOptions(device=device, models=(spec,), only_named=True,
                                 root=str(ROOT / "bench"))
        report = run_runtime([], [], Config(), options)
        wall = times.get(spec.target, float("nan"))
        name = spec.attr
        if not report.models:
            print(f"{name:24} not run: {report.skipped[0].reason if report.skipped else '?'}")
            continue
        [run] = report.models
        found = [f for f in report.findings if f.message.startswith("measured:")]
        base = baseline(spec, run) if spec.target in COST or ALL_COSTS else None
        ratio = f"{run.seconds / base:.2f}" if base else "-"
        print(f"{name:24} {run.inputs[:44]:44} {len(found):>12} {wall:>6.2f} "
              f"{run.seconds:>10.2f} {base if base is not None else float('nan'):>11.2f} "
              f"{ratio:>5}"
              + (" (weights only: " + run.note[:80] + ")" if not run.ran else ""))
        for finding in found:
            print(f"    {finding.code} {finding.message}")


def _config_of(text: str) -> Config:
    """The fixture's ``# initlint-test:`` settings (tests/test_fixtures.py's convention),
    read here without pytest (the zoo's venv has none)."""
    from dataclasses import replace

    config = Config(select=("ALL",))
    for line in text.splitlines():
        if not line.startswith("# initlint-test:"):
            continue
        for option in line.partition(":")[2].split():
            key, _, value = option.partition("=")
            values = tuple(v for v in value.upper().split(",") if v)
            if key in ("select", "ignore", "extend-select"):
                config = replace(config, **{key.replace("-", "_"): values})
            elif key == "min-depth":
                config = replace(config, min_depth=int(value))
    return config


def fixtures(device: str) -> None:
    from initlint.engine.lint import lint_paths
    from initlint.files.discover import discover

    print("\nplanted-bug fixtures: verdicts on the static INI1xx findings, runtime-only findings")
    paths = sorted((ROOT / "fixtures" / "runtime").glob("*.py")) + \
        sorted((ROOT / "fixtures" / "signal").glob("*.py"))
    for path in paths:
        config = _config_of(path.read_text(encoding="utf-8"))
        static = lint_paths(discover([str(path)], config), config, jobs=1).findings
        report = run_runtime([str(path)], static, config, RuntimeOptions(device=device))
        verdicts: dict[str, int] = {}
        for finding in report.findings:
            if finding.runtime is not None and finding.code.startswith("INI1"):
                kind = "runtime-only" if finding.message.startswith("measured:") else \
                    finding.runtime.status
                verdicts[kind] = verdicts.get(kind, 0) + 1
        print(f"  {path.parent.name}/{path.name:30} {verdicts or 'no signal findings'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", help="comma-separated factory names")
    parser.add_argument("--no-fixtures", action="store_true")
    parser.add_argument("--no-zoo", action="store_true")
    parser.add_argument("--all-costs", action="store_true", help="time every model's baseline")
    parsed = parser.parse_args()
    ALL_COSTS = parsed.all_costs
    if parsed.only:
        ZOO[:] = [s for s in ZOO if s.attr in parsed.only.split(",")]
    if not parsed.no_zoo:
        zoo(parsed.device)
    if not parsed.no_fixtures:
        fixtures(parsed.device)
