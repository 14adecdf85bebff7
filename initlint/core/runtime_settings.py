"""Runtime settings: the ``[tool.initlint.runtime]`` table read and type-checked (every run
checks it, not only ``--runtime``), merged with the command line's values. Plain data, no
torch: the config loader calls it before anything else knows the runtime exists."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from initlint.core import settings_keys
from initlint.core.settings_keys import RUNTIME_KEYS, names, unknown_keys

KNOWN_KEYS = names(RUNTIME_KEYS)
MODEL_KEYS = names(settings_keys.MODEL_KEYS)
TENSOR_KEYS = names(settings_keys.TENSOR_KEYS)
DEVICE = re.compile(settings_keys.key(RUNTIME_KEYS, "device").pattern)
#: dtype names accepted in settings → torch dtype attribute names.
DTYPES = {"float": "float32", "float32": "float32", "double": "float64", "float64": "float64",
          "half": "float16", "float16": "float16", "bfloat16": "bfloat16", "long": "int64",
          "int64": "int64", "int": "int32", "int32": "int32", "bool": "bool"}
#: Integer dtypes: token ids (or masks), drawn in [0, high).
INTEGER_DTYPES = ("int64", "int32", "bool")
DEFAULT_TIMEOUT = 300.0


class RuntimeSetupError(Exception):
    """A runtime-mode problem the user must fix before anything runs (exit 2)."""


@dataclass(frozen=True)
class TensorSpec:
    """One input tensor: its full shape (batch first), dtype, and for ids the range."""

    shape: tuple[int, ...]
    dtype: str | None = None  # a DTYPES key; None: from the model's first layer
    high: int | None = None  # integer inputs are drawn in [0, high)


@dataclass(frozen=True)
class ModelSpec:
    """A model named by the user: ``pkg.mod:factory`` (a class or a function) and how to call it."""

    target: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    input: tuple[int, ...] | None = None  # one input's full shape, batch included
    dtype: str | None = None  # of that input; None: from the first layer
    inputs: tuple[tuple[str, TensorSpec], ...] = ()  # several inputs: ("", spec) positional,
    # (name, spec) by keyword

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def attr(self) -> str:
        return self.target.partition(":")[2]

    def tensors(self) -> tuple[tuple[str, TensorSpec], ...]:
        """Every input the settings give, in call order (positional first)."""
        if self.inputs:
            return self.inputs
        if self.input:
            return (("", TensorSpec(self.input, self.dtype)),)
        return ()


@dataclass(frozen=True)
class RuntimeOptions:
    """Everything the runtime mode needs besides the files and findings."""

    device: str = "cpu"
    seed: int = 0
    batch: int = 8
    models: tuple[ModelSpec, ...] = ()
    plot: str | None = None
    root: str = ""  # the config's directory: where factories are imported from
    timeout: float = DEFAULT_TIMEOUT  # seconds per model, build and measurement together
    memory: float = 0.0  # bytes a model may use; 0: half of the memory available
    only_named: bool = False  # build the named factories only, not the linted files' classes
    isolate: bool = True  # each model in a child process (False: in this one, for tests)


def _target(value: str, where: str) -> str:
    module, sep, attr = value.partition(":")
    if not sep or not module or not attr or not all(p.isidentifier() for p in
                                                    module.split(".") + attr.split(".")):
        raise RuntimeSetupError(f"{where}: `{value}` is not `package.module:factory`")
    return value


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise RuntimeSetupError(f"{where}: `input` must be a list of positive integers "
                                "(the full shape, batch first), e.g. [8, 3, 224, 224]")
    return tuple(value)


def _dtype(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if value not in DTYPES:
        raise RuntimeSetupError(f"{where}: dtype must be one of {', '.join(DTYPES)}")
    return str(value)


def _tensor(value: Any, where: str) -> TensorSpec:
    """``[4, 16]`` or ``{shape = [4, 16], dtype = "long", high = 1000}``."""
    if isinstance(value, list):
        return TensorSpec(_shape(value, where))
    if not isinstance(value, dict) or "shape" not in value:
        raise RuntimeSetupError(f"{where}: an input is a shape [..] or a table "
                                "{shape = [..], dtype = \"long\", high = N}")
    unknown = unknown_keys(value, settings_keys.TENSOR_KEYS, "an input")
    if unknown:
        raise RuntimeSetupError(f"{where}: {unknown}")
    high = value.get("high")
    if high is not None and (not isinstance(high, int) or isinstance(high, bool) or high < 1):
        raise RuntimeSetupError(f"{where}: `high` must be a positive integer")
    return TensorSpec(_shape(value["shape"], where), _dtype(value.get("dtype"), where), high)


def _inputs(value: Any, where: str) -> tuple[tuple[str, TensorSpec], ...]:
    """``inputs = [[4, 16], [4, 16]]`` (positional) or ``inputs = {ids = ..., mask = ...}``."""
    if isinstance(value, list) and value and all(isinstance(v, (list, dict)) for v in value):
        return tuple(("", _tensor(v, where)) for v in value)
    if isinstance(value, dict) and value and all(k.isidentifier() for k in value):
        return tuple((k, _tensor(v, f"{where}.{k}")) for k, v in value.items())
    raise RuntimeSetupError(f"{where}: `inputs` must be a list of inputs (positional) or a "
                            "table of name = input (keyword)")


def _model(target: str, entry: Any, where: str) -> ModelSpec:
    if not isinstance(entry, dict):
        raise RuntimeSetupError(f"{where}: models.\"{target}\" must be a table "
                                "({kwargs = {...}, input = [...]})")
    unknown = unknown_keys(entry, settings_keys.MODEL_KEYS, f"models.\"{target}\"")
    if unknown:
        raise RuntimeSetupError(f"{where}: {unknown}")
    kwargs = entry.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise RuntimeSetupError(f"{where}: models.\"{target}\".kwargs must be a table")
    here = f"{where}: models.\"{target}\""
    dtype = _dtype(entry.get("dtype"), here)
    shape = _shape(entry["input"], here) if "input" in entry else None
    inputs = _inputs(entry["inputs"], here) if "inputs" in entry else ()
    if inputs and shape:
        raise RuntimeSetupError(f"{here}: give `input` or `inputs`, not both")
    return ModelSpec(_target(target, where), tuple(sorted(kwargs.items())), shape, dtype, inputs)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string: act=relu


def _cli_kwargs(text: str) -> tuple[tuple[str, Any], ...]:
    """``depth=50, act='relu', dims=(64, 128)`` → pairs, values as Python literals."""
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        raise RuntimeSetupError(f"--runtime-model: bad keyword arguments `({text})` "
                                "(write them as (depth=50, act='relu'))") from None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise RuntimeSetupError(f"--runtime-model: only keyword arguments go in `({text})`")
    return tuple(sorted((k.arg, _literal(ast.get_source_segment(f"f({text})", k.value) or ""))
                        for k in call.keywords if k.arg is not None))


def _cli_tensor(text: str) -> tuple[str, TensorSpec]:
    """``8x3x224x224``, ``ids=4x16:long``, ``4,16:long``."""
    name, eq, rest = text.partition("=")
    if not eq:
        name, rest = "", text
    dims_text, _, dtype = rest.partition(":")
    try:
        dims = tuple(int(d) for d in re.split(r"[x,]", dims_text.strip()))
    except ValueError:
        dims = ()
    if not dims or any(d <= 0 for d in dims) or (name and not name.strip().isidentifier()):
        raise RuntimeSetupError(f"--runtime-model: bad input `{text}` (write it as "
                                "8x3x224x224, 4x16:long or input_ids=4x16:long)")
    return name.strip(), TensorSpec(dims, _dtype(dtype.strip() or None, "--runtime-model"))


def parse_model_option(value: str) -> ModelSpec:
    """``pkg.mod:factory``, ``pkg.mod:factory(depth=8)@8x3x32x32``, several inputs joined
    by ``+`` (``@ids=4x16:long+mask=4x16:long``)."""
    target, _, shape = value.partition("@")
    kwargs: tuple[tuple[str, Any], ...] = ()
    if "(" in target:
        target, _, call = target.partition("(")
        if not call.rstrip().endswith(")"):
            raise RuntimeSetupError(f"--runtime-model: unclosed `(` in `{value}`")
        kwargs = _cli_kwargs(call.rstrip()[:-1])
    target = _target(target.strip(), "--runtime-model")
    if not shape:
        return ModelSpec(target, kwargs)
    tensors = tuple(_cli_tensor(part) for part in shape.split("+"))
    if len(tensors) == 1 and not tensors[0][0]:
        return ModelSpec(target, kwargs, tensors[0][1].shape, tensors[0][1].dtype)
    return ModelSpec(target, kwargs, inputs=tensors)


def _positive_int(settings: dict[str, Any], key: str, default: int, where: str,
                  minimum: int) -> int:
    value = settings.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RuntimeSetupError(f"{where}: [tool.initlint.runtime] `{key}` must be an "
                                f"integer ≥ {minimum}")
    return value


def _positive_number(settings: dict[str, Any], key: str, default: float, where: str) -> float:
    value = settings.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise RuntimeSetupError(f"{where}: [tool.initlint.runtime] `{key}` must be a "
                                "positive number")
    return float(value)


def check_device(device: str, where: str) -> str:
    if not DEVICE.match(device):
        raise RuntimeSetupError(f"{where}: unknown device `{device}` "
                                "(use cpu, cuda, cuda:N or mps)")
    return device


def check_runtime_table(settings: dict[str, Any], where: str) -> None:
    """Type-check a config's runtime table in every run, not only under ``--runtime``: a
    wrong type is a config error wherever it is (as ruff and mypy reject a bad key of any
    section). The models ``only-named`` wants may still come from the command line."""
    read_runtime_table(settings, where or "[tool.initlint.runtime]", "", require_named=False)


def read_runtime_table(settings: dict[str, Any], where: str, root: str,
                       device: str | None = None, models: tuple[str, ...] = (),
                       plot: str | None = None, only_named: bool = False,
                       require_named: bool = True) -> RuntimeOptions:
    """The runtime table (from the config file at ``where``, whose directory is ``root``)
    merged with command-line values (which win)."""
    unknown = unknown_keys(settings, RUNTIME_KEYS, "[tool.initlint.runtime]")
    if unknown:
        raise RuntimeSetupError(f"{where}: {unknown}")
    table = settings.get("models", {})
    if not isinstance(table, dict):
        raise RuntimeSetupError(f"{where}: [tool.initlint.runtime] `models` must be a table "
                                "of \"pkg.mod:factory\" = {kwargs = {...}, input = [...]}")
    specs = [_model(target, entry, where) for target, entry in table.items()]
    specs += [parse_model_option(value) for value in models]
    config_device = settings.get("device", "cpu")
    if not isinstance(config_device, str):
        raise RuntimeSetupError(f"{where}: [tool.initlint.runtime] `device` must be a string")
    chosen = check_device(device, "--device") if device else check_device(config_device, where)
    named_only = settings.get("only-named", False)
    if not isinstance(named_only, bool):
        raise RuntimeSetupError(f"{where}: [tool.initlint.runtime] `only-named` must be "
                                "true or false")
    if (only_named or named_only) and not specs and require_named:
        raise RuntimeSetupError("only the named models were asked for, but none is named "
                                "(--runtime-model or [tool.initlint.runtime.models])")
    memory = settings.get("memory-gb")
    return RuntimeOptions(
        device=chosen,
        seed=_positive_int(settings, "seed", 0, where, 0),
        batch=_positive_int(settings, "batch", 8, where, 2),
        models=tuple(dict((s.target, s) for s in specs).values()),
        plot=plot,
        root=root,
        timeout=_positive_number(settings, "timeout", DEFAULT_TIMEOUT, where),
        memory=_positive_number(settings, "memory-gb", 1, where) * 1e9 if memory is not None
        else 0.0,
        only_named=only_named or named_only,
    )
