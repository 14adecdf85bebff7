"""Synthesize a model input from its first layer, trying shapes on ``meta`` first.

``meta`` tensors carry shapes but no data, so on a large model a wrong guess costs nothing;
when meta cannot run the model (data-dependent code, tensors made on the default device),
and for small models where a real forward is cheaper, the guesses run for real, without
gradients.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from initlint.runtime.options import ModelSpec

SEQUENCE = 16
SIZES = {1: (64, 128, 256, 1024), 2: (32, 28, 64, 96, 128, 224, 256, 299), 3: (16, 32, 64)}
TRANSPOSED_SIZES = (1, 2, 4, 8, 16, 32, 64)
FIRST_LAYERS_TRIED = 3
#: Above this many parameters a wrong guess costs real time: try the guesses on meta first.
#: Below it a real forward is cheaper than meta's one-off warm-up (~1.5 s on first use).
META_ABOVE = 5_000_000
#: Above this many parameters the chosen input's memory is estimated on meta first: a guess
#: that broadcasts (ViT position embeddings) can ask for tens of GB of attention maps, and
#: the kernel kills the process before Python sees a MemoryError.
MEMORY_CHECK_ABOVE = 1_000_000
SMALL_BATCH = 2


@dataclass(frozen=True)
class InputPlan:
    """The input to feed: a shape, a dtype and (for token ids) the vocabulary size."""

    shape: tuple[int, ...]
    dtype: str = "float"  # "float" | "long"
    high: int = 2

    def describe(self) -> str:
        kind = "token ids" if self.dtype == "long" else "float32"
        return f"({', '.join(map(str, self.shape))}) {kind}"


class NoInputError(Exception):
    """No input shape worked; the message says what was tried."""


def make_input(plan: InputPlan, device: Any):
    """Seeded by the caller; drawn on the CPU so every device sees the same numbers."""
    import torch

    if plan.dtype == "long":
        return torch.randint(0, plan.high, plan.shape).to(device)
    return torch.randn(plan.shape).to(device)


def required_inputs(model: Any) -> list[str]:
    """Names of forward()'s required positional parameters."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return ["input"]
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in signature.parameters.values()
            if p.kind in kinds and p.default is inspect.Parameter.empty]


def input_layers(model: Any) -> list[Any]:
    """The first few modules (in registration order) that tell the input's shape."""
    out = []
    for module in model.modules():
        if _plans_for(module, 2):
            out.append(module)
            if len(out) == FIRST_LAYERS_TRIED:
                break
    return out


def candidates(model: Any, batch: int, spec: ModelSpec | None) -> list[InputPlan]:
    """Inputs to try, best guess first; a shape from the settings is the only one."""
    layers = input_layers(model)
    if spec is not None and spec.input:
        embedding = next((m for m in layers if type(m).__name__ in ("Embedding",
                                                                     "EmbeddingBag")), None)
        dtype = spec.dtype or ("long" if embedding is not None and embedding is layers[0]
                               else "float")
        high = embedding.num_embeddings if embedding is not None else 2
        return [InputPlan(spec.input, dtype, high)]
    plans: list[InputPlan] = []
    for layer in layers:
        for plan in _plans_for(layer, batch):
            if plan not in plans:
                plans.append(plan)
    return plans


def _plans_for(module: Any, batch: int) -> list[InputPlan]:
    """Input guesses for a model whose first layer is ``module``; [] when it tells nothing."""
    import torch.nn as nn

    b, t = batch, SEQUENCE
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return [InputPlan((b, n), "long", module.num_embeddings) for n in (t, 64, 128)]
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        dims = len(module.kernel_size)
        return [InputPlan((b, module.in_channels, *[s] * dims)) for s in TRANSPOSED_SIZES]
    if isinstance(module, nn.modules.conv._ConvNd):
        dims = len(module.kernel_size)
        return [InputPlan((b, module.in_channels, *[s] * dims)) for s in SIZES[dims]]
    if isinstance(module, nn.Linear):
        return [InputPlan((b, module.in_features)), InputPlan((b, t, module.in_features))]
    if isinstance(module, nn.RNNBase):
        shape = (b, t, module.input_size) if module.batch_first else (t, b, module.input_size)
        return [InputPlan(shape)]
    if isinstance(module, nn.LayerNorm):
        shape = tuple(module.normalized_shape)
        return [InputPlan((b, *shape)), InputPlan((b, t, *shape))]
    if isinstance(module, nn.BatchNorm1d):
        return [InputPlan((b, module.num_features)), InputPlan((b, module.num_features, 64))]
    if isinstance(module, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)):
        channels = getattr(module, "num_features", None) or module.num_channels
        return [InputPlan((b, channels, s, s)) for s in SIZES[2]]
    if isinstance(module, nn.BatchNorm3d):
        return [InputPlan((b, module.num_features, s, s, s)) for s in SIZES[3]]
    return []


def find_input(model: Any, batch: int, spec: ModelSpec | None, device: Any) -> InputPlan:
    """An input the model accepts and that fits in memory (a smaller batch if need be)."""
    plan = _accepted_input(model, batch, spec, device)
    if sum(p.numel() for p in model.parameters()) < MEMORY_CHECK_ABOVE:
        return plan
    budget = memory_budget(device)
    needed = estimate_bytes(model, plan)
    if needed is None or needed <= budget:
        return plan
    if not (spec is not None and spec.input) and len(plan.shape) > 1 and \
            plan.shape[0] > SMALL_BATCH:
        smaller = InputPlan((SMALL_BATCH, *plan.shape[1:]), plan.dtype, plan.high)
        needed_small = estimate_bytes(model, smaller)
        if needed_small is not None and needed_small <= budget:
            return smaller
    raise NoInputError(f"input {plan.describe()} would need ~{needed / 1e9:.1f} GB of "
                       f"activations, more than the {budget / 1e9:.1f} GB this run allows; "
                       "name the input it is built for (or a smaller one) as `input = [...]` "
                       "under [tool.initlint.runtime] models")


def memory_budget(device: Any) -> float:
    """Half the memory free on the device (CPU: MemAvailable; unknown: 8 GB)."""
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free / 2
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 2
    except OSError:
        pass
    return 8e9


def estimate_bytes(model: Any, plan: InputPlan) -> int | None:
    """Bytes of every tensor the forward pass creates, counted on meta (no data, no time);
    None when the model cannot run on meta."""
    import torch
    from torch.func import functional_call
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.total += sum(t.numel() * t.element_size() for t in tree_leaves(out)
                              if isinstance(t, torch.Tensor))
            return out

    try:
        state = _meta_state(model)
        with Count() as counter:
            functional_call(model, state, (make_input_meta(plan),), strict=False)
        return counter.total
    except Exception:
        return None


def _meta_state(model: Any) -> dict[str, Any]:
    import torch

    return {name: torch.empty_like(t, device="meta")
            for name, t in [*model.named_parameters(), *model.named_buffers()]}


def _accepted_input(model: Any, batch: int, spec: ModelSpec | None, device: Any) -> InputPlan:
    """The first candidate the model accepts: on meta where possible, else for real."""
    import torch

    needed = required_inputs(model)
    if len(needed) > 1:
        raise NoInputError(f"forward() needs {len(needed)} inputs ({', '.join(needed)}); "
                      "wrap it in a factory that returns a one-input module")
    plans = candidates(model, batch, spec)
    if not plans:
        raise NoInputError("cannot tell the input shape from its first layer; give "
                      "`input = [...]` under [tool.initlint.runtime] models")
    if spec is not None and spec.input:
        return plans[0]
    if sum(p.numel() for p in model.parameters()) >= META_ABOVE:
        for plan in plans:
            if _runs_on_meta(model, plan):
                return plan
    first_error = None
    for plan in plans:
        try:
            with torch.no_grad():
                model(make_input(plan, device))
            return plan
        except (Exception, SystemExit) as exc:  # user code
            first_error = first_error or exc
    tried = ", ".join(p.describe() for p in plans[:4]) + ("…" if len(plans) > 4 else "")
    from initlint.runtime.loader import one_line

    raise NoInputError(f"forward() failed on every input tried ({tried}): "
                  f"{one_line(first_error)}; if the shape is wrong, give `input = [...]` "
                  "under [tool.initlint.runtime] models")


def _runs_on_meta(model: Any, plan: InputPlan) -> bool:
    from torch.func import functional_call

    try:
        functional_call(model, _meta_state(model), (make_input_meta(plan),), strict=False)
        return True
    except Exception:
        return False


def make_input_meta(plan: InputPlan):
    import torch

    dtype = torch.long if plan.dtype == "long" else torch.float32
    return torch.empty(plan.shape, dtype=dtype, device="meta")
