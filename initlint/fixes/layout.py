"""Where each statement of a parsed module lies in its text, so that a fix regenerates only
the statements it changes instead of the whole module.

libcst writes a module as the concatenation of its statements, and a statement's text
depends only on the statement and the indentation it is written at. One generation of the
module records, for every statement of a block's body, where its text starts and ends
(its leading comments and blank lines through its newline) and that indentation; a fix
then replaces those few characters with its statements written at the same indentation.
This uses libcst's code generator directly (``CodegenState``, ``_codegen``): where it ever
writes differently, the module no longer regenerates as its text and nothing is recorded
(:func:`layout_of` gives None), so every fix takes the whole-module path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst._nodes.internal import CodegenState


@dataclass(frozen=True, eq=False)
class Place:
    """Where a statement of a block's body is written: ``text[start:end]`` at ``indent``."""

    start: int
    end: int
    indent: tuple[str, ...]
    block: cst.Module | cst.IndentedBlock  # whose body holds it
    parent: cst.CSTNode | None  # the body statement around it; None at the top level


class Layout:
    """The places of a module's body statements, and which one holds every other node."""

    def __init__(self, places: dict[int, Place], holders: dict[int, cst.CSTNode]):
        self.places = places
        self._holders = holders

    def unit(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """``node`` when it is a statement of a body, else the innermost one holding it."""
        return node if id(node) in self.places else self._holders.get(id(node))

    def ancestors(self, statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """The body statements around ``statement``, innermost first."""
        parent = self.places[id(statement)].parent
        while parent is not None:
            yield parent
            parent = self.places[id(parent)].parent


class _Recorder(CodegenState):
    """libcst's code generator, counting characters and noting where statements begin."""

    def __init__(self, module: cst.Module):
        super().__init__(default_indent=module.default_indent,
                         default_newline=module.default_newline)
        self.offset = 0
        self.body: set[int] = set()  # ids of the statements of every block's body
        self.blocks: list[cst.Module | cst.IndentedBlock] = []
        # the body statements being written: (statement, where it starts, its indentation)
        self.open: list[tuple[cst.CSTNode, int, tuple[str, ...]]] = []
        self.places: dict[int, Place] = {}
        self.holders: dict[int, cst.CSTNode] = {}

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        self.offset += sum(len(token) for token in self.indent_tokens)

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.offset -= len(self.tokens.pop())

    def before_codegen(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.Module, cst.IndentedBlock)):
            self.blocks.append(node)
            self.body.update(id(stmt) for stmt in node.body)
        if id(node) in self.body:
            self.open.append((node, self.offset, tuple(self.indent_tokens)))
        elif self.open:
            self.holders[id(node)] = self.open[-1][0]

    def after_codegen(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.Module, cst.IndentedBlock)):
            self.blocks.pop()
        if self.open and self.open[-1][0] is node:
            _, start, indent = self.open.pop()
            parent = self.open[-1][0] if self.open else None
            self.places[id(node)] = Place(start, self.offset, indent, self.blocks[-1], parent)


def layout_of(module: cst.Module, text: str) -> Layout | None:
    """The layout of ``module`` (parsed from ``text``), or None when it does not regenerate
    as ``text`` exactly (then no place can be trusted)."""
    try:
        recorder = _Recorder(module)
        module._codegen(recorder)
    except Exception:  # libcst's generator changed under us: the whole-module path stays
        return None
    if "".join(recorder.tokens) != text:
        return None
    return Layout(recorder.places, recorder.holders)


def generate(module: cst.Module, nodes: Sequence[cst.CSTNode], indent: Sequence[str]) -> str:
    """The text of ``nodes``, one after another, as ``module`` writes them at ``indent``."""
    state = CodegenState(default_indent=module.default_indent,
                         default_newline=module.default_newline, indent_tokens=list(indent))
    for node in nodes:
        node._codegen(state)
    return "".join(state.tokens)
