"""Values one file's facts leave to the linker: ``config.x`` where the config class is
defined in another file (``AttrOf``). Resolved once per link, before any rule looks, so every
rule sees the value the same-file case gives: the attribute's default in that class or its
project bases, else unknown."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from initlint.extract.facts import UNKNOWN, AttrOf, ClassFacts, FileFacts

FindClass = Callable[[str], "ClassFacts | None"]
_MAX_DEPTH = 4  # a default that is itself another config's attribute, a few levels deep


def resolve_deferred(files: tuple[FileFacts, ...],
                     find_class: FindClass) -> tuple[FileFacts, ...]:
    """``files`` with every AttrOf replaced by its value, classes looked up by
    ``find_class`` (the project's ``resolve_class``); files without any are kept as they
    are, the same objects."""
    if not any(f.deferred for f in files):
        return files
    resolve = _AttrLookup(find_class).value
    return tuple(_substitute(f, resolve) if f.deferred else f for f in files)


def resolve_one(facts: FileFacts, find_class: FindClass) -> FileFacts:
    """One file's AttrOf values resolved against a project it is not part of (a file read
    again because it changed while the run went on)."""
    return _substitute(facts, _AttrLookup(find_class).value) if facts.deferred else facts


class _AttrLookup:
    """Class attribute defaults by class, through project bases."""

    def __init__(self, find_class: FindClass):
        self._find = find_class

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
