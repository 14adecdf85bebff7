"""What a fix changes, as data: nodes named by their ``ast`` position and kind, never offsets.

Rules build these (cheaply, with no libcst); :mod:`initlint.fixes.cst` applies them to the
file's concrete syntax tree only when a fix is applied or offered, and :mod:`initlint.engine.fix`
turns the result into the minimal text edits that JSON, ``--diff`` and the editor carry.
"""

from __future__ import annotations

from dataclasses import dataclass

from initlint.core.findings import Span


@dataclass(frozen=True)
class Node:
    """A node of the analysed file: where ``ast`` put it and what it is.

    kind: ``"call"`` (a call expression), ``"expr"`` (any expression), ``"stmt"`` (a whole
    statement, simple or compound), ``"def"`` (a function), ``"class"`` (a class).
    """

    span: Span
    kind: str


@dataclass(frozen=True)
class Replace:
    """Replace ``at`` (an expression or a statement) with ``code``."""

    at: Node
    code: str


@dataclass(frozen=True)
class Rename:
    """Give the called function of the call ``at`` a new last name (``xavier_uniform_``)."""

    at: Node
    name: str


@dataclass(frozen=True)
class SetArg:
    """Set argument ``name`` of the call ``at`` to ``code``: replace it where it is passed by
    keyword or at ``position``, else append it as a keyword."""

    at: Node
    name: str
    code: str
    position: int | None = None


@dataclass(frozen=True)
class Insert:
    """Insert the statements ``code`` (dedented, 4-space indents) before or after the
    statement ``at``, at its indentation."""

    at: Node
    code: str
    after: bool = True


@dataclass(frozen=True)
class Wrap:
    """Put the statement ``at`` (through the sibling statement starting at ``through``, when
    given) under a compound header: ``if m.bias is not None``, ``with torch.no_grad()``."""

    at: Node
    header: str
    through: Span | None = None


@dataclass(frozen=True)
class Append:
    """Add the statements ``code`` at the end of the body of ``at`` (a def or a class)."""

    at: Node
    code: str


@dataclass(frozen=True)
class Branch:
    """Add ``elif <test>:`` with the statements ``code`` to the end of the if/elif chain
    around the statement ``at`` whose test reads ``isinstance(<var>, ...)`` (before its
    ``else``)."""

    at: Node
    var: str
    test: str
    code: str


@dataclass(frozen=True)
class AddTypes:
    """Add ``types`` (source spellings) to the ``isinstance(<var>, ...)`` test of the
    innermost if around the statement ``at``."""

    at: Node
    var: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class Decorate:
    """Add the decorator ``@<code>`` to the def ``at`` (innermost, next to the def)."""

    at: Node
    code: str


@dataclass(frozen=True)
class Move:
    """Move the statement ``at`` to just after the statement of the def ``scope``'s body
    that holds ``after`` (any node inside it)."""

    at: Node
    after: Span
    scope: Node


@dataclass(frozen=True)
class Remove:
    """Delete the statement ``at``."""

    at: Node


@dataclass(frozen=True)
class Import:
    """Make sure ``import <module> [as <alias>]`` is at the top of the file."""

    module: str
    alias: str = ""


Change = (Replace | Rename | SetArg | Insert | Wrap | Append | Branch | AddTypes | Decorate
          | Move | Remove | Import)
