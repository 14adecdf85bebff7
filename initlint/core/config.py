"""Settings from the nearest config file (an ``initlint.toml``, or a ``pyproject.toml`` with a
``[tool.initlint]`` table), merged with command-line options."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from initlint.core.codes import UnknownCodeError, expand
from initlint.core.runtime_settings import RuntimeSetupError, check_runtime_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # requires-python is 3.10: tomllib is 3.11+
    import tomli as tomllib

DEFAULT_EXCLUDE = (".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".tox", ".nox",
                   "build", "dist", "node_modules", ".mypy_cache", ".ruff_cache",
                   ".pytest_cache", ".eggs", "site-packages")
KNOWN_KEYS = {"select", "ignore", "extend-select", "extend-ignore", "per-file-ignores",
              "exclude", "extend-exclude", "min-depth", "runtime", "respect-gitignore",
              "force-exclude", "fixable", "unfixable", "extend-safe-fixes",
              "extend-unsafe-fixes"}
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
    unknown = sorted(set(section) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) in [tool.initlint]: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(KNOWN_KEYS))})")
    per_file = section.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{where}: `per-file-ignores` must be a table of glob = [codes]")
    min_depth = section.get("min-depth", 4)
    if not isinstance(min_depth, int) or isinstance(min_depth, bool) or min_depth < 2:
        raise ConfigError(f"{where}: `min-depth` must be an integer ≥ 2")
    runtime = section.get("runtime", {})
    if not isinstance(runtime, dict):
        raise ConfigError(f"{where}: [tool.initlint.runtime] must be a table")
    exclude = section.get("exclude")
    flags = {key: section.get(key, default) for key, default in
             (("respect-gitignore", True), ("force-exclude", False))}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{key}` must be true or false")
    config = Config(
        select=_codes(section.get("select", []), "select", where),
        ignore=_codes(section.get("ignore", []), "ignore", where)
        + _codes(section.get("extend-ignore", []), "extend-ignore", where),
        extend_select=_codes(section.get("extend-select", []), "extend-select", where),
        per_file_ignores=tuple(sorted((glob, _codes(codes, f"per-file-ignores.{glob}", where))
                                      for glob, codes in per_file.items())),
        exclude=tuple(_strings(exclude, "exclude", where)) if exclude is not None
        else DEFAULT_EXCLUDE,
        extend_exclude=tuple(_strings(section.get("extend-exclude", []), "extend-exclude",
                                      where)),
        min_depth=min_depth,
        runtime=tuple(sorted(runtime.items())),
        respect_gitignore=flags["respect-gitignore"],
        force_exclude=flags["force-exclude"],
        **{key.replace("-", "_"): _codes(section[key], key, where)
           for key in FIX_KEYS if key in section},
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


def _strings(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings")
    return value


def with_overrides(config: Config, **options: Any) -> Config:
    """Command-line options replace (select, ignore) or extend (extend-select) the file's."""
    changes = {k: v for k, v in options.items() if v}
    if "ignore" in changes:
        changes["ignore"] = config.ignore + tuple(changes["ignore"])
    if "extend_select" in changes:
        changes["extend_select"] = config.extend_select + tuple(changes["extend_select"])
    return replace(config, **changes)
