"""What the runtime mode measured, as frozen data (no torch here: reporters read it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from initlint.core.findings import Finding


@dataclass(frozen=True)
class LayerStats:
    """One call of one module during the measured forward pass (and its weight's gradient).

    ``start``/``end`` order the calls: a module starts before and ends after its children,
    so the calls under a container are those inside its (start, end).
    """

    path: str  # "" for the model itself
    type: str  # the module's class name
    leaf: bool
    start: int
    end: int
    in_std: float | None = None  # of the first floating-point input
    in_rms: float | None = None
    in_min: float | None = None
    in_max: float | None = None
    in_zero: float | None = None  # fraction of exact zeros in the input (ReLU before it)
    in_sat: float | None = None  # fraction of |input| > 0.95 (a saturated tanh before it)
    in_signal: float | None = None  # across-batch variance / second moment of the input
    in_units: int | None = None  # values per sample of the input (a drop: pooling)
    out_units: int | None = None
    out_std: float | None = None  # of the first floating-point output
    out_rms: float | None = None
    signal: float | None = None  # across-batch variance / second moment of the output
    dead: float | None = None  # ReLU family: fraction of units that are 0 for every sample
    saturated: float | None = None  # tanh/sigmoid family: fraction of outputs near the rails
    slope: float | None = None  # LeakyReLU's negative slope
    nonfinite: bool = False  # NaN or inf in the output
    weight_std: float | None = None  # weight of ≥ 2 dimensions
    weight_mean: float | None = None  # any weight (norm layers' γ included)
    weight_rms: float | None = None
    fan_in: int | None = None
    fan_out: int | None = None
    bias_rms: float | None = None
    padding_rms: float | None = None  # Embedding: rms of the padding_idx row
    grad_norm: float | None = None  # of the weight, after one backward pass
    carry: float | None = None  # blocks: correlation of output with input (residual ≈ 0.7)

    @property
    def he_std(self) -> float | None:
        return (2.0 / self.fan_in) ** 0.5 if self.fan_in else None

    @property
    def xavier_std(self) -> float | None:
        return ((2.0 / (self.fan_in + self.fan_out)) ** 0.5 if self.fan_in and self.fan_out
            else None)

    @property
    def default_std(self) -> float | None:
        """PyTorch's kaiming_uniform_(a=√5) default: std 1/√(3·fan_in)."""
        return (1.0 / (3.0 * self.fan_in)) ** 0.5 if self.fan_in else None

    @property
    def driven_std(self) -> float | None:
        """The part of the output std that varies with the input (√signal · rms): a layer
        whose output is its bias alone has 0, however large its std."""
        if self.out_rms is None or self.signal is None:
            return None
        return self.out_rms * max(self.signal, 0.0) ** 0.5

    @property
    def driven_in(self) -> float | None:
        """The input-driven part of the input's std (see ``driven_std``)."""
        if self.in_std is None:
            return None
        if self.in_signal is None:
            return self.in_std
        rms = self.in_rms if self.in_rms is not None else self.in_std
        return rms * max(self.in_signal, 0.0) ** 0.5

    @property
    def bias_share(self) -> float | None:
        """How much of the output's second moment is not input-driven (bias, constant
        offsets): 0 when the output follows the input, 1 when it is the bias alone."""
        if self.signal is None:
            return None
        return max(0.0, 1.0 - self.signal)

    @property
    def is_weight_layer(self) -> bool:
        return self.weight_std is not None


@dataclass(frozen=True)
class ModelRun:
    """One built and measured model."""

    key: str  # "pkg.mod.Class" of the model's class, as the static analysis names it
    label: str  # how to show it: the class key or "pkg.mod:factory"
    input_shape: tuple[int, ...]
    input_dtype: str
    device: str
    layers: tuple[LayerStats, ...]  # every module call, in start order
    instances: tuple[tuple[str, str], ...]  # (class key, module path) of every submodule
    seconds: float
    reference_std: float | None  # input-driven std at the reference (see stream.py)
    reference_at: str = ""  # where that is, e.g. "input of `blocks.0`"
    streams: tuple[tuple[str, ...], ...] = ()  # residual blocks, per stream
    inputs: str = ""  # what was fed, described
    output: str = ""  # the tail of what the model printed (captured)
    nonfinite: str = ""  # where NaN/inf first appeared, as a sentence; "" when none
    note: str = ""  # e.g. why the backward pass did not run
    path: str = ""  # the file that defines it, for findings the runtime discovers
    row: int = 1
    factory: bool = False  # named in the settings (always shown), not found in the files
    params: Any = None  # confirm_params.ParamReport: per-parameter numbers (INI007/105/208/209)

    @property
    def ran(self) -> bool:
        """Did a forward pass run (or were only the weights inspected)?"""
        return bool(self.input_shape)

    @property
    def leaves(self) -> tuple[LayerStats, ...]:
        """The leaf modules' calls, in call order."""
        return tuple(layer for layer in self.layers if layer.leaf and layer.start >= 0)

    @property
    def uncalled(self) -> tuple[LayerStats, ...]:
        """Weight-bearing modules that no forward call reached (all of them without one)."""
        return tuple(layer for layer in self.layers if layer.start < 0)

    def weight_layers(self) -> tuple[LayerStats, ...]:
        """The first call of every weight layer, in call order."""
        seen: set[str] = set()
        out = []
        for layer in self.leaves:
            if layer.is_weight_layer and layer.path not in seen:
                seen.add(layer.path)
                out.append(layer)
        return tuple(out)

    def grad_ratio(self) -> float | None:
        """Gradient norm of the first weight layer over that of the last."""
        norms = [w.grad_norm for w in self.weight_layers() if w.grad_norm is not None]
        if len(norms) < 2 or not norms[-1]:
            return None
        return norms[0] / norms[-1]


@dataclass(frozen=True)
class Skipped:
    """A model that could not be built or measured, and why (one line)."""

    label: str
    reason: str
    key: str = ""  # its class key, when known
    quiet: bool = False  # a base class (no forward, abstract): not worth a line of output
    output: str = ""  # the tail of what the model printed (captured)


@dataclass
class RuntimeReport:
    """The findings with their evidence, plus what was measured and skipped."""

    findings: list[Finding] = field(default_factory=list)
    models: list[ModelRun] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# --- JSON, the only form in which a child process's results reach the parent ------------

_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON value made of scalars and lists (tuples on the way in) only."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)) and depth < 3:
        return tuple(_plain(v, depth + 1) for v in value)
    raise ValueError(f"unexpected value of type {type(value).__name__}")


def _load(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: not an object")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)[:3]}")
    types = {f.name: str(f.type) for f in fields(cls)}
    out = {}
    for key, value in data.items():
        if key in ("layers", "params"):  # nested records: rebuilt by their own loaders
            continue
        value = _plain(value)
        if not _fits(value, types[key]):
            raise ValueError(f"{cls.__name__}.{key}: {type(value).__name__} does not fit "
                             f"{types[key]}")
        out[key] = value
    return out


def _fits(value: Any, annotation: str) -> bool:
    """Does a plain JSON value fit a field's annotation (as written in this module)?"""
    if value is None:
        return "None" in annotation
    if annotation.startswith("tuple"):
        inner = annotation[len("tuple["):]
        if inner.startswith("tuple["):  # tuple[tuple[str, str], ...]: the nested one
            depth, end = 0, 0
            for end, char in enumerate(inner):  # noqa: B007 - the bracket's index is kept
                depth += {"[": 1, "]": -1}.get(char, 0)
                if depth == 0 and char == "]":
                    break
            element = inner[:end + 1]
        else:
            element = inner.split(",")[0].split("]")[0].strip()
        return isinstance(value, tuple) and all(_fits(v, element) for v in value)
    if isinstance(value, bool):
        return annotation.startswith("bool")
    if isinstance(value, str):
        return annotation.startswith("str")
    if isinstance(value, int):
        return annotation.startswith(("int", "float"))
    if isinstance(value, float):
        return annotation.startswith("float")
    return False


def to_json(item: ModelRun | Skipped) -> dict[str, Any]:
    data = asdict(item)
    data["kind"] = type(item).__name__
    return data


def from_json(data: Any) -> ModelRun | Skipped:
    """Rebuild a result from untrusted JSON: known fields, plain values, or ValueError."""
    if not isinstance(data, dict):
        raise ValueError("not an object")
    data = dict(data)
    kind = data.pop("kind", None)
    if kind == "Skipped":
        return Skipped(**_load(Skipped, data))
    if kind != "ModelRun":
        raise ValueError(f"unknown result kind {kind!r}")
    values = _load(ModelRun, data)
    layers = data.get("layers", [])
    if not isinstance(layers, list):
        raise ValueError("layers: not a list")
    values["layers"] = tuple(LayerStats(**_load(LayerStats, layer)) for layer in layers)
    if data.get("params") is not None:
        from initlint.runtime.confirm_params import ParamReport

        values["params"] = ParamReport.from_plain(data["params"])
    return ModelRun(**values)
