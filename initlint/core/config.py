"""Settings from the nearest config file (an ``initlint.toml``, or a ``pyproject.toml`` with a
``[tool.initlint]`` table), merged with command-line options."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from initlint.core.codes import UnknownCodeError, expand
from initlint.core.runtime_settings import RuntimeSetupError, check_runtime_table
from initlint.core.settings_keys import (
    DEFAULT_EXCLUDE,
    LINT_KEYS,
    OUTPUT_FORMATS,
    Key,
    names,
    unknown_keys,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # requires-python is 3.10: tomllib is 3.11+
    import tomli as tomllib

__all__ = ["CONFIG_FILE", "DEFAULT_EXCLUDE", "KNOWN_KEYS", "OUTPUT_FORMATS", "Config",
           "ConfigError", "find_config", "load_config", "with_overrides"]

KNOWN_KEYS = names(LINT_KEYS)
#: The fix settings, as ruff names them: codes or prefixes, ``ALL`` for every rule.
FIX_KEYS = ("fixable", "unfixable", "extend-safe-fixes", "extend-unsafe-fixes")
#: initlint's own config file: the keys of ``[tool.initlint]`` at its top level. In one
#: directory it wins over pyproject.toml, as ruff.toml does over ruff's pyproject table.
CONFIG_FILE = "initlint.toml"


class ConfigError(Exception):
    """A configuration problem the user must fix; the message says what and where."""


@dataclass(frozen=True)
class Config:
    """Effective settings for one run."""

    select: tuple[str, ...] = ()  # empty: the rules on by default
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    min_depth: int = 4
    runtime: tuple[tuple[str, Any], ...] = ()
    respect_gitignore: bool = True  # directory walks skip what git ignores
    force_exclude: bool = False  # excludes apply to files named on the command line too
    fixable: tuple[str, ...] = ("ALL",)  # the rules whose fixes are offered and applied
    unfixable: tuple[str, ...] = ()  # ... minus these
    extend_safe_fixes: tuple[str, ...] = ()  # unsafe fixes of these rules count as safe
    extend_unsafe_fixes: tuple[str, ...] = ()  # safe fixes of these rules count as unsafe
    output_format: str | None = None  # None: not set (the env var or "text" decides)
    root: str = ""  # the directory holding the pyproject.toml it came from
    source: str = ""  # that file

    def runtime_settings(self) -> dict[str, Any]:
        return dict(self.runtime)

    def key(self) -> str:
        """A stable fingerprint of what changes findings (for the cache)."""
        return repr((self.select, self.ignore, self.extend_select, self.per_file_ignores,
                     self.min_depth, self.fixable, self.unfixable, self.extend_safe_fixes,
                     self.extend_unsafe_fixes))


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for directory in [start, *start.parents] if start.is_dir() else [start.parent,
                                                                      *start.parent.parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def has_settings(path: Path) -> bool:
    """Is ``path`` an initlint config: an ``initlint.toml``, or a pyproject.toml with a
    ``[tool.initlint]`` table? (A broken pyproject is one: its error must be reported.)"""
    if path.name == CONFIG_FILE:
        return path.is_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return False
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return True
    tool = data.get("tool")
    return isinstance(tool, dict) and "initlint" in tool


def config_in(directory: Path) -> Path | None:
    """The config file that governs ``directory``'s own files, if it holds one."""
    for name in (CONFIG_FILE, "pyproject.toml"):
        candidate = directory / name
        if candidate.is_file() and has_settings(candidate):
            return candidate
    return None


def find_config(start: Path) -> Path | None:
    """The nearest config file above ``start`` (a file or a directory); a pyproject.toml
    without ``[tool.initlint]`` does not count, so it never hides its parent's settings."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        found = config_in(candidate)
        if found is not None:
            return found
    return None


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of rule codes")
    return tuple(v.strip().upper() for v in value)


def load_config(path: Path | None) -> Config:
    """Read ``[tool.initlint]`` from ``path`` (a pyproject.toml), or the whole of an
    ``initlint.toml``; defaults when absent."""
    if path is None:
        return Config()
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid TOML: nested too deeply") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{where}: `tool` must be a table, not {type(tool).__name__}")
    section = data if path.name == CONFIG_FILE else tool.get("initlint")
    root = str(path.parent.resolve())
    if section is None:
        return Config(root=root, source=where)
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [tool.initlint] must be a table")
    unknown = unknown_keys(section, LINT_KEYS, "[tool.initlint]")
    if unknown:
        raise ConfigError(f"{where}: {unknown}")
    values = {key.name: _value(key, section[key.name], where)
              for key in LINT_KEYS if key.name in section}
    config = Config(
        select=values.get("select", ()),
        ignore=values.get("ignore", ()) + values.get("extend-ignore", ()),
        extend_select=values.get("extend-select", ()),
        per_file_ignores=values.get("per-file-ignores", ()),
        exclude=values.get("exclude", DEFAULT_EXCLUDE),
        extend_exclude=values.get("extend-exclude", ()),
        min_depth=values.get("min-depth", 4),
        runtime=values.get("runtime", ()),
        respect_gitignore=values.get("respect-gitignore", True),
        force_exclude=values.get("force-exclude", False),
        **{key.replace("-", "_"): values[key] for key in FIX_KEYS if key in values},
        output_format=values.get("output-format"),
        root=root,
        source=where,
    )
    try:  # an unknown code is the file's error: say which file
        for what, codes in (("select", config.select), ("extend-select", config.extend_select),
                            ("ignore", config.ignore),
                            *(("per-file-ignores", c) for _, c in config.per_file_ignores),
                            *((key, getattr(config, key.replace("-", "_"))) for key in FIX_KEYS)):
            expand(codes, what)
    except UnknownCodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    try:
        check_runtime_table(dict(config.runtime), where)  # its messages name the file
    except RuntimeSetupError as exc:
        raise ConfigError(str(exc)) from None
    return config


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings")
    return tuple(value)


def _value(key: Key, value: Any, where: str) -> Any:
    """``value`` of ``key`` checked against its kind, as :class:`Config` holds it."""
    name = key.name
    if key.kind == "selectors":
        return _codes(value, name, where)
    if key.kind == "strings":
        return _strings(value, name, where)
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{name}` must be true or false")
        return value
    if key.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or (
                key.minimum is not None and value < key.minimum):
            raise ConfigError(f"{where}: `{name}` must be an integer ≥ {key.minimum:g}")
        return value
    if key.kind == "choice":
        if value not in key.choices:
            raise ConfigError(f"{where}: `{name}` must be one of {', '.join(key.choices)}")
        return value
    if key.kind == "per-file-ignores":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: `{name}` must be a table of glob = [codes]")
        return tuple(sorted((glob, _codes(codes, f"{name}.{glob}", where))
                            for glob, codes in value.items()))
    if key.kind == "table":  # the runtime table: checked whole below, kept as pairs
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [tool.initlint.{name}] must be a table")
        return tuple(sorted(value.items()))
    raise AssertionError(f"no reader for {key.kind}")  # a key of a kind [tool.initlint] lacks


def with_overrides(config: Config, **options: Any) -> Config:
    """Command-line options replace (select, ignore) or extend (extend-select) the file's."""
    changes = {k: v for k, v in options.items() if v}
    if "ignore" in changes:
        changes["ignore"] = config.ignore + tuple(changes["ignore"])
    if "extend_select" in changes:
        changes["extend_select"] = config.extend_select + tuple(changes["extend_select"])
    return replace(config, **changes)
