"""Values one file's facts leave to the linker: ``config.x`` where the config class is
defined in another file (``AttrOf``). Resolved once per link, before any rule looks, so every
rule sees the value the same-file case gives: the attribute's default in that class or its
project bases, else unknown."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from initlint.facts import UNKNOWN, AttrOf, ClassFacts, FileFacts

_MAX_DEPTH = 4  # a default that is itself another config's attribute, a few levels deep


def resolve_deferred(files: tuple[FileFacts, ...]) -> tuple[FileFacts, ...]:
    """``files`` with every AttrOf replaced by its value (files without any are kept as
    they are, the same objects)."""
    if not any(f.deferred for f in files):
        return files
    lookup = _AttrLookup([cls for f in files for cls in f.classes])
    return tuple(_substitute(f, lookup.value) if f.deferred else f for f in files)


def resolve_one(facts: FileFacts, project_files: tuple[FileFacts, ...]) -> FileFacts:
    """One file's AttrOf values resolved against a project it is not part of (a file read
    again because it changed while the run went on)."""
    if not facts.deferred:
        return facts
    lookup = _AttrLookup([cls for f in (facts, *project_files) for cls in f.classes])
    return _substitute(facts, lookup.value)


class _AttrLookup:
    """Class attribute defaults by class, through project bases."""

    def __init__(self, classes: Iterable[ClassFacts]):
        self._classes = {cls.qualname: cls for cls in classes}
        self._short: dict[str, list[str]] = {}
        for name in self._classes:
            self._short.setdefault(name.rsplit(".", 1)[-1], []).append(name)

    def _find(self, name: str) -> ClassFacts | None:
        found = self._classes.get(name)
        if found is not None or "." not in name:
            return found
        # imported through a package's re-export (``from .configuration import Cfg``
        # seen as ``pkg.Cfg``): one class of that name in the project
        candidates = self._short.get(name.rsplit(".", 1)[-1], [])
        return self._classes[candidates[0]] if len(candidates) == 1 else None

    def value(self, ref: AttrOf, depth: int = 0) -> Any:
        seen: set[str] = set()
        todo = [ref.owner]
        while todo:
            cls = self._find(todo.pop(0))
            if cls is None or cls.qualname in seen:
                continue
            seen.add(cls.qualname)
            for key, value in cls.attrs:
                if key == ref.attr:
                    if isinstance(value, AttrOf):
                        return self.value(value, depth + 1) if depth < _MAX_DEPTH else UNKNOWN
                    return value
            todo.extend(cls.bases)
        return UNKNOWN


def _substitute(value: Any, resolve: Callable[[AttrOf], Any]) -> Any:
    """``value`` with each AttrOf inside replaced by ``resolve(ref)``; unchanged parts are
    returned as the same objects."""
    if isinstance(value, AttrOf):
        return resolve(value)
    if isinstance(value, tuple):
        items = tuple(_substitute(v, resolve) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            if isinstance(old, (str, int, float, bool)) or old is None or old is UNKNOWN:
                continue
            new = _substitute(old, resolve)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
