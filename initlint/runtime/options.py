"""Runtime settings for one run: the config's ``[tool.initlint.runtime]`` table merged with the
command line (no torch here). The table itself is read by :mod:`initlint.core.runtime_settings`,
which the config loader also uses to type-check it in every run."""

from __future__ import annotations

from initlint.core.config import Config
from initlint.core.runtime_settings import (
    DEFAULT_TIMEOUT,
    DTYPES,
    INTEGER_DTYPES,
    KNOWN_KEYS,
    ModelSpec,
    RuntimeOptions,
    RuntimeSetupError,
    TensorSpec,
    check_device,
    parse_model_option,
    read_runtime_table,
)

__all__ = ["DEFAULT_TIMEOUT", "DTYPES", "INTEGER_DTYPES", "KNOWN_KEYS", "ModelSpec",
           "RuntimeOptions", "RuntimeSetupError", "TensorSpec", "check_device",
           "parse_model_option", "runtime_options"]


def runtime_options(config: Config, device: str | None = None, models: tuple[str, ...] = (),
                    plot: str | None = None, only_named: bool = False,
                    require_named: bool = True) -> RuntimeOptions:
    """Merge the config's runtime table with command-line values (which win)."""
    return read_runtime_table(config.runtime_settings(),
                              config.source or "[tool.initlint.runtime]", config.root, device,
                              models, plot, only_named, require_named)
