"""The ``check`` options that decide which files are linted and with which settings, and
the run they resolve to: files, their per-file settings, the project context of files named
one by one, ``--show-files`` and ``--show-settings``."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from initlint.core.config import Config
from initlint.files.context import with_project
from initlint.files.walk import DiscoveryError, Resolver, Walk, WalkOptions, unique_files


@dataclass(frozen=True)
class DiscoveryOptions:
    """What the user chose on the command line (None: each config file decides)."""

    force_exclude: bool | None = None
    respect_gitignore: bool | None = None
    show_files: bool = False
    show_settings: bool = False

    @property
    def walk(self) -> WalkOptions:
        return WalkOptions(self.force_exclude, self.respect_gitignore)


NO_DISCOVERY_OPTIONS = DiscoveryOptions()


def discovery_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the options to ``check`` and folds them into one ``discovery`` argument."""

    @click.option("--force-exclude/--no-force-exclude", default=None,
                  help="Apply exclude patterns to files named on the command line too "
                       "(pre-commit and editors pass every file).")
    @click.option("--respect-gitignore/--no-respect-gitignore", default=None,
                  help="Skip files git ignores when walking directories (default: on).")
    @click.option("--show-files", is_flag=True,
                  help="Print the files that would be linted, then exit.")
    @click.option("--show-settings", is_flag=True,
                  help="Print the settings each named path is linted with, then exit.")
    @functools.wraps(command)
    def wrapper(*args: Any, force_exclude: bool | None, respect_gitignore: bool | None,
                show_files: bool, show_settings: bool, **kwargs: Any) -> Any:
        kwargs["discovery"] = DiscoveryOptions(force_exclude, respect_gitignore, show_files,
                                               show_settings)
        return command(*args, **kwargs)

    return wrapper


@dataclass
class Run:
    """The files of one ``check``: what to read, what to report, each file's settings."""

    files: list[str] = field(default_factory=list)  # reported files, then context
    report: frozenset[str] = frozenset()
    configs: dict[str, Config] = field(default_factory=dict)
    config: Config = field(default_factory=Config)  # the first path's (runtime, cache place)
    errors: list[str] = field(default_factory=list)  # one line each, for stderr
    empty: list[str] = field(default_factory=list)  # paths under which nothing was found
    warnings: list[str] = field(default_factory=list)  # entries the walk left out, and why


def resolve_run(paths: tuple[str, ...], resolver: Resolver, options: DiscoveryOptions
                ) -> Run:
    """Discover ``paths`` with per-file settings and add the project context of files named
    one by one. Raises ConfigError for a broken config file."""
    walk = Walk(resolver, options.walk)
    run = Run()
    found: list[str] = []
    named: list[str] = []
    for path in paths:
        try:
            files = walk.files([path])
        except DiscoveryError as exc:
            run.errors.append(f"initlint: error: {exc}")
            continue
        if not files and not walk.named_file_excluded(path):
            run.empty.append(path)
        found += files
        if os.path.isfile(path):
            named += files
    found = unique_files(found)  # one file named several ways is one file
    run.warnings = [f"initlint: warning: {message}" for message in walk.warnings]
    scope = with_project(found, named, walk) if named else None
    run.files = list(scope.files) if scope else found
    run.report = scope.report if scope else frozenset(found)
    run.configs = {f: resolver.config_for(f) for f in run.files}
    first = paths[0] if paths else "."
    run.config = resolver.config_for(os.path.join(first, "x.py") if os.path.isdir(first)
                                     else first)
    return run


def settings_text(path: str, config: Config) -> str:
    """``--show-settings``: the resolved settings of one path, as JSON (stable, greppable)."""
    data = asdict(config)
    data["runtime"] = dict(config.runtime)
    data["per_file_ignores"] = {glob: list(codes) for glob, codes in config.per_file_ignores}
    from initlint.checks.selection import enabled_codes

    data["enabled"] = sorted(enabled_codes(config))
    return (f"Settings for {path} (from {config.source or 'defaults'}):\n"
           f"{json.dumps(data, indent=2, default=list)}\n")


def show_settings(paths: tuple[str, ...], run: Run, resolver: Resolver) -> str:
    """Each named path's settings (a directory's are those of its own files)."""
    out = []
    for path in paths or (".",):
        target = os.path.join(path, "x.py") if os.path.isdir(path) else path
        out.append(settings_text(path, resolver.config_for(target)))
    return "".join(out)


def show_files(run: Run) -> str:
    """``--show-files``: the files that would be reported on, sorted, one a line."""
    return "".join(f"{os.path.abspath(f)}\n" for f in sorted(run.report,
                                                              key=lambda p: Path(p).resolve()))


def parse_codes(value: str | None) -> tuple[str, ...]:
    """``--select INI1,ini205`` as codes."""
    if not value:
        return ()
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())
