"""What initlint knows about torch, as data.

Rules consult these tables; they never spell torch names themselves. Every name is the
canonical qualified name produced by :mod:`initlint.extract.imports` (``torch.nn.Linear``,
``torch.nn.init.xavier_uniform_``, ``torch.nn.functional.relu``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

INIT = "torch.nn.init."
NN = "torch.nn."
F = "torch.nn.functional."


#: What a torch layer is, for the rules: which fan formula, default draw and parameters it has.
LayerFamily = Literal["linear", "conv", "conv_transpose", "embedding", "norm", "rnn", "other"]
#: Which gain a nonlinearity wants: the ReLU family (He), smooth ones (GELU, SiLU), or
#: saturating ones (tanh, sigmoid).
ActivationFamily = Literal["relu", "smooth", "saturating"]


@dataclass(frozen=True)
class LayerKind:
    """A torch layer class: what it holds and how PyTorch initializes it by default."""

    family: LayerFamily
    has_bias_param: bool = False  # constructor takes bias=...
    bias_default: bool = True
    affine_param: str | None = None  # "affine" / "elementwise_affine" for norm layers
    affine_default: bool = True
    weight_ndim: int | None = None  # dimensionality of .weight when present
    fan_in_args: tuple[int, ...] = ()  # positional args whose product is fan_in (w/o kernel)


def _conv(n: int, transpose: bool = False) -> LayerKind:
    return LayerKind(
        "conv_transpose" if transpose else "conv",
        has_bias_param=True,
        weight_ndim=n + 2,
        fan_in_args=(0,),
    )


def _norm(affine_param: str = "affine", affine_default: bool = True) -> LayerKind:
    return LayerKind("norm", affine_param=affine_param, affine_default=affine_default,
                     weight_ndim=1)


LAYERS: dict[str, LayerKind] = {
    NN + "Linear": LayerKind("linear", has_bias_param=True, weight_ndim=2, fan_in_args=(0,)),
    NN + "Bilinear": LayerKind("linear", has_bias_param=True, weight_ndim=3),
    NN + "LazyLinear": LayerKind("linear", has_bias_param=True, weight_ndim=2),
    NN + "Conv1d": _conv(1),
    NN + "Conv2d": _conv(2),
    NN + "Conv3d": _conv(3),
    NN + "LazyConv1d": _conv(1),
    NN + "LazyConv2d": _conv(2),
    NN + "LazyConv3d": _conv(3),
    NN + "ConvTranspose1d": _conv(1, transpose=True),
    NN + "ConvTranspose2d": _conv(2, transpose=True),
    NN + "ConvTranspose3d": _conv(3, transpose=True),
    NN + "Embedding": LayerKind("embedding", weight_ndim=2),
    NN + "EmbeddingBag": LayerKind("embedding", weight_ndim=2),
    NN + "BatchNorm1d": _norm(),
    NN + "BatchNorm2d": _norm(),
    NN + "BatchNorm3d": _norm(),
    NN + "SyncBatchNorm": _norm(),
    NN + "LazyBatchNorm1d": _norm(),
    NN + "LazyBatchNorm2d": _norm(),
    NN + "LazyBatchNorm3d": _norm(),
    NN + "InstanceNorm1d": _norm(affine_default=False),
    NN + "InstanceNorm2d": _norm(affine_default=False),
    NN + "InstanceNorm3d": _norm(affine_default=False),
    NN + "GroupNorm": _norm(),
    NN + "LayerNorm": _norm("elementwise_affine"),
    NN + "RMSNorm": _norm("elementwise_affine"),
    NN + "LocalResponseNorm": LayerKind("norm"),
    NN + "LSTM": LayerKind("rnn"),
    NN + "GRU": LayerKind("rnn"),
    NN + "RNN": LayerKind("rnn"),
    NN + "LSTMCell": LayerKind("rnn"),
    NN + "GRUCell": LayerKind("rnn"),
    NN + "RNNCell": LayerKind("rnn"),
    NN + "MultiheadAttention": LayerKind("other"),
    NN + "PReLU": LayerKind("other", weight_ndim=1),
}

#: What torch's own ``reset_parameters()`` of a layer class writes (torch 2.13's source): the
#: named parameters, or ``"*"``: every parameter ``self.parameters()`` yields, those a
#: subclass added included (RNNBase and RNNCellBase draw U(±1/√hidden) over all of them;
#: Linear and _ConvNd draw only weight and bias). torch's ``__init__`` runs it before a
#: subclass's own ``__init__`` goes on, so only a later call reaches what the subclass adds.
#: Embedding's also re-zeroes the padding row (``_fill_padding_idx_with_zero``).
TORCH_RESETS: dict[str, tuple[str, ...]] = {
    **{NN + c: ("weight", "bias") for c in (
        "Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "LazyConv1d",
        "LazyConv2d", "LazyConv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d",
        "LazyBatchNorm2d", "LazyBatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
        "InstanceNorm3d", "GroupNorm", "LayerNorm")},
    **{NN + c: ("weight",) for c in ("Embedding", "EmbeddingBag", "RMSNorm", "PReLU")},
    **{NN + c: ("*",) for c in ("LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell")},
}
#: Layer classes whose ``reset_parameters()`` re-zeroes the ``padding_idx`` row it drew.
RESET_REZEROES_PADDING = frozenset({NN + "Embedding", NN + "EmbeddingBag"})
#: Other methods of torch's modules that put values into their parameters, what values not
#: known here (a checkpoint, MultiheadAttention's own reset, a lazy layer's first draw); the
#: rest (``flatten_parameters``, ``to``, ``train``, ``requires_grad_``...) write none.
WRITING_METHODS = frozenset({"load_state_dict", "_reset_parameters", "initialize_parameters",
                             "_fill_padding_idx_with_zero", "_load_from_state_dict"})

#: Layers whose default init is kaiming_uniform_(a=sqrt(5)): Var(w) = 1/(3·fan_in).
WEIGHT_LAYER_FAMILIES = frozenset({"linear", "conv", "conv_transpose"})

#: Positional index of the ``bias`` / ``affine`` argument, for ``nn.Linear(3, 4, False)``.
POSITIONAL_BIAS_INDEX = {"linear": 2, "conv": 7, "conv_transpose": 7}
POSITIONAL_AFFINE_INDEX = {
    NN + "BatchNorm1d": 3, NN + "BatchNorm2d": 3, NN + "BatchNorm3d": 3,
    NN + "InstanceNorm1d": 3, NN + "InstanceNorm2d": 3, NN + "InstanceNorm3d": 3,
    NN + "GroupNorm": 3, NN + "LayerNorm": 2,
}


@dataclass(frozen=True)
class Activation:
    """A nonlinearity: its calculate_gain name and E[φ(z)²]/Var(z) near unit scale."""

    name: str
    family: ActivationFamily
    gain_name: str | None  # the name calculate_gain uses for it, when there is one
    second_moment: float  # E[φ(z)²] for z ~ N(0, 1)


_RELU = Activation("relu", "relu", "relu", 0.5)
ACTIVATIONS: dict[str, Activation] = {
    "relu": _RELU,
    "relu6": Activation("relu6", "relu", "relu", 0.5),
    "leaky_relu": Activation("leaky_relu", "relu", "leaky_relu", 0.5),
    "elu": Activation("elu", "relu", None, 0.65),
    "prelu": Activation("prelu", "relu", "leaky_relu", 0.53),
    "rrelu": Activation("rrelu", "relu", "leaky_relu", 0.5),
    "celu": Activation("celu", "relu", None, 0.65),
    "selu": Activation("selu", "relu", "selu", 1.0),
    "gelu": Activation("gelu", "smooth", None, 0.43),
    "silu": Activation("silu", "smooth", None, 0.36),
    "mish": Activation("mish", "smooth", None, 0.4),
    "hardswish": Activation("hardswish", "smooth", None, 0.36),
    "tanh": Activation("tanh", "saturating", "tanh", 0.39),
    "sigmoid": Activation("sigmoid", "saturating", "sigmoid", 0.29),
    "hardtanh": Activation("hardtanh", "saturating", "tanh", 0.39),
    "softplus": Activation("softplus", "smooth", None, 0.6),
}

#: Activations after which a deep chain on PyTorch's default init collapses as fast as with
#: ReLU (INI101): the ReLU family, GELU/SiLU-like and tanh (not sigmoid, whose output is
#: not centred, nor SELU, which is built for its own init).
DEEP_STACK_ACTIVATIONS = frozenset({"relu", "relu6", "leaky_relu", "elu", "prelu", "rrelu",
                                    "celu", "gelu", "silu", "mish", "hardswish", "tanh"})

#: Module classes and functionals that apply an activation, by canonical qualified name.
ACTIVATION_CALLABLES: dict[str, str] = {
    **{NN + cls: act for cls, act in {
        "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu",
        "PReLU": "prelu", "RReLU": "rrelu", "CELU": "celu", "SELU": "selu", "GELU": "gelu",
        "SiLU": "silu", "Mish": "mish", "Hardswish": "hardswish", "Tanh": "tanh",
        "Sigmoid": "sigmoid", "Hardtanh": "hardtanh", "Softplus": "softplus",
    }.items()},
    **{F + fn: act for fn, act in {
        "relu": "relu", "relu_": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu",
        "leaky_relu_": "leaky_relu", "elu": "elu", "elu_": "elu", "selu": "selu",
        "celu": "celu", "gelu": "gelu", "silu": "silu", "mish": "mish",
        "hardswish": "hardswish", "tanh": "tanh", "sigmoid": "sigmoid",
        "hardtanh": "hardtanh", "softplus": "softplus", "prelu": "prelu", "rrelu": "rrelu",
    }.items()},
    "torch.relu": "relu", "torch.relu_": "relu", "torch.tanh": "tanh",
    "torch.sigmoid": "sigmoid", "torch.selu": "selu", "torch.celu": "celu",
    "torch.prelu": "prelu", "torch.rrelu": "rrelu",
}
#: activation name → the module class that applies it, for messages (``relu`` → ``ReLU``).
ACTIVATION_LABELS: dict[str, str] = {
    act: cls[len(NN):] for cls, act in reversed(ACTIVATION_CALLABLES.items())
    if cls.startswith(NN)
}

#: ``x.relu()`` style tensor methods.
ACTIVATION_METHODS: dict[str, str] = {
    "relu": "relu", "relu_": "relu", "tanh": "tanh", "tanh_": "tanh",
    "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
}

#: Module classes that neither carry weights nor change the signal scale: a chain passes
#: through them unchanged.
TRANSPARENT_MODULES = frozenset(
    NN + c for c in (
        "Identity", "Unflatten", "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d",
        "ConstantPad2d", "ZeroPad1d", "ReflectionPad1d", "ConstantPad1d",
    )
)


@dataclass(frozen=True)
class SignalFactor:
    """An operation that scales the signal without learned weights: a factor in the chain.

    ``low``/``high`` are the measured ratios of the RMS (what the next layer's variance
    depends on: Var(Wx) = fan_in·Var(w)·E[x²]) after/before the operation, on ReLU feature
    maps of a He-initialized conv, torch 2.13, batch 32×64×32×32: ``low``/``high`` are the
    two ends over spatially correlated (bilinearly upsampled noise) and i.i.d. inputs, or over
    sequence lengths 16–256 for attention. A rule deciding that a chain is NOT rescued uses
    ``high`` (the most the operation can raise the signal), messages the typical ``low``.
    """

    kind: str  # "max_pool" | "avg_pool" | "global_avg_pool" | "global_max_pool" | "upsample"
    # | "dropout" | "reshape" | "attention"
    low: float
    high: float
    note: str = ""


_MAX_POOL = SignalFactor("max_pool", 1.27, 1.76, "2×2 window; a 3×3/stride-2 window ×1.47–2.26")
_AVG_POOL = SignalFactor("avg_pool", 0.70, 0.96, "2×2 window; 3×3/stride-2 ×0.61")
_GLOBAL_AVG = SignalFactor("adaptive_avg_pool", 0.56, 1.0, "to 1×1: ×0.56–0.58 (keeps the "
                          "mean, drops the spread); ×1 when the output is the input's size")
_GLOBAL_MAX = SignalFactor("adaptive_max_pool", 1.0, 4.66, "to 1×1 from 32×32: ×4.16–4.66, "
                          "growing with the map size; ×1 when the output is the input's size")
_NEAREST = SignalFactor("upsample", 1.0, 1.0, "nearest: copies values")
_BILINEAR = SignalFactor("upsample", 0.77, 0.97, "bilinear/bicubic interpolation smooths")
_RESHAPE = SignalFactor("reshape", 1.0, 1.0)
_CONCAT = SignalFactor("concat", 1.0, 1.0, "the RMS of the parts (×1.000 measured for parts at "
                       "one scale); two signal paths joined end the chain instead: the shorter "
                       "one rescues the signal like a residual path")
_DROPOUT = SignalFactor("dropout", 1.41, 1.41, "train mode, p=0.5: ×1/√(1-p); ×1 in eval")
_ATTENTION = SignalFactor("attention", 0.031, 0.115, "nn.MultiheadAttention at its own init, "
                          "sequence 256–16: the softmax averages values, ≈1/√seq")
_SDPA = SignalFactor("attention", 0.10, 0.36, "unit q/k/v, sequence 256–16")

#: Pooling, upsampling, dropout, flatten and attention: factors in a chain, not breakers.
#: Keys are module classes and functionals (canonical qualified names).
SIGNAL_FACTORS: dict[str, SignalFactor] = {
    **{NN + f"MaxPool{n}d": _MAX_POOL for n in (1, 2, 3)},
    **{F + f"max_pool{n}d": _MAX_POOL for n in (1, 2, 3)},
    **{NN + f"AvgPool{n}d": _AVG_POOL for n in (1, 2, 3)},
    **{F + f"avg_pool{n}d": _AVG_POOL for n in (1, 2, 3)},
    **{NN + f"LPPool{n}d": _AVG_POOL for n in (1, 2, 3)},
    **{NN + f"AdaptiveAvgPool{n}d": _GLOBAL_AVG for n in (1, 2, 3)},
    **{F + f"adaptive_avg_pool{n}d": _GLOBAL_AVG for n in (1, 2, 3)},
    **{NN + f"AdaptiveMaxPool{n}d": _GLOBAL_MAX for n in (1, 2, 3)},
    **{F + f"adaptive_max_pool{n}d": _GLOBAL_MAX for n in (1, 2, 3)},
    NN + "Upsample": _NEAREST, NN + "UpsamplingNearest2d": _NEAREST,
    NN + "UpsamplingBilinear2d": _BILINEAR, F + "interpolate": _NEAREST,
    F + "upsample": _NEAREST, NN + "PixelShuffle": _NEAREST, NN + "PixelUnshuffle": _NEAREST,
    F + "pixel_shuffle": _NEAREST,
    NN + "Flatten": _RESHAPE, "torch.flatten": _RESHAPE,
    **{"torch." + f: _CONCAT for f in ("cat", "concat", "concatenate", "stack", "hstack")},
    **{NN + c: _DROPOUT for c in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                  "AlphaDropout", "FeatureAlphaDropout")},
    **{F + c: _DROPOUT for c in ("dropout", "dropout1d", "dropout2d", "dropout3d",
                                 "alpha_dropout")},
    NN + "MultiheadAttention": _ATTENTION,
    F + "scaled_dot_product_attention": _SDPA,
}
#: Interpolation modes that smooth (the rest copy values).
SMOOTHING_MODES: dict[str, SignalFactor] = {
    mode: _BILINEAR for mode in ("bilinear", "bicubic", "linear", "trilinear", "area")
}


def dropout_factor(p: float) -> float:
    """Inverted dropout in train mode scales kept values by 1/(1-p): RMS ×1/√(1-p)."""
    return 1.0 / math.sqrt(1.0 - p) if 0 <= p < 1 else 1.0


@dataclass(frozen=True)
class Reparam:
    """A wrapper that recomputes a layer's parameter from others at every forward."""

    label: str
    instead: str  # what to initialize instead, for ``{name}`` = the wrapped parameter
    how: str  # why a write to the parameter is lost


_HOOK = "a forward pre-hook recomputes `{name}` from `{name}_g`·`{name}_v`/‖`{name}_v`‖"
_SN_HOOK = "a forward pre-hook recomputes `{name}` as `{name}_orig`/σ in train mode"
_PARAMETRIZED = ("`{name}` is a property: every read computes a fresh tensor from "
                 "`parametrizations.{name}.original`, so a write lands in a temporary")
REPARAM_WRAPPERS: dict[str, Reparam] = {
    "torch.nn.utils.weight_norm": Reparam("weight_norm", "`{name}_v` (and `{name}_g`)", _HOOK),
    "torch.nn.utils.spectral_norm": Reparam("spectral_norm", "`{name}_orig`", _SN_HOOK),
    "torch.nn.utils.parametrizations.weight_norm": Reparam(
        "weight_norm", "`parametrizations.{name}.original1` (v; original0 is g)", _PARAMETRIZED),
    "torch.nn.utils.parametrizations.spectral_norm": Reparam(
        "spectral_norm", "`parametrizations.{name}.original`", _PARAMETRIZED),
    "torch.nn.utils.parametrizations.orthogonal": Reparam(
        "orthogonal", "nothing (it is kept orthogonal; initialize before wrapping)",
        _PARAMETRIZED),
}

#: Calls whose presence on a forward path means the module normalizes its input (a
#: project's own LayerNorm2d / RMSNorm): a scale of the spread, or torch's norm functionals.
NORMALIZING_CALLS = frozenset({
    "rsqrt", "sqrt", "std", "var", "var_mean", "std_mean", "norm", "normalize",
    "layer_norm", "group_norm", "batch_norm", "instance_norm", "rms_norm",
})
#: Parameter names a norm layer's scale γ and shift β go by.
NORM_SCALE_NAMES = ("weight", "gamma", "scale", "g", "alpha")
NORM_SHIFT_NAMES = ("bias", "beta", "shift", "b")

#: Recurrent layers whose weights stack one block per gate along dim 0: (gates·h, ·).
RNN_GATES: dict[str, int] = {
    NN + "LSTM": 4, NN + "LSTMCell": 4, NN + "GRU": 3, NN + "GRUCell": 3,
}
#: Init functions that make a matrix orthogonal (or the identity): meaningless on a stack.
ORTHOGONAL_INITS = frozenset({"orthogonal_", "orthogonal", "eye_"})

#: The sequential container classes whose children run in order.
SEQUENTIAL = NN + "Sequential"
MODULE_LIST = NN + "ModuleList"
MODULE_DICT = NN + "ModuleDict"
MODULE_BASE = NN + "Module"

# --- init functions --------------------------------------------------------------------


@dataclass(frozen=True)
class InitFunction:
    """A ``torch.nn.init`` function: its parameters and what it needs of the tensor."""

    name: str
    params: tuple[str, ...]  # positional parameter names after the tensor
    min_ndim: int = 0  # fewer dims raises ValueError
    max_ndim: int | None = None
    kind: str = "other"  # "xavier" | "kaiming" | "normal" | "uniform" | "constant" | "zeros" | ...


INIT_FUNCTIONS: dict[str, InitFunction] = {
    f.name: f for f in (
        InitFunction("uniform_", ("a", "b", "generator"), kind="uniform"),
        InitFunction("normal_", ("mean", "std", "generator"), kind="normal"),
        InitFunction("trunc_normal_", ("mean", "std", "a", "b", "generator"), kind="normal"),
        InitFunction("constant_", ("val",), kind="constant"),
        InitFunction("ones_", (), kind="ones"),
        InitFunction("zeros_", (), kind="zeros"),
        InitFunction("eye_", (), min_ndim=2, max_ndim=2, kind="eye"),
        InitFunction("dirac_", ("groups",), min_ndim=3, max_ndim=5, kind="dirac"),
        InitFunction("xavier_uniform_", ("gain", "generator"), min_ndim=2, kind="xavier"),
        InitFunction("xavier_normal_", ("gain", "generator"), min_ndim=2, kind="xavier"),
        InitFunction("kaiming_uniform_", ("a", "mode", "nonlinearity", "generator"),
                     min_ndim=2, kind="kaiming"),
        InitFunction("kaiming_normal_", ("a", "mode", "nonlinearity", "generator"),
                     min_ndim=2, kind="kaiming"),
        InitFunction("orthogonal_", ("gain", "generator"), min_ndim=2, kind="orthogonal"),
        InitFunction("sparse_", ("sparsity", "std", "generator"), min_ndim=2, max_ndim=2,
                     kind="sparse"),
    )
}

#: The deprecated non-underscore aliases (they warn on every call) → their replacement.
DEPRECATED_ALIASES: dict[str, str] = {
    name: name + "_" for name in (
        "uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
        "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
    )
}

#: In-place tensor methods that initialize or modify a tensor.
INPLACE_INIT_METHODS: dict[str, str] = {
    "normal_": "normal", "uniform_": "uniform", "fill_": "constant", "zero_": "zeros",
    "copy_": "copy", "mul_": "scale", "div_": "scale", "add_": "shift", "sub_": "shift",
    "clamp_": "other", "exponential_": "other", "random_": "other", "bernoulli_": "other",
    "cauchy_": "other", "log_normal_": "other", "geometric_": "other",
}

#: Tensor methods whose result is a new tensor, not a view: initializing it changes nothing.
COPYING_METHODS = frozenset(
    {"clone", "cpu", "cuda", "to", "float", "half", "double", "bfloat16",
     "numpy", "type", "long", "int"}
)
#: Methods that return views (writes go through to the parameter); ``contiguous`` returns
#: the parameter itself.
VIEW_METHODS = frozenset({"contiguous", "view", "view_as", "reshape", "t", "transpose",
                          "permute", "squeeze", "unsqueeze", "narrow", "select", "flatten",
                          "chunk", "split", "unbind", "as_strided", "expand"})
#: Factories that make a fresh tensor.
TENSOR_FACTORIES = frozenset(
    "torch." + f for f in ("empty", "zeros", "ones", "randn", "rand", "tensor",
                           "empty_like", "zeros_like", "ones_like", "randn_like",
                           "rand_like", "full", "Tensor", "FloatTensor")
)
#: Factories whose result is uninitialized memory (INI007): values are whatever was there.
UNINITIALIZED_FACTORIES = frozenset({"torch.empty", "torch.empty_like", "torch.empty_strided"})
UNINITIALIZED_METHODS = frozenset({"new_empty", "new_empty_strided"})
#: Legacy constructors: given sizes they allocate without initializing, given data they copy.
LEGACY_CONSTRUCTORS = frozenset("torch." + c for c in (
    "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor",
    "cuda.FloatTensor", "cuda.DoubleTensor", "cuda.HalfTensor",
))
PARAMETER = NN + "Parameter"
CALCULATE_GAIN = INIT + "calculate_gain"

#: calculate_gain's accepted names and their gains (leaky_relu with its default slope).
GAINS: dict[str, float] = {
    "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
    "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
    "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)), "selu": 0.75,
}
FAN_MODES = frozenset({"fan_in", "fan_out"})

#: Method names that are init methods by convention.
INIT_METHOD_NAMES = frozenset({
    "_init_weights", "init_weights", "_initialize_weights", "initialize_weights",
    "reset_parameters", "_reset_parameters", "_init_weight", "init_weight", "weights_init",
    "weight_init", "_weights_init", "_weight_init", "init_params", "_init_params",
    "initialize", "_initialize", "_weight_initializer",
})


#: Default negative slopes: LeakyReLU's, PReLU's initial weight, RReLU's mean.
DEFAULT_SLOPES = {"leaky_relu": 0.01, "prelu": 0.25, "rrelu": (1 / 8 + 1 / 3) / 2}


def variance_to_keep(act: str | None, slope: float | None = None) -> float | None:
    """fan_in·Var(w) that keeps the variance through ``act``: He (2) for ReLU, 2/(1+a²) for the
    leaky family, LeCun/xavier scale (1) for tanh, sigmoid and SELU; None when unknown."""
    if act in ("relu", "relu6"):
        return 2.0
    if act in DEFAULT_SLOPES:
        value = slope if isinstance(slope, (int, float)) else DEFAULT_SLOPES[act]
        return 2.0 / (1 + value**2)
    if act in ("tanh", "sigmoid", "hardtanh", "selu"):
        return 1.0  # calculate_gain's extra 5/3 for tanh is generous; 1 keeps it unsaturated
    return None


def leaky_relu_gain(slope: float) -> float:
    """calculate_gain('leaky_relu', slope)."""
    return math.sqrt(2.0 / (1 + slope**2))


#: torch's internal modules whose names ``torch.nn`` re-exports (``from .modules import *``,
#: ``from .parameter import Parameter, ...`` in torch/nn/__init__.py)
_REEXPORTED_BY_NN = ("torch.nn.modules.", "torch.nn.parameter.")


def canonical(qualified: str) -> str:
    """Map torch's internal module paths onto the public name.

    ``torch.nn.modules.conv.Conv2d`` → ``torch.nn.Conv2d``,
    ``torch.nn.parameter.Parameter`` → ``torch.nn.Parameter``.
    """
    if qualified.startswith(_REEXPORTED_BY_NN):
        return NN + qualified.rsplit(".", 1)[1]
    return qualified


#: torch's own class hierarchy: the public layer-name prefixes under each private base, for
#: ``isinstance(m, _ConvNd)`` and friends.
TORCH_BASE_FAMILIES = {
    "_ConvNd": ("Conv", "LazyConv"), "_ConvTransposeNd": ("ConvTranspose", "LazyConvTranspose"),
    "_ConvTransposeMixin": ("ConvTranspose",), "_BatchNorm": ("BatchNorm", "SyncBatchNorm",
                                                               "LazyBatchNorm"),
    "_NormBase": ("BatchNorm", "SyncBatchNorm", "InstanceNorm", "LazyBatchNorm",
                  "LazyInstanceNorm"),
    "_InstanceNorm": ("InstanceNorm", "LazyInstanceNorm"), "RNNBase": ("LSTM", "GRU", "RNN"),
    "RNNCellBase": ("LSTMCell", "GRUCell", "RNNCell"), "_LazyNormBase": ("LazyBatchNorm",),
}

#: The tensor classes a parameter is an instance of.
TENSOR_TYPES = ("torch.Tensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter")

#: Bases from frameworks that call an init hook for you (transformers, diffusers...).
FRAMEWORK_BASE_SUFFIXES = ("PreTrainedModel", "ModelMixin", "PreTrainedModelMixin")

#: Calls that may put trained values into a model (by name: ``load_state_dict``,
#: ``from_pretrained``, a project's ``load_checkpoint``): an init that runs after one would
#: overwrite what it loaded.
WEIGHT_LOADERS = re.compile(r"(^|_)(load|loads|restore)(_|$)|from_pretrained|pretrained|checkpoint")
#: Keywords of builders that load weights when given anything but False/None
#: (``resnet50(pretrained=True)``, ``weights=ResNet50_Weights.DEFAULT``).
LOADING_KEYWORDS = frozenset({"pretrained", "weights", "checkpoint", "pretrained_path", "ckpt"})


#: What a constant init writes into every element: the value, or the name of the argument
#: that holds it (``constant_(t, val)``, ``t.fill_(val)``).
CONSTANT_WRITES: dict[str, float | str] = {
    "ones_": 1.0, "zeros_": 0.0, "zero_": 0.0, "constant_": "val", "fill_": "val"}

#: Builders that return a pretrained network when asked (``resnet50(weights=...)``,
#: ``timm.create_model("resnet50", pretrained=True)``), matched on the builder's qualified
#: name and, where one builder makes many architectures, on its first argument (the model
#: name): the module classes every such network holds in its body, outside the head a user
#: may replace. A builder not listed holds classes we do not know.
PretrainedBody = tuple[str, str, frozenset[str]]
_CONV_BN = frozenset({NN + "Conv2d", NN + "BatchNorm2d"})
_VIT = frozenset({NN + "Conv2d", NN + "Linear", NN + "LayerNorm"})
PRETRAINED_BODIES: tuple[PretrainedBody, ...] = (
    (r"torchvision\.models\.(resnet|resnext|wide_resnet|densenet|mobilenet|efficientnet|"
     r"mnasnet|regnet|shufflenet|googlenet|inception)", "", _CONV_BN),
    (r"torchvision\.models\.(vgg|alexnet|squeezenet)", "", frozenset({NN + "Conv2d"})),
    (r"torchvision\.models\.(vit|swin|maxvit)", "", _VIT),
    (r"torchvision\.models\.convnext", "", frozenset({NN + "Conv2d", NN + "Linear"})),
    (r"torchvision\.models\.(detection|segmentation)\.", "", frozenset({NN + "Conv2d"})),
    (r"torchvision\.models\.video\.", "", frozenset({NN + "Conv3d"})),
    (r"timm\.(create_model|models\.create_model)", r"(resnet|resnext|efficientnet|mobilenet|"
     r"regnet|densenet|resnest|res2net)", _CONV_BN),
    (r"timm\.(create_model|models\.create_model)", r"(vit_|deit|swin|beit|eva)", _VIT),
    (r"timm\.(create_model|models\.create_model)", r"convnext",
     frozenset({NN + "Conv2d", NN + "Linear"})),
)


def pretrained_body(builder: str, first_arg: object) -> frozenset[str] | None:
    """The module classes a pretrained network from ``builder`` holds (see
    :data:`PRETRAINED_BODIES`); None when not known."""
    for pattern, name, classes in PRETRAINED_BODIES:
        if not re.match(pattern, builder):
            continue
        if not name:
            return classes
        # "resnet50.a1_in1k", "timm/resnet50", "hf-hub:timm/vit_base_patch16_224"
        short = first_arg.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if isinstance(
            first_arg, str) else ""
        if short and re.match(name, short):
            return classes
    return None


#: Tensor factories whose every element is one constant (INI107).
CONSTANT_FACTORIES: dict[str, float] = {
    "torch.ones": 1.0, "torch.ones_like": 1.0, "torch.zeros": 0.0, "torch.zeros_like": 0.0}

#: What torch's norm layers (``LAYERS`` family "norm" with a weight) start their weight at.
NORM_WEIGHT_START = 1.0

#: Names :data:`WEIGHT_LOADERS` matches that load nothing (gradient checkpointing switches:
#: ``set_grad_checkpointing``, ``gradient_checkpointing_enable``).
NOT_WEIGHT_LOADERS = re.compile(r"checkpointing|grad_checkpoint")

#: ``nn.Module`` methods that only read the module (walks, sizes): a callback calling them on
#: its module writes nothing through them.
MODULE_READ_METHODS = frozenset({"modules", "named_modules", "parameters", "named_parameters",
                                 "children", "named_children", "buffers", "named_buffers",
                                 "size", "dim"})
#: ``nn.Module`` methods that return the module itself (``model = Net().to(device)`` is
#: still that Net; ``apply`` too).
MODULE_RETURNS_SELF = frozenset({"to", "cuda", "cpu", "train", "eval", "float", "half",
                                 "double", "bfloat16", "requires_grad_", "apply", "type",
                                 "to_empty", "share_memory"})
#: ``functools.partial`` as the linked code qualifies it.
PARTIAL = frozenset({"functools.partial"})
#: torch namespaces whose members a program may look up by name (``getattr(nn.init, name)``).
NAMESPACES = frozenset({"torch.nn.init", "torch.nn", "torch", "torch.nn.functional"})
