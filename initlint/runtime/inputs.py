"""Synthesize a model's input: from the settings, else from its first layer.

Shape guesses are tried on a copy of the model built on ``meta`` (shapes, no data, no time)
when there is one, else for real without gradients. Image models get the smallest size at
which their feature maps stay at least ``MIN_MAP`` wide: a 32×32 ImageNet net ends on 1×1
maps, where BatchNorm normalizes over the batch alone.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from initlint.runtime.options import DTYPES, INTEGER_DTYPES, ModelSpec

SEQUENCE = 16
SIZES = {1: (64, 128, 256, 1024), 2: (32, 28, 64, 96, 128, 160, 224, 256, 299),
         3: (16, 32, 64)}
TRANSPOSED_SIZES = (1, 2, 4, 8, 16, 32, 64)
FIRST_LAYERS_TRIED = 3
#: Feature maps narrower than this (the last stage of an ImageNet net at 32²) are too small
#: to measure: try a larger image.
MIN_MAP = 4
#: Without a meta copy, above this many parameters a wrong guess costs real time: the
#: guesses run on meta through functional_call.
META_ABOVE = 5_000_000
#: Above this many parameters the chosen input's memory is estimated on meta first: a guess
#: that broadcasts (ViT position embeddings) can ask for tens of GB of attention maps.
MEMORY_CHECK_ABOVE = 1_000_000
SMALL_BATCH = 2


@dataclass(frozen=True)
class InputPlan:
    """One input tensor: a shape, a dtype (torch attribute name) and, for ids, the range."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    high: int = 2

    @property
    def integer(self) -> bool:
        return self.dtype in INTEGER_DTYPES

    def describe(self) -> str:
        kind = "token ids" if self.dtype in ("int64", "int32") else self.dtype
        return f"({', '.join(map(str, self.shape))}) {kind}"


@dataclass(frozen=True)
class Feed:
    """Everything passed to forward(): positional inputs, then keyword inputs."""

    args: tuple[InputPlan, ...]
    kwargs: tuple[tuple[str, InputPlan], ...] = ()

    @property
    def first(self) -> InputPlan:
        return self.args[0] if self.args else self.kwargs[0][1]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.first.shape

    def describe(self) -> str:
        parts = [p.describe() for p in self.args]
        parts += [f"{name}={p.describe()}" for name, p in self.kwargs]
        return ", ".join(parts)

    def with_batch(self, batch: int) -> Feed:
        def small(p: InputPlan) -> InputPlan:
            return InputPlan((batch, *p.shape[1:]), p.dtype, p.high) if len(p.shape) > 1 else p
        return Feed(tuple(small(p) for p in self.args),
                    tuple((n, small(p)) for n, p in self.kwargs))


class NoInputError(Exception):
    """No input shape worked; the message says what was tried."""


def make_tensor(plan: InputPlan, device: Any):
    """Seeded by the caller; drawn on the CPU so every device sees the same numbers."""
    import torch

    dtype = getattr(torch, plan.dtype)
    if plan.dtype == "bool":
        return torch.randint(0, 2, plan.shape).bool().to(device)
    if plan.integer:
        return torch.randint(0, plan.high, plan.shape, dtype=dtype).to(device)
    return torch.randn(plan.shape).to(device=device, dtype=dtype)


def make_feed(feed: Feed, device: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (tuple(make_tensor(p, device) for p in feed.args),
            {name: make_tensor(p, device) for name, p in feed.kwargs})


def make_input(plan: InputPlan, device: Any):
    """One tensor (kept for callers that feed a single input)."""
    return make_tensor(plan, device)


def _meta_tensor(plan: InputPlan):
    import torch

    return torch.empty(plan.shape, dtype=getattr(torch, plan.dtype), device="meta")


def meta_feed(feed: Feed) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (tuple(_meta_tensor(p) for p in feed.args),
            {name: _meta_tensor(p) for name, p in feed.kwargs})


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


def _embedding(layers: list[Any]) -> Any:
    return next((m for m in layers if type(m).__name__ in ("Embedding", "EmbeddingBag")), None)


def feed_from_spec(model: Any, spec: ModelSpec) -> Feed | None:
    """The input the settings name; the first input's dtype (and every id range) from the
    model's first layer when the settings leave it out."""
    tensors = spec.tensors()
    if not tensors:
        return None
    layers = input_layers(model)
    embedding = _embedding(layers)
    ids_first = embedding is not None and layers and embedding is layers[0]
    vocabulary = embedding.num_embeddings if embedding is not None else 2
    args, kwargs = [], []
    for index, (name, tensor) in enumerate(tensors):
        dtype = DTYPES[tensor.dtype] if tensor.dtype else (
            "int64" if index == 0 and ids_first else "float32")
        plan = InputPlan(tensor.shape, dtype, tensor.high or vocabulary)
        (kwargs.append((name, plan)) if name else args.append(plan))
    return Feed(tuple(args), tuple(kwargs))


def candidates(model: Any, batch: int) -> list[InputPlan]:
    """Inputs to try, best guess first."""
    plans: list[InputPlan] = []
    for layer in input_layers(model):
        for plan in _plans_for(layer, batch):
            if plan not in plans:
                plans.append(plan)
    return plans


def _plans_for(module: Any, batch: int) -> list[InputPlan]:
    """Input guesses for a model whose first layer is ``module``; [] when it tells nothing."""
    import torch.nn as nn

    b, t = batch, SEQUENCE
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return [InputPlan((b, n), "int64", module.num_embeddings) for n in (t, 64, 128)]
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
        normalized = tuple(module.normalized_shape)
        return [InputPlan((b, *normalized)), InputPlan((b, t, *normalized))]
    if isinstance(module, nn.BatchNorm1d):
        return [InputPlan((b, module.num_features)), InputPlan((b, module.num_features, 64))]
    if isinstance(module, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)):
        channels = (module.num_channels if isinstance(module, nn.GroupNorm)
                    else module.num_features)
        return [InputPlan((b, channels, s, s)) for s in SIZES[2]]
    if isinstance(module, nn.BatchNorm3d):
        return [InputPlan((b, module.num_features, s, s, s)) for s in SIZES[3]]
    return []


def find_input(model: Any, batch: int, spec: ModelSpec | None, device: Any,
               meta_model: Any = None, budget: float | None = None) -> Feed:
    """An input the model accepts and that fits in memory (a smaller batch if need be)."""
    feed = feed_from_spec(model, spec) if spec is not None else None
    named = feed is not None
    needed = None  # the meta trial of the chosen guess counted its bytes already
    if feed is None:
        plan, needed = _accepted_input(model, batch, device, meta_model)
        feed = Feed((plan,))
    if meta_model is None and sum(p.numel() for p in model.parameters()) < MEMORY_CHECK_ABOVE:
        return feed
    budget = memory_budget(device) if budget is None else budget
    if needed is None:
        needed = estimate_bytes(meta_model if meta_model is not None else model, feed)
    if needed is None or needed <= budget:
        return feed
    if not named and len(feed.shape) > 1 and feed.shape[0] > SMALL_BATCH:
        smaller = feed.with_batch(SMALL_BATCH)
        needed_small = estimate_bytes(meta_model if meta_model is not None else model, smaller)
        if needed_small is not None and needed_small <= budget:
            return smaller
    raise NoInputError(f"input {feed.describe()} would need ~{needed / 1e9:.1f} GB of "
                       f"activations, more than the {budget / 1e9:.1f} GB this run allows; "
                       "name the input it is built for (or a smaller one) as `input = [...]` "
                       "under [tool.initlint.runtime] models")


def memory_budget(device: Any) -> float:
    """Half the memory free on the device (CPU: MemAvailable; unknown: 8 GB)."""
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free / 2
    return available_memory() / 2


def available_memory() -> float:
    """MemAvailable of /proc/meminfo in bytes (16 GB where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 16e9


def _on_meta(model: Any, feed: Feed) -> Any:
    """Run ``model`` on meta inputs: itself when it lives on meta, else through
    functional_call with meta copies of its tensors (each tensor once, untied: tying
    leaves a module registered twice holding the meta copies afterwards)."""
    from torch.func import functional_call

    args, kwargs = meta_feed(feed)
    if _is_meta(model):
        return model(*args, **kwargs)
    try:
        return functional_call(model, _meta_state(model), args, kwargs, strict=False,
                               tie_weights=False)
    finally:
        stuck = [n for n, p in model.named_parameters() if p.is_meta]
        if stuck:  # never measure a model that a meta trial damaged
            raise RuntimeError(f"meta trial left {stuck[0]} on meta")


def _is_meta(model: Any) -> bool:
    first = next(model.parameters(), None)
    return first is not None and first.is_meta


def byte_counter():
    """A dispatch mode that adds up the bytes of every tensor an operation returns."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.total += sum(t.numel() * t.element_size() for t in tree_leaves(out)
                              if isinstance(t, torch.Tensor))
            return out

    return Count()


def estimate_bytes(model: Any, feed: Feed) -> int | None:
    """Bytes of every tensor the forward pass creates, counted on meta (no data, no time);
    None when the model cannot run on meta."""
    try:
        with byte_counter() as counter:
            _on_meta(model, feed)
        return counter.total
    except Exception:
        return None


def _meta_state(model: Any) -> dict[str, Any]:
    import torch

    return {name: torch.empty_like(t, device="meta")
            for name, t in [*model.named_parameters(), *model.named_buffers()]}


def _smallest_map(model: Any, run) -> int | None:
    """Run ``run()`` with hooks; the narrowest spatial side that a norm layer normalizes
    over (BatchNorm at 1×1 normalizes over the batch alone), else among conv outputs.
    Convs on pooled 1×1 maps (squeeze-excitation) are no stage of the network."""
    import torch.nn as nn

    sides: list[int] = []
    norms = (nn.modules.batchnorm._NormBase, nn.GroupNorm)
    kinds = (norms if any(isinstance(m, norms) for m in model.modules()) else
        (nn.modules.conv._ConvNd,))

    def hook(module, args, output):
        if hasattr(output, "dim") and output.dim() >= 3:
            sides.append(min(output.shape[2:]))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return min(sides) if sides else None


def _accepted_input(model: Any, batch: int, device: Any, meta_model: Any,
                    use_meta: bool = True) -> tuple[InputPlan, int | None]:
    """The first guess the model accepts whose maps stay ≥ MIN_MAP wide (else the first
    accepted): on the meta copy where there is one, else for real. With the bytes its
    forward creates, when a meta trial counted them."""
    import torch

    needed = required_inputs(model)
    if len(needed) > 1:
        raise NoInputError(f"forward() needs {len(needed)} inputs ({', '.join(needed)}); "
                           "give them as `inputs = [...]` (or a table of name = input) under "
                           "[tool.initlint.runtime] models")
    plans = candidates(model, batch)
    if not plans:
        raise NoInputError("cannot tell the input shape from its first layer; give "
                           "`input = [...]` under [tool.initlint.runtime] models")
    target = meta_model if use_meta else None
    if use_meta and target is None and sum(p.numel() for p in model.parameters()) >= META_ABOVE:
        target = model  # through functional_call on meta copies
    accepted: InputPlan | None = None
    first_error: BaseException | None = None
    counted: dict[InputPlan, int] = {}  # bytes each meta trial created: the estimate, free
    wanted = 0  # an image side that would keep the maps ≥ MIN_MAP, from the last trial
    for plan in plans:
        if len(plan.shape) >= 4 and plan.shape[-1] < wanted:
            continue
        try:
            if target is not None:
                with byte_counter() as counter:
                    side = _smallest_map(target, lambda p=plan: _on_meta(target, Feed((p,))))
                counted[plan] = counter.total
            else:
                with torch.no_grad():
                    side = _smallest_map(model, lambda p=plan: model(make_tensor(p, device)))
        except (Exception, SystemExit) as exc:  # user code
            first_error = first_error or exc
            continue
        if side is None or side >= MIN_MAP or len(plan.shape) < 4:
            return plan, counted.get(plan)
        accepted = accepted or plan
        wanted = plan.shape[-1] * MIN_MAP // max(side, 1)  # maps scale with the image
    if accepted is not None:
        return accepted, counted.get(accepted)
    if target is not None:  # meta could not run it: for real
        return _accepted_input(model, batch, device, None, use_meta=False)
    tried = ", ".join(p.describe() for p in plans[:4]) + ("…" if len(plans) > 4 else "")
    # nothing accepted: no plan was skipped (a skip follows an accepted one), so all failed
    assert first_error is not None
    from initlint.runtime.loader import one_line

    raise NoInputError(f"forward() failed on every input tried ({tried}): "
                       f"{one_line(first_error)}; if the shape is wrong, give `input = [...]` "
                       "under [tool.initlint.runtime] models")
