"""One seeded forward (train mode) and one backward pass with hooks on every module.

train() because BatchNorm in eval() is the identity at init and hides the problem; the
model is the one its real constructor built, so the user's own init is what we measure.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

from initlint.runtime.inputs import Feed, make_feed
from initlint.runtime.results import LayerStats, ModelRun
from initlint.runtime.stream import reference_point, streams_of

DEAD_TYPES = ("ReLU", "ReLU6")
SATURATING = {"Tanh": 0.95, "Hardtanh": 0.999, "Softsign": 0.95}
SIGMOID_TYPES = ("Sigmoid", "Hardsigmoid")


def tensors(value: Any) -> Iterator[Any]:
    """Floating-point tensors inside an output (tuples, lists, dicts, HF ModelOutput)."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors(item)


def _first(value: Any):
    return next(tensors(value), None)


def _round(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


class Recorder:
    """Forward hooks that turn each module call into a few numbers, at once."""

    def __init__(self, model: Any):
        self.counter = itertools.count()
        # id(module) → (call number, its input's basic_numbers) per call still running
        self.open: dict[int, list[tuple[int, dict[str, Any] | None]]] = {}
        self.calls: list[dict[str, Any]] = []
        self.handles = []
        self.names = {}
        # id → (tensor, its version then, basic_numbers): one module's output is the next
        # one's input; computed once. The tensor is held so its id stays its own.
        self.seen: dict[int, tuple[Any, int, dict[str, Any]]] = {}
        for name, module in model.named_modules():
            self.names[id(module)] = name
            self.handles.append(module.register_forward_pre_hook(self._pre, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self._post, with_kwargs=True))

    def _pre(self, module: Any, args: Any, kwargs: Any) -> None:
        """Number the call; take the input's numbers now, before an in-place module
        (ReLU(inplace=True)) overwrites it."""
        import torch

        x = _first(args)
        if x is None:
            x = _first(kwargs)
        numbers = None
        if x is not None and x.numel() > 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with torch.no_grad():
                    numbers = self._basic(x)
            finally:
                torch.set_num_threads(threads)
        self.open.setdefault(id(module), []).append((next(self.counter), numbers))

    def _post(self, module: Any, args: Any, kwargs: Any, output: Any) -> None:
        import torch

        start, x_numbers = self.open[id(module)].pop()
        kind = type(module).__name__
        x, y = _first(args), _first(output)
        if x is None:  # called with keywords only (hidden_states=...)
            x = _first(kwargs)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # reductions of ≤ MAX_UNITS·batch values: threads only
        try:  # wait for each other (18× slower on 2 busy cores, measured)
            weight = getattr(module, "weight", None)
            weighted = isinstance(weight, torch.Tensor) and weight.dim() >= 2
            numbers = _call_numbers(x, y, kind, weighted,
                                    lambda t, is_input: x_numbers if is_input and x_numbers
                                    is not None else self._basic(t))
            if x is not None and y is not None and next(module.children(), None) is not None:
                numbers["carry"] = _carry(x, y)
        finally:
            torch.set_num_threads(threads)
        self.calls.append({"path": self.names[id(module)], "type": kind,
                           "leaf": next(module.children(), None) is None, "start": start,
                           "end": next(self.counter), "slope": getattr(module,
                                                                      "negative_slope", None),
                           **numbers})

    def _basic(self, t: Any) -> dict[str, Any]:
        """basic_numbers of ``t`` as it is now, computed once per tensor version: one
        module's output is the next one's input."""
        found = self.seen.get(id(t))
        if found is not None and found[0] is t and found[1] == t._version:
            return found[2]
        numbers = basic_numbers(t)
        self.seen[id(t)] = (t, t._version, numbers)
        return numbers

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.seen.clear()


#: Statistics of a big activation are taken on at most this many units per sample (an even
#: stride through them): ResNet-50 at 224² has 6.4M values in a layer, and a dozen
#: reductions over all of them, in ~200 module calls, cost more than the forward and
#: backward passes. 4096 units × the batch keep the std within ~1%.
MAX_UNITS = 1 << 12


def _sample(t: Any):
    """(batch, units) float32 copy of ``t``, strided down to MAX_UNITS units per sample."""
    import torch

    flat = t.detach().reshape(t.shape[0], -1) if t.dim() >= 2 else t.detach().reshape(1, -1)
    step = -(-flat.shape[1] // MAX_UNITS)
    # one contiguous float32 copy: a dozen reductions over a strided view cost ~10× more
    return (flat[:, ::step] if step > 1 else flat).to(torch.float32, copy=True,
                                                       memory_format=torch.contiguous_format)


def _carry(x: Any, y: Any) -> float | None:
    """Correlation of a block's output with its input (same shape only): ≈ 0.7 for
    y = x + f(x) with a branch as loud as the stream, ≈ 0 for a plain layer stack."""
    import torch

    if x.shape != y.shape or x.numel() < 2:
        return None
    with torch.no_grad():
        a, b = _sample(x), _sample(y)
        a, b = a - a.mean(), b - b.mean()
        denominator = (a.pow(2).sum() * b.pow(2).sum()).sqrt()
        if not denominator > 0:
            return None
        return _round((a * b).sum().item() / denominator.item())


def basic_numbers(t: Any) -> dict[str, Any]:
    """A tensor's sample and its std, second moment and signal fraction (0-dim tensors, not
    yet read back: one sync per call for all of them)."""
    sample = _sample(t)
    second = sample.pow(2).mean()
    out = {"sample": sample, "std": sample.std(), "second": second}
    if t.dim() >= 2 and t.shape[0] > 1:
        across = second - sample.mean(0).pow(2).mean()  # mean over units of Var_batch
        out["signal"] = across.clamp_min(0) / second.clamp_min(1e-30)
    return out


def _call_numbers(x: Any, y: Any, kind: str, weighted: bool = True,
                  basic: Any = None) -> dict[str, Any]:
    """std/rms of input and output, signal fraction, dead and saturated fractions.
    ``basic(t, is_input)``: basic_numbers, possibly cached (the Recorder's)."""
    import torch

    basic = basic or (lambda t, is_input: basic_numbers(t))
    out: dict[str, Any] = {}
    with torch.no_grad():
        values: dict[str, Any] = {}
        if x is not None and x.numel() > 1:
            xb = basic(x, True)
            xf = xb["sample"]
            values["in_std"] = xb["std"]
            if "signal" in xb:
                values["in_signal"] = xb["signal"]
            values["in_rms"] = xb["second"].sqrt()
            if weighted:  # what a weight layer reads tells a functional activation before
                values["in_min"] = xf.min()  # it (tanh: [-1, 1]; ReLU: ≥ 0, many zeros)
                values["in_max"] = xf.max()
                values["in_zero"] = (xf == 0).float().mean()
                values["in_sat"] = (xf.abs() > 0.95).float().mean()
        if y is not None and y.numel() > 1:
            yb = basic(y, False)
            yf = yb["sample"]
            values["out_std"] = yb["std"]
            values["out_rms"] = yb["second"].sqrt()
            # a sum is NaN/inf when any term is: exact, and cheaper than isfinite on all
            values["nonfinite"] = (~torch.isfinite(y.detach().sum())).float()
            batched = "signal" in yb
            if batched:
                values["signal"] = yb["signal"]
            if kind in DEAD_TYPES and batched:
                values["dead"] = (yf <= 0).all(0).float().mean()
            elif kind in SATURATING:
                values["saturated"] = (yf.abs() > SATURATING[kind]).float().mean()
            elif kind in SIGMOID_TYPES:
                values["saturated"] = ((yf < 0.025) | (yf > 0.975)).float().mean()
        if values:
            numbers = torch.stack([v.float() for v in values.values()]).tolist()
            out = dict(zip(values, numbers, strict=True))
    out["nonfinite"] = bool(out.get("nonfinite", 0.0))
    for name, t in (("in_units", x), ("out_units", y)):
        if t is not None and t.dim() >= 2:
            out[name] = t[0].numel()
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in out.items()}


def weight_numbers(module: Any) -> dict[str, Any]:
    """The module's own weight (and bias): std, mean, fans, bias rms."""
    import torch
    from torch.nn.init import _calculate_fan_in_and_fan_out

    weight = getattr(module, "weight", None)
    out: dict[str, Any] = {}
    if (not isinstance(weight, torch.Tensor) or not weight.is_floating_point() or
            weight.numel() == 0 or weight.is_meta):
        return out
    with torch.no_grad():
        w = weight.detach().float()
        out["weight_mean"] = _round(w.mean().item())
        out["weight_rms"] = _round(w.pow(2).mean().sqrt().item())
        if w.dim() >= 2:
            fan_in, fan_out = _calculate_fan_in_and_fan_out(w)
            out.update(weight_std=_round(w.std().item()) if w.numel() > 1 else 0.0,
                       fan_in=fan_in, fan_out=fan_out)
        padding = getattr(module, "padding_idx", None)
        if isinstance(padding, int) and w.dim() == 2:
            out["padding_rms"] = _round(w[padding].pow(2).mean().sqrt().item())
        bias = getattr(module, "bias", None)
        if isinstance(bias, torch.Tensor) and bias.is_floating_point() and bias.numel():
            out["bias_rms"] = _round(bias.detach().float().pow(2).mean().sqrt().item())
    return out


def _nonfinite_parameters(model: Any) -> list[str]:
    import torch

    with torch.no_grad():
        return [name for name, p in model.named_parameters()
                if p.is_floating_point() and not torch.isfinite(p).all()]


def measure(model: Any, feed: Feed, device: Any, seed: int, key: str, label: str,
            instances: tuple[tuple[str, str], ...], path: str = "", row: int = 1,
            given: tuple[tuple[Any, ...], dict[str, Any]] | None = None) -> ModelRun:
    """Run the model once forward and backward and collect per-call numbers. ``given``:
    the caller's own inputs (the Python API) instead of drawing ``feed``."""
    import torch

    begun = time.perf_counter()
    model.train()
    modules = dict(model.named_modules())
    recorder = Recorder(model)
    note = ""
    try:
        torch.manual_seed(seed)
        args, kwargs = make_feed(feed, device) if given is None else given
        output = model(*args, **kwargs)
    finally:
        recorder.remove()
    outputs = list(tensors(output))
    calls = sorted(recorder.calls, key=lambda c: c["start"])
    nonfinite = _describe_nonfinite(model, calls)
    grads: dict[str, float] = {}
    trainable = [o for o in outputs if o.requires_grad]
    if nonfinite:
        note = "no backward pass: the output is not finite"
    elif not trainable:
        note = "no backward pass: the output does not require grad"
    else:
        # a random unit-norm output gradient: gradient norms do not depend on output size
        torch.manual_seed(seed + 1)
        size = sum(o.numel() for o in trainable)
        loss = sum((o * torch.randn(o.shape).to(o.device, o.dtype)).sum()
                   for o in trainable) / size**0.5
        loss.backward()
        for name, module in modules.items():
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor) and weight.grad is not None:
                grads[name] = _round(weight.grad.detach().float().norm().item())
        model.zero_grad(set_to_none=True)
    weights = {name: weight_numbers(module) for name, module in modules.items()}
    layers = tuple(LayerStats(**call, **weights.get(call["path"], {}),
                              grad_norm=grads.get(call["path"])) for call in calls)
    called = {call["path"] for call in calls}
    layers += uncalled_layers(modules, weights, called)
    streams = streams_of(model, layers)
    reference, where = reference_point(layers, streams)
    return ModelRun(key=key, label=label, input_shape=tuple(feed.shape),
                    input_dtype=feed.first.dtype, device=str(device), layers=layers,
                    instances=instances, seconds=time.perf_counter() - begun,
                    reference_std=reference, reference_at=where, streams=streams,
                    inputs=feed.describe(), nonfinite=nonfinite, note=note, path=path, row=row)


def _describe_nonfinite(model: Any, calls: list[dict[str, Any]]) -> str:
    bad = [c for c in calls if c.get("nonfinite") and c["leaf"]]
    if not bad:
        bad = [c for c in calls if c.get("nonfinite")]
    if not bad:
        return ""
    first = min(bad, key=lambda c: c["end"])
    where = f"`{first['path'] or '<model>'}` ({first['type']})"
    params = _nonfinite_parameters(model)
    if params:
        shown = ", ".join(params[:3]) + ("…" if len(params) > 3 else "")
        return f"NaN/inf first appears at {where}; parameters holding NaN/inf after init: {shown}"
    return f"NaN/inf first appears at {where} (parameters are finite: the forward itself overflows)"


def uncalled_layers(modules: dict[str, Any], weights: dict[str, dict[str, Any]],
                    called: set[str]) -> tuple[LayerStats, ...]:
    """Weight-bearing modules the forward pass did not reach: their weights still count."""
    return tuple(LayerStats(path=name, type=type(module).__name__,
                            leaf=next(module.children(), None) is None, start=-1, end=-1,
                            **weights[name])
                 for name, module in modules.items() if name not in called and weights[name])


def inspect_weights(model: Any, key: str, label: str, instances: tuple[tuple[str, str], ...],
                    path: str = "", row: int = 1,
                    note: str = "no forward(): only its weights were inspected") -> ModelRun:
    """No forward pass (no forward(), no input that works): the built weights alone still
    confirm the weight rules (INI202–INI207)."""
    begun = time.perf_counter()
    modules = dict(model.named_modules())
    weights = {name: weight_numbers(module) for name, module in modules.items()}
    return ModelRun(key=key, label=label, input_shape=(), input_dtype="", device="cpu",
                    layers=uncalled_layers(modules, weights, set()), instances=instances,
                    seconds=time.perf_counter() - begun, reference_std=None,
                    note=note, path=path, row=row)
