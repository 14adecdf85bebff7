"""The editor's settings for initlint, taken the way ruff's server takes its own.

Sources, later ones winning key by key: ``initializationOptions.settings`` (ruff's form; the
older top-level ``verifyFixes`` is still read), then what ``workspace/configuration`` answers
for the section ``initlint`` (globally and per workspace folder: a document takes its
folder's), pulled again on ``workspace/didChangeConfiguration`` (whose own ``settings``
payload is used by clients that cannot be asked). Keys are camelCase, named as ruff's:

- ``lint.enable``; ``lint.select``, ``lint.extendSelect``, ``lint.ignore`` (rule codes or
  prefixes); initlint's fix keys ``lint.fixable``, ``lint.unfixable``,
  ``lint.extendSafeFixes``, ``lint.extendUnsafeFixes``;
- ``configuration`` (a path to an ``initlint.toml`` or ``pyproject.toml`` used instead of
  the nearest one) and ``configurationPreference``: ``editorFirst`` (the default: editor
  keys override ``[tool.initlint]``), ``filesystemFirst`` (the file's keys win, editor keys
  fill what it leaves unset), ``editorOnly`` (config files are not read);
- ``fixAll``, ``codeAction.fixViolation.enable``, ``codeAction.disableRuleComment.enable``
  (which code actions are offered) and ``verifyFixes`` (fix-all builds the models first, as
  ``--fix --verify``).

The rule selection layers as ruff's does: an editor ``select`` starts a new selection (the
file's select, extend-select and ignore are dropped); without one, the editor's
``extendSelect`` and ``ignore`` add to the file's. Nothing here imports the engine: this
module is read while ``initialize`` is answered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from initlint.core.config import Config

SECTION = "initlint"
Preference = Literal["editorFirst", "filesystemFirst", "editorOnly"]
Kind = Literal["bool", "codes", "path", "preference"]

#: Editor key (dotted), the field of :class:`EditorSettings` it sets, and what it holds.
KEYS: tuple[tuple[str, str, Kind], ...] = (
    ("lint.enable", "lint_enable", "bool"),
    ("lint.select", "select", "codes"),
    ("lint.extendSelect", "extend_select", "codes"),
    ("lint.ignore", "ignore", "codes"),
    ("lint.fixable", "fixable", "codes"),
    ("lint.unfixable", "unfixable", "codes"),
    ("lint.extendSafeFixes", "extend_safe_fixes", "codes"),
    ("lint.extendUnsafeFixes", "extend_unsafe_fixes", "codes"),
    ("configuration", "configuration", "path"),
    ("configurationPreference", "preference", "preference"),
    ("fixAll", "fix_all", "bool"),
    ("codeAction.fixViolation.enable", "fix_violation", "bool"),
    ("codeAction.disableRuleComment.enable", "disable_rule_comment", "bool"),
    ("verifyFixes", "verify_fixes", "bool"),
)
#: The fix keys: an editor value replaces the file's.
FIX_FIELDS = ("fixable", "unfixable", "extend_safe_fixes", "extend_unsafe_fixes")


@dataclass(frozen=True)
class EditorSettings:
    """One scope's settings; None: not set in the editor (the file or the default decides)."""

    lint_enable: bool = True
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    fixable: tuple[str, ...] | None = None
    unfixable: tuple[str, ...] | None = None
    extend_safe_fixes: tuple[str, ...] | None = None
    extend_unsafe_fixes: tuple[str, ...] | None = None
    configuration: str | None = None
    preference: Preference = "editorFirst"
    fix_all: bool = True
    fix_violation: bool = True
    disable_rule_comment: bool = True
    verify_fixes: bool = False
    problems: tuple[str, ...] = ()  # keys with values of the wrong kind (left at default)

    def sets_lint_keys(self) -> bool:
        return any(getattr(self, name) is not None
                   for name in ("select", "extend_select", "ignore", *FIX_FIELDS))

    def reads_files(self) -> bool:
        """Are config files found next to documents read at all?"""
        return self.preference != "editorOnly"

    def apply(self, found: Config | None, explicit: Config | None) -> Config:
        """The settings a document is linted with: ``found`` is its nearest config file's
        (None: none), ``explicit`` the ``configuration`` file's (None: not set)."""
        from initlint.core.config import Config

        if self.preference == "filesystemFirst" and found is not None:
            return self._fill(found)
        if self.preference == "editorOnly":
            found = None
        return self._override(explicit or found or Config())

    def _override(self, base: Config) -> Config:
        changes: dict[str, Any] = {name: getattr(self, name) for name in FIX_FIELDS
                                   if getattr(self, name) is not None}
        if self.select is not None:  # a new selection, as a ruff layer with `select`
            changes.update(select=self.select, extend_select=self.extend_select or (),
                           ignore=self.ignore or ())
        else:
            changes.update(extend_select=base.extend_select + (self.extend_select or ()),
                           ignore=base.ignore + (self.ignore or ()))
        return replace(base, **changes)

    def _fill(self, found: Config) -> Config:
        """The file's settings, editor keys only where the file leaves them unset."""
        from initlint.core.config import Config

        default = Config()
        changes = {name: getattr(self, name) for name in
                   ("select", "extend_select", "ignore", *FIX_FIELDS)
                   if getattr(self, name) is not None
                   and getattr(found, name) == getattr(default, name)}
        return replace(found, **changes)


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    """``data["lint"]["select"]`` for ``lint.select`` (or a flat ``"lint.select"`` key)."""
    if dotted in data:
        return data[dotted]
    item: Any = data
    for part in dotted.split("."):
        if not isinstance(item, Mapping) or part not in item:
            return None
        item = item[part]
    return item


def _value(kind: Kind, value: Any) -> Any:
    """The value as the field holds it; ValueError when it is of the wrong kind."""
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "codes":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(v.strip().upper() for v in value)
    if kind == "path" and isinstance(value, str) and value.strip():
        return os.path.expandvars(os.path.expanduser(value.strip()))
    if kind == "preference" and value in get_args(Preference):
        return value
    raise ValueError(kind)


def parse(*layers: Any) -> EditorSettings:
    """Settings from raw JSON objects (None and non-objects are skipped), later layers
    winning key by key."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for layer in layers:
        if not isinstance(layer, Mapping):
            continue
        for key, name, kind in KEYS:
            raw = _lookup(layer, key)
            if raw is None:
                continue
            try:
                values[name] = _value(kind, raw)
            except ValueError:
                problems.append(f"`{key}` must be {_DESCRIBE[kind]}, not {raw!r}")
    known = {f.name for f in fields(EditorSettings)}
    return EditorSettings(**{k: v for k, v in values.items() if k in known},
                          problems=tuple(problems))


_DESCRIBE: dict[Kind, str] = {
    "bool": "true or false",
    "codes": "a list of rule codes",
    "path": "a path to an initlint.toml or pyproject.toml",
    "preference": " or ".join(f"`{p}`" for p in get_args(Preference)),
}


def init_layer(options: Any) -> dict[str, Any]:
    """The settings in ``initializationOptions``: ruff's ``settings`` object, and the
    top-level ``verifyFixes`` this server took before it had settings."""
    if not isinstance(options, Mapping):
        return {}
    layer: dict[str, Any] = {}
    if isinstance(options.get("verifyFixes"), bool):
        layer["verifyFixes"] = options["verifyFixes"]
    settings = options.get("settings")
    if isinstance(settings, Mapping):
        layer.update(settings)
    return layer


@dataclass(frozen=True)
class Scopes:
    """Settings for every scope the client answered: global, and per workspace folder."""

    default: EditorSettings = EditorSettings()
    folders: tuple[tuple[str, EditorSettings], ...] = ()  # (folder path, settings)

    def for_path(self, path: str | None) -> EditorSettings:
        """The settings of the deepest workspace folder holding ``path``, else global."""
        if path:
            real = os.path.realpath(path)
            best = max(((folder, s) for folder, s in self.folders
                        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)),
                       key=lambda item: len(item[0]), default=None)
            if best is not None:
                return best[1]
        return self.default
