"""What the static analysis knows that the runtime mode needs (classes and noqa), read from
the files without running anything."""

from __future__ import annotations

from dataclasses import dataclass

from initlint.engine.lint import parse_path
from initlint.extract.facts import FileFacts
from initlint.semantic.project import ProjectFacts


@dataclass(frozen=True)
class StaticView:
    """What the static analysis knows that the runtime mode needs: classes and noqa."""

    facts: dict[str, FileFacts]  # path → facts
    classes: dict[str, dict[str, int]]  # path → {class qualname: row} for nn.Module classes


def static_view(files: list[str]) -> StaticView:
    parsed = [parse_path(path) for path in files]
    facts = {p.path: p.facts for p in parsed if p.facts is not None}
    project = ProjectFacts(facts.values())
    classes = {path: {cls.qualname: cls.span.row for cls in f.classes if project.is_module(cls)}
               for path, f in facts.items()}
    return StaticView(facts, {path: names for path, names in classes.items() if names})
