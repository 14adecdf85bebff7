"""Runtime settings: ``[tool.initlint.runtime]`` merged with the command line (no torch here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from initlint.config import Config

KNOWN_KEYS = {"device", "seed", "batch", "models"}
MODEL_KEYS = {"kwargs", "input", "dtype"}
DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
DTYPES = ("float", "long")


class RuntimeSetupError(Exception):
    """A runtime-mode problem the user must fix before anything runs (exit 2)."""


@dataclass(frozen=True)
class ModelSpec:
    """A model named by the user: ``pkg.mod:factory`` (a class or a function) and how to call it."""

    target: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    input: tuple[int, ...] | None = None  # the full input shape, batch included
    dtype: str | None = None  # "float" | "long"; None: from the first layer

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def attr(self) -> str:
        return self.target.partition(":")[2]


@dataclass(frozen=True)
class RuntimeOptions:
    """Everything the runtime mode needs besides the files and findings."""

    device: str = "cpu"
    seed: int = 0
    batch: int = 8
    models: tuple[ModelSpec, ...] = ()
    plot: str | None = None
    root: str = ""  # the config's directory: put on sys.path for factories


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


def _model(target: str, entry: Any, where: str) -> ModelSpec:
    if not isinstance(entry, dict):
        raise RuntimeSetupError(f"{where}: models.\"{target}\" must be a table "
                                "({kwargs = {...}, input = [...]})")
    unknown = sorted(set(entry) - MODEL_KEYS)
    if unknown:
        raise RuntimeSetupError(f"{where}: unknown key(s) in models.\"{target}\": "
                                f"{', '.join(unknown)} (known: {', '.join(sorted(MODEL_KEYS))})")
    kwargs = entry.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise RuntimeSetupError(f"{where}: models.\"{target}\".kwargs must be a table")
    dtype = entry.get("dtype")
    if dtype is not None and dtype not in DTYPES:
        raise RuntimeSetupError(f"{where}: models.\"{target}\".dtype must be one of "
                                f"{', '.join(DTYPES)}")
    shape = _shape(entry["input"], f"{where}: models.\"{target}\"") if "input" in entry \
        else None
    return ModelSpec(_target(target, where), tuple(sorted(kwargs.items())), shape, dtype)


def parse_model_option(value: str) -> ModelSpec:
    """``--runtime-model pkg.mod:factory`` or ``pkg.mod:factory@8x3x32x32``."""
    target, _, shape = value.partition("@")
    dims: tuple[int, ...] | None = None
    if shape:
        try:
            dims = tuple(int(d) for d in re.split(r"[x,]", shape))
        except ValueError:
            dims = ()
        if not dims or any(d <= 0 for d in dims):
            raise RuntimeSetupError(f"--runtime-model: bad input shape `{shape}` "
                                    "(write it as 8x3x224x224)")
    return ModelSpec(_target(target.strip(), "--runtime-model"), input=dims)


def _positive_int(settings: dict[str, Any], key: str, default: int, where: str,
                  minimum: int) -> int:
    value = settings.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RuntimeSetupError(f"{where}: [tool.initlint.runtime] `{key}` must be an "
                                f"integer ≥ {minimum}")
    return value


def check_device(device: str, where: str) -> str:
    if not DEVICE.match(device):
        raise RuntimeSetupError(f"{where}: unknown device `{device}` "
                                "(use cpu, cuda, cuda:N or mps)")
    return device


def runtime_options(config: Config, device: str | None = None, models: tuple[str, ...] = (),
                    plot: str | None = None) -> RuntimeOptions:
    """Merge the config's runtime table with command-line values (which win)."""
    settings = config.runtime_settings()
    where = config.source or "[tool.initlint.runtime]"
    unknown = sorted(set(settings) - KNOWN_KEYS)
    if unknown:
        raise RuntimeSetupError(f"{where}: unknown key(s) in [tool.initlint.runtime]: "
                                f"{', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
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
    return RuntimeOptions(
        device=chosen,
        seed=_positive_int(settings, "seed", 0, where, 0),
        batch=_positive_int(settings, "batch", 8, where, 2),
        models=tuple(dict((s.target, s) for s in specs).values()),
        plot=plot,
        root=config.root,
    )
