"""What the runtime mode measured, as frozen data (no torch here: reporters read it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from initlint.findings import Finding


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

    @property
    def he_std(self) -> float | None:
        return (2.0 / self.fan_in) ** 0.5 if self.fan_in else None

    @property
    def xavier_std(self) -> float | None:
        return (2.0 / (self.fan_in + self.fan_out)) ** 0.5 if self.fan_in and self.fan_out \
            else None

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
    reference_std: float | None  # the input's std (first layer's output std for token ids)
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
        layers = [w for w in self.weight_layers() if w.grad_norm is not None]
        if len(layers) < 2 or not layers[-1].grad_norm:
            return None
        return layers[0].grad_norm / layers[-1].grad_norm


@dataclass(frozen=True)
class Skipped:
    """A model that could not be built or measured, and why (one line)."""

    label: str
    reason: str
    key: str = ""  # its class key, when known
    quiet: bool = False  # a base class (no forward, abstract): not worth a line of output


@dataclass
class RuntimeReport:
    """The findings with their evidence, plus what was measured and skipped."""

    findings: list[Finding] = field(default_factory=list)
    models: list[ModelRun] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
