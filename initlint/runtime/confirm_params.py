"""Runtime confirmation of the parameter rules: INI007 (NaN/inf/garbage in an uninitialized
parameter), INI105 (per-gate orthogonality of a stacked RNN weight), INI107 (a parameter's
value against the argument meant to set it), INI208 (the init code never wrote a parameter
of the model), INI209 (a write undone by a reparametrization) and INI210 (loaded weights
changed by the init that ran after the load).

Two halves: :func:`tracing_inits` and :func:`param_report` run in the child next to the
model (they import torch), and record plain, picklable numbers in a :class:`ParamReport`
that rides on the ``ModelRun``; the ``measure_*`` functions read that report in the parent.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from types import FrameType
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import RuntimeEvidence

#: Values this large in a freshly built parameter are garbage from uninitialized memory.
GARBAGE = 1e10
#: A gate block with ‖WWᵀ−I‖∞ above this is not orthogonal (0.8 measured on the stack).
NOT_ORTHOGONAL = 0.1
#: A wrapped weight whose std moves by more than this over one forward was recomputed.
UNDONE = 0.1
#: Tensor methods and torch.nn.init functions whose calls we trace while a model is built.
TRACED_METHODS = ("normal_", "uniform_", "fill_", "zero_", "copy_", "mul_", "div_", "add_",
                  "sub_", "clamp_", "exponential_", "random_", "bernoulli_", "cauchy_",
                  "log_normal_", "geometric_", "__setitem__")


@dataclass(frozen=True)
class ParamReport:
    """Plain numbers about a built model's parameters (no torch objects)."""

    # parameter name → (NaN count, inf count, largest finite |value|, elements, written by
    # some traced call while the model was built)
    values: tuple[tuple[str, tuple[int, int, float, int, bool]], ...] = ()
    # "<module path>.<weight name>" → ‖WWᵀ−I‖∞ of each gate block
    gates: tuple[tuple[str, tuple[float, ...]], ...] = ()
    # wrapped module path → (weight std before the forward, after it, default std)
    wrapped: tuple[tuple[str, tuple[float, float | None, float | None]], ...] = ()
    # init function name → (calls made while building, parameter names written)
    writers: tuple[tuple[str, tuple[int, tuple[str, ...]]], ...] = ()
    # parameter loaded by a load_state_dict while the model was built → (mean |value| as
    # loaded, mean |value| once built, mean |Δ| between the two) (INI210)
    loaded: tuple[tuple[str, tuple[float, float, float]], ...] = ()
    # parameter name → (min, max, mean) once built (INI107)
    ranges: tuple[tuple[str, tuple[float, float, float]], ...] = ()

    def lookup(self, table: str, key: str) -> Any:
        return dict(getattr(self, table)).get(key)

    @classmethod
    def from_plain(cls, data: Any) -> ParamReport:
        """Rebuild a report from ``dataclasses.asdict(report)`` after a JSON round trip
        (lists for tuples; NaN/inf floats allowed); ValueError on anything that does not fit,
        so a child process can only hand back numbers and names."""
        if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls)}:
            raise ValueError("a ParamReport is a dict of its tables")
        return cls(
            values=_table(data.get("values", ()), lambda v: _row(v, (int, int, float, int, bool))),
            gates=_table(data.get("gates", ()), lambda v: tuple(_number(x) for x in _seq(v))),
            wrapped=_table(data.get("wrapped", ()), lambda v: _row(v, (float, _OPT, _OPT))),
            writers=_table(data.get("writers", ()), lambda v: (
                _exact(_seq(v)[0], int) if len(_seq(v)) == 2 else _bad(v),
                tuple(_text(x) for x in _seq(_seq(v)[1])))),
            loaded=_table(data.get("loaded", ()), lambda v: _row(v, (float, float, float))),
            ranges=_table(data.get("ranges", ()), lambda v: _row(v, (float, float, float))),
        )


_OPT = "float or None"


def _bad(value: Any) -> Any:
    raise ValueError(f"unexpected value in a ParamReport: {value!r:.80}")


def _seq(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else _bad(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _bad(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _bad(value)
    return float(value)


def _exact(value: Any, kind: type) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else _bad(value)
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _bad(value)
    return _number(value)


def _row(value: Any, kinds: tuple) -> tuple:
    items = _seq(value)
    if len(items) != len(kinds):
        _bad(value)
    return tuple(None if kind == _OPT and item is None else
                 _number(item) if kind == _OPT else _exact(item, kind)
                 for item, kind in zip(items, kinds, strict=True))


def _table(value: Any, convert) -> tuple:
    out = []
    for row in _seq(value):
        pair = _seq(row)
        if len(pair) != 2:
            _bad(row)
        out.append((_text(pair[0]), convert(pair[1])))
    return tuple(out)


@dataclass
class InitTrace:
    """Writes made by user code through torch.nn.init or in-place tensor methods."""

    calls: list[tuple[str, int]] = field(default_factory=list)  # (function, storage ptr)
    touched: set[int] = field(default_factory=set)  # storages any traced call wrote
    depth: int = 0  # inside a traced call (nn.init.* calls tensor methods): record once
    # storage → the first elements of a parameter as a load_state_dict left them
    loaded: dict[int, Any] = field(default_factory=dict)


def _user_frame(depth: int = 2) -> str | None:
    """The user function that asked for the write, or None for torch's own default init."""
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if (name.endswith(("torch/nn/init.py", "torch/_tensor.py", "torch/overrides.py"))
                or "torch/utils/_contextlib" in name or frame.f_code.co_filename == __file__):
            frame = frame.f_back
            continue
        if "/torch/" in name:
            return None  # a torch layer's reset_parameters: the default, not user init
        return frame.f_code.co_name
    return None


@contextlib.contextmanager
def tracing_inits() -> Iterator[InitTrace]:
    """Record which user function writes which storage while the model is being built."""
    import torch
    import torch.nn.init as init

    trace = InitTrace()
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return

        def traced(tensor, *args, **kwargs):
            fn = _user_frame() if not trace.depth else None
            if isinstance(tensor, torch.Tensor):
                with contextlib.suppress(Exception):
                    ptr = tensor.untyped_storage().data_ptr()
                    trace.touched.add(ptr)
                    if fn is not None:
                        trace.calls.append((fn, ptr))
            trace.depth += 1
            try:
                return original(tensor, *args, **kwargs)
            finally:
                trace.depth -= 1

        saved.append((owner, name, original))
        setattr(owner, name, traced)

    for name in api.INIT_FUNCTIONS:
        wrap(init, name)
    for name in TRACED_METHODS:
        wrap(torch.Tensor, name)
    load = torch.nn.Module.load_state_dict

    def traced_load(module, *args, **kwargs):
        result = load(module, *args, **kwargs)
        with contextlib.suppress(Exception), torch.no_grad():
            for p in module.parameters():
                trace.loaded[p.untyped_storage().data_ptr()] = _sample(p)
        return result

    saved.append((torch.nn.Module, "load_state_dict", load))
    torch.nn.Module.load_state_dict = traced_load  # type: ignore[method-assign,assignment]
    try:
        yield trace
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def param_report(model: Any, trace: InitTrace | None) -> ParamReport:
    """Numbers read right after the model is built, before any forward pass."""
    import torch

    values = []
    loaded = []
    ranges = []
    storages: dict[int, list[str]] = {}
    touched = trace.touched if trace else set()
    snapshots = trace.loaded if trace else {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            t = p.detach().float()
            finite = t[torch.isfinite(t)]
            ptr = p.untyped_storage().data_ptr()
            values.append((name, (int(torch.isnan(t).sum()), int(torch.isinf(t).sum()),
                                  float(finite.abs().max()) if finite.numel() else 0.0,
                                  t.numel(), ptr in touched)))
            if finite.numel():
                ranges.append((name, (float(finite.min()), float(finite.max()),
                                      float(finite.mean()))))
            storages.setdefault(ptr, []).append(name)
            before = snapshots.get(ptr)
            if before is not None:
                now = _sample(p)
                loaded.append((name, (float(before.abs().mean()), float(now.abs().mean()),
                                      float((now - before).abs().mean()))))
        gates = []
        wrapped = []
        for path, module in model.named_modules():
            count = api.RNN_GATES.get(api.NN + type(module).__name__)
            if count:
                for name, p in module.named_parameters(recurse=False):
                    if name.startswith("weight_hh"):
                        gates.append((_join(path, name), _gate_errors(p.detach(), count)))
            default = _wrapped_default(module)
            if default is not None:
                wrapped.append((path, (float(module.weight.detach().std()), None, default)))
    writers: dict[str, tuple[int, set[str]]] = {}
    for fn, ptr in trace.calls if trace else []:
        calls, names = writers.get(fn, (0, set()))
        writers[fn] = (calls + 1, names | set(storages.get(ptr, ())))
    return ParamReport(tuple(values), tuple(gates), tuple(wrapped),
                       tuple((fn, (n, tuple(sorted(names))))
                             for fn, (n, names) in writers.items()),
                       tuple(loaded), tuple(ranges))


#: Elements of a loaded parameter kept to compare with the built model (enough for a mean).
SAMPLE = 4096


def _sample(p: Any) -> Any:
    return p.detach().flatten()[:SAMPLE].float().cpu().clone()


def after_forward(model: Any, report: ParamReport) -> ParamReport:
    """Re-read the wrapped weights once a forward pass has run."""
    modules = dict(model.named_modules())
    wrapped = []
    for path, (before, _, default) in report.wrapped:
        module = modules.get(path)
        after = float(module.weight.detach().std()) if module is not None else None
        wrapped.append((path, (before, after, default)))
    return replace(report, wrapped=tuple(wrapped))


def _gate_errors(weight: Any, count: int) -> tuple[float, ...]:
    import torch

    out = []
    for block in weight.float().chunk(count, 0):
        eye = torch.eye(block.shape[0], dtype=block.dtype, device=block.device)
        out.append(round(float((block @ block.T - eye).abs().max()), 4))
    return tuple(out)


def _wrapped_default(module: Any) -> float | None:
    """PyTorch's default std 1/√(3·fan_in) of a weight_norm/spectral_norm/parametrized
    layer's weight; None for a module that is not wrapped."""
    hooks = getattr(module, "_forward_pre_hooks", {}).values()
    hooked = any(type(h).__name__ in ("WeightNorm", "SpectralNorm") for h in hooks)
    if not hooked and not hasattr(module, "parametrizations"):
        return None
    weight = getattr(module, "weight", None)
    if weight is None or weight.dim() < 2:
        return None
    fan_in = weight[0].numel()
    return (1.0 / (3.0 * fan_in)) ** 0.5


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- parent side: verdicts --------------------------------------------------------------


def _report(run: Any) -> ParamReport | None:
    report = getattr(run, "params", None)
    return report if isinstance(report, ParamReport) else None


def _not_measured(what: str) -> RuntimeEvidence:
    return RuntimeEvidence("not-run", (), f"{what} was not measured on the built model")


def measure_uninitialized(run: Any, paths: list[str]) -> RuntimeEvidence:
    """INI007: NaN/inf or garbage-sized values in the parameter right after construction."""
    report = _report(run)
    rows = [(p, report.lookup("values", p)) for p in paths] if report else []
    rows = [(p, v) for p, v in rows if v is not None]
    if not rows:
        return _not_measured("the parameter")
    nan = sum(v[0] for _, v in rows)
    inf = sum(v[1] for _, v in rows)
    largest = max(v[2] for _, v in rows)
    written = [p for p, v in rows if v[4]]
    garbage = bool(nan or inf or largest > GARBAGE)
    status = "confirmed" if garbage or not written else "not-confirmed"
    evidence = (("nan", nan), ("inf", inf), ("max_abs", largest), ("written", written))
    summary = (f"{', '.join(p for p, _ in rows)}: never written while the model was built; "
               f"{nan} NaN, {inf} inf, largest |value| {largest:.3g}" if not written else
               f"written while the model was built ({', '.join(written)}); {nan} NaN, {inf} "
               f"inf, largest |value| {largest:.3g}")
    if not garbage and not written:
        summary += " (this allocation happened to hold small values; it differs per run)"
    return RuntimeEvidence(status, evidence, summary)


def measure_gates(run: Any, paths: list[str]) -> RuntimeEvidence:
    """INI105: ‖WWᵀ−I‖∞ of each gate block of the recurrent weight."""
    report = _report(run)
    rows = [(p, report.lookup("gates", p)) for p in paths] if report else []
    rows = [(p, v) for p, v in rows if v]
    if not rows:
        return _not_measured("the recurrent weight")
    worst = max(max(v) for _, v in rows)
    status = "confirmed" if worst > NOT_ORTHOGONAL else "not-confirmed"
    text = "; ".join(f"{p}: " + ", ".join(f"{e:.2f}" for e in v) for p, v in rows)
    return RuntimeEvidence(status, (("per_gate_error", [list(v) for _, v in rows]),),
                           f"‖WWᵀ−I‖∞ per gate block: {text} (0 when each block is "
                           "orthogonal)")


def measure_undone(run: Any, paths: list[str]) -> RuntimeEvidence:
    """INI209: the wrapped weight's std before and after one forward, against the default."""
    report = _report(run)
    rows = [(p, report.lookup("wrapped", p)) for p in paths] if report else []
    rows = [(p, v) for p, v in rows if v is not None]
    if not rows:
        return _not_measured("the wrapped weight")
    undone = []
    for path, (before, after, default) in rows:
        moved = after is not None and before and abs(after - before) / before > UNDONE
        at_default = default and after is not None and abs(after - default) / default < 0.15
        if moved or at_default:
            undone.append(path)
    status = "confirmed" if undone else "not-confirmed"
    text = "; ".join(f"{p}: std {b:.4g} → {a:.4g} after one forward (default {d:.4g})"
                     for p, (b, a, d) in rows if a is not None and d is not None)
    return RuntimeEvidence(status, (("wrapped", [[p, *v] for p, v in rows]),),
                           text or "no forward pass ran")


def measure_unreached(run: Any, paths: list[str], function: str = "") -> RuntimeEvidence:
    """INI208: which parameters the init function wrote while the model was built."""
    report = _report(run)
    if report is None:
        return _not_measured("the init")
    name = function.rsplit(".", 1)[-1]
    calls, written = report.lookup("writers", name) or (0, ())
    if not written:
        return RuntimeEvidence("confirmed", (("calls", calls), ("written", [])),
                               f"`{name}` made {calls} init call(s) while the model was "
                               "built and never wrote a parameter of it")
    if calls > 1 and len(written) == 1:
        return RuntimeEvidence("confirmed", (("calls", calls), ("written", list(written))),
                               f"`{name}` made {calls} init calls, all on `{written[0]}`")
    return RuntimeEvidence("not-confirmed", (("calls", calls), ("written", list(written))),
                           f"`{name}` wrote {len(written)} parameter(s): "
                           f"{', '.join(written[:5])}")


#: A loaded tensor whose mean |Δ| exceeds this fraction of its mean |value| was re-drawn.
REDRAWN = 1e-3


def measure_reloaded(run: Any, paths: list[str]) -> RuntimeEvidence:
    """INI210: the parameters a load_state_dict filled while the model was built, as loaded
    and as the finished model holds them."""
    report = _report(run)
    if report is None:
        return _not_measured("the load")
    rows = [(name, v) for name, v in report.loaded
            if any(not p or name == p or name.startswith(p + ".") for p in paths)]
    if not rows:
        return RuntimeEvidence("not-run", (("loaded", 0),),
                               f"no load_state_dict filled {', '.join(paths) or 'the model'} "
                               "while it was built (a loader we do not trace, or no load)")
    changed = [(n, v) for n, v in rows if v[2] > REDRAWN * max(v[0], 1e-12)]
    delta = sum(v[2] for _, v in rows) / len(rows)
    size = sum(v[0] for _, v in rows) / len(rows)
    first = changed[0] if changed else rows[0]
    summary = (f"{len(changed)} of {len(rows)} loaded tensors changed after the load; mean |Δ| "
               f"{delta:.3g} against mean |w| {size:.3g} as loaded (`{first[0]}`: "
               f"{first[1][0]:.3g} loaded, {first[1][1]:.3g} after construction)")
    return RuntimeEvidence("confirmed" if changed else "not-confirmed",
                           (("loaded", len(rows)), ("changed", len(changed)),
                            ("mean_abs_delta", delta), ("mean_abs_loaded", size)), summary)


def measure_argument(run: Any, prefix: str, paths: tuple[str, ...]) -> RuntimeEvidence:
    """INI107: the parameter's value once built against the one its argument asks for
    (``name@value``), or the scale ``1 + value`` of a unit-offset parameter
    (``name@offset``)."""
    report = _report(run)
    if report is None or not paths:
        return _not_measured("the parameter")
    name, _, wanted = paths[0].partition("@")
    full = _join(prefix, name)
    row = report.lookup("ranges", full)
    if row is None:
        return _not_measured(f"`{full}`")
    low, high, mean = row
    if wanted == "offset":
        scale = 1.0 + mean
        return RuntimeEvidence(
            "confirmed" if abs(scale - 1.0) > 0.5 else "not-confirmed",
            (("value", mean), ("scale", scale)),
            f"`{full}` = {mean:.4g} once built: the forward scales by 1 + {mean:.4g} = "
            f"{scale:.4g} (1 when it starts at 0)")
    try:
        argument = float(wanted)
    except ValueError:
        return _not_measured(f"`{full}`")
    constant = abs(high - low) <= 1e-12 * max(1.0, abs(mean))
    off = abs(mean - argument) > 1e-6 * max(1.0, abs(argument))
    shown = f"{mean:.4g} in every element" if constant else f"{low:.4g} to {high:.4g}"
    return RuntimeEvidence(
        "confirmed" if constant and off else "not-confirmed",
        (("value", mean), ("min", low), ("max", high), ("argument", argument)),
        f"`{full}` = {shown} once built; its argument asks for {argument:.4g}")


def evidence(code: str, run: Any, prefix: str, paths: tuple[str, ...]) -> RuntimeEvidence | None:
    """The verdict for one of this module's codes; None for other codes."""
    join = [_join(prefix, p) for p in paths]
    if code == "INI007":
        return measure_uninitialized(run, join)
    if code == "INI105":
        return measure_gates(run, join)
    if code == "INI209":
        return measure_undone(run, join or [prefix])
    if code == "INI208":
        return measure_unreached(run, join, paths[0] if paths else "")
    if code == "INI210":
        return measure_reloaded(run, join or [prefix])
    if code == "INI107":
        return measure_argument(run, prefix, paths)
    return None


CODES = frozenset({"INI007", "INI105", "INI107", "INI208", "INI209", "INI210"})
__all__ = ["CODES", "ParamReport", "after_forward", "evidence", "param_report",
           "tracing_inits"]
