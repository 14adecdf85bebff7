"""Build one model with its real constructor, find its input, measure it.

Runs in the child process (``child.py``), or in-process for the Python API and tests. The
memory guard comes first: the model is built once on ``meta`` (shapes, no data) and its
weights and the chosen input's activations are counted there, before anything real is
allocated. The meta copy is a second model: the real one is never touched by meta tensors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from initlint.runtime.loader import Candidate, Loader, one_line, user_code
from initlint.runtime.options import RuntimeOptions
from initlint.runtime.results import ModelRun, Skipped

Phase = Callable[[str], None]
#: Below this many parameters a CPU model runs faster on one thread (measured: a 20k
#: parameter MLP's forward and backward take 0.4 s on one thread, 2.6 s on two busy cores).
ONE_THREAD = 2_000_000


def _quiet(phase: str) -> None:
    pass


def meta_copy(candidate: Candidate) -> Any:
    """The model built on meta, or None when its constructor cannot run there (it reads
    values: ``.item()``, ``.tolist()``; or makes tensors on an explicit device)."""
    import torch
    import torch.nn as nn

    try:
        with torch.device("meta"):
            model = candidate.build()
    except (Exception, SystemExit):  # user code
        return None
    if not isinstance(model, nn.Module) or any(not t.is_meta for t in
                                               [*model.parameters(), *model.buffers()]):
        return None
    return model


def tensor_bytes(model: Any) -> int:
    seen: set[int] = set()
    total = 0
    for t in [*model.parameters(), *model.buffers()]:
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


def build_and_measure(candidate: Candidate, loader: Loader, options: RuntimeOptions,
                      device: Any, phase: Phase = _quiet) -> ModelRun | Skipped:
    """Build one model, find an input, measure it; a weights-only run when no forward
    pass works (the weight rules still get their numbers)."""
    import torch
    import torch.nn as nn

    from initlint.runtime.confirm_params import after_forward, param_report, tracing_inits
    from initlint.runtime.inputs import NoInputError, find_input, memory_budget
    from initlint.runtime.measure import inspect_weights, measure

    label = candidate.label
    begun = time.perf_counter()
    budget = options.memory or memory_budget(device)
    with user_code():
        phase("meta")
        torch.manual_seed(options.seed)
        meta = meta_copy(candidate) if candidate.forward else None
        if meta is not None and tensor_bytes(meta) > budget:
            return Skipped(label, f"its weights alone would need {tensor_bytes(meta) / 1e9:.1f}"
                                  f" GB, more than the {budget / 1e9:.1f} GB this run allows",
                           candidate.key)
        phase("build")
        try:
            torch.manual_seed(options.seed)
            with tracing_inits() as trace:
                model = candidate.build()
        except (Exception, SystemExit) as exc:  # user code: anything can happen
            return Skipped(label, f"constructor raised {one_line(exc)}", candidate.key)
        if not isinstance(model, nn.Module):
            return Skipped(label, f"the factory returned {type(model).__name__}, not an "
                                  "nn.Module", candidate.key)
        key = loader.class_key(type(model))
        if next(model.parameters(), None) is None:
            return Skipped(label, "no parameters: nothing to initialize", key, quiet=True)
        instances = instances_of(loader, model)
        params = param_report(model, trace)
        if (options.isolate and device.type == "cpu" and
                sum(p.numel() for p in model.parameters()) < ONE_THREAD):
            torch.set_num_threads(1)  # the child is ours to set: tiny ops lose to handoffs

        def weights_only(note: str) -> ModelRun:
            run = inspect_weights(model, key, label, instances, candidate.path, candidate.row,
                                  note=note)
            return replace(run, seconds=time.perf_counter() - begun,
                           factory=candidate.spec is not None, params=params)

        if not candidate.forward:
            return weights_only("no forward(): only its weights were inspected")
        try:
            model.to(device)
        except Exception as exc:
            return Skipped(label, f"could not move it to {device}: {one_line(exc)}", key)
        phase("input")
        try:
            feed = find_input(model, options.batch, candidate.spec, device, meta, budget)
        except NoInputError as exc:
            return weights_only(f"no forward pass: {exc}")
        del meta
        phase("forward")
        try:
            run = measure(model, feed, device, options.seed, key, label, instances,
                          candidate.path, candidate.row)
            run = replace(run, params=after_forward(model, params))
        except (Exception, SystemExit) as exc:
            model.zero_grad(set_to_none=True)
            return weights_only(f"no forward pass: forward/backward failed on input "
                                f"{feed.describe()}: {one_line(exc)}")
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return replace(run, seconds=time.perf_counter() - begun, factory=candidate.spec is not None)


def instances_of(loader: Loader, model: Any) -> tuple[tuple[str, str], ...]:
    """(class key, path) of every submodule, for its class and its user-defined bases, so a
    finding about a base class finds the subclasses built from it."""
    import torch.nn as nn

    out = []
    for name, module in model.named_modules():
        for cls in type(module).__mro__:
            if cls is nn.Module or not issubclass(cls, nn.Module):
                break
            if cls.__module__.split(".")[0] != "torch" or cls is type(module):
                out.append((loader.class_key(cls), name))
    return tuple(out)
