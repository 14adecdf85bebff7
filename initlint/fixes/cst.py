"""Apply a fix's changes to the file's concrete syntax tree with libcst.

The file is parsed once per text (:class:`Rewriter`), nodes are found by the position and
kind ``ast`` gave them, and each fix is one transformation of that tree, so formatting,
comments and everything the fix does not name are kept by construction. Imported only when
a fix is applied or offered: the static path never loads libcst.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from initlint.core.findings import Span
from initlint.core.text import NEWLINE
from initlint.fixes.layout import Layout, generate, layout_of
from initlint.fixes.plan import (
    AddTypes,
    Append,
    Branch,
    Change,
    Decorate,
    Import,
    Insert,
    Move,
    Node,
    Remove,
    Rename,
    Replace,
    SetArg,
    Wrap,
)

_SIMPLE = (cst.SimpleStatementLine,)
_COMPOUND = (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.FunctionDef, cst.ClassDef)
_KINDS: dict[str, tuple[type, ...]] = {
    "call": (cst.Call,),
    "stmt": _SIMPLE + _COMPOUND,
    "def": (cst.FunctionDef,),
    "class": (cst.ClassDef,),
}


class CannotApplyError(Exception):
    """The change does not fit this text (node not found, or not where it can go)."""


@dataclass(frozen=True)
class Splice:
    """Replace ``[start:end]`` of the text (whole statements, or nothing: an insertion
    before one) with ``text``, statements written at the indentation ``indent``."""

    start: int
    end: int
    text: str
    indent: str


class Rewriter:
    """One parsed text; :meth:`apply` gives the text after one fix's changes."""

    def __init__(self, text: str):
        self.text = text
        self.module = cst.parse_module(text)
        self._line_starts: list[int] | None = None
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        self._starts: dict[tuple[int, int], list[tuple[cst.CSTNode, Any]]] = {}
        self._ranges: dict[int, Any] = {}
        self._blocks: list[cst.Module | cst.IndentedBlock] = [self.module]
        self._texts: dict[int, str] | None = None  # top-level statement → its text
        self._edges: tuple[str, str] = ("", "")  # the module's header and footer text
        for node, rng in wrapper.resolve(PositionProvider).items():
            if isinstance(node, cst.IndentedBlock):
                self._blocks.append(node)
            self._starts.setdefault((rng.start.line, rng.start.column), []).append((node, rng))
            self._ranges[id(node)] = rng
        self._block_of = {id(stmt): block for block in self._blocks for stmt in block.body}
        self._layout: Layout | None = None
        self._laid_out = False  # the layout is computed on the first splice
        self._imports: dict[tuple[Import, ...], Splice | None] = {}

    def holder(self, scope: Node, inner: Span) -> cst.CSTNode:
        """The statement of the def ``scope``'s own body whose range holds ``inner``."""
        fn = self.find(scope)
        body = getattr(fn, "body", None)
        statements: Sequence[cst.CSTNode] = getattr(body, "body", ())
        for stmt in statements:
            rng = self._ranges.get(id(stmt))
            if rng is not None and (rng.start.line, rng.start.column) <= (
                    inner.row, inner.column - 1) and (inner.end_row, inner.end_column - 1) <= (
                    rng.end.line, rng.end.column):
                return stmt
        raise CannotApplyError(f"nothing in the body holds {inner.row}:{inner.column}")

    def find(self, at: Node) -> cst.CSTNode:
        """The node ``ast`` placed at ``at``: same start, same kind, the same end if any."""
        span = at.span
        found = self._starts.get((span.row, span.column - 1), [])
        types = _KINDS.get(at.kind, (cst.BaseExpression,))
        fits = [(n, r) for n, r in found if isinstance(n, types)]
        exact = [n for n, r in fits if (r.end.line, r.end.column) == (span.end_row,
                                                                      span.end_column - 1)]
        if at.kind == "stmt":  # the line holding the statement, whatever its kind
            lines = [n for n, _ in fits if isinstance(n, _SIMPLE)]
            if lines:
                if len(lines[0].body) != 1:
                    raise CannotApplyError("more than one statement on the line")
                return lines[0]
            compound = [n for n, _ in fits if isinstance(n, _COMPOUND)]
            if compound:
                return compound[0]
        if exact:
            return exact[-1]  # outermost last: PositionProvider visits parents after children
        raise CannotApplyError(f"no {at.kind} at {span.row}:{span.column}")

    def _dispatch_if(self, inner: cst.CSTNode, var: str) -> cst.If:
        """The innermost ``if isinstance(<var>, ...)`` whose branch holds ``inner``."""
        rng = self._ranges[id(inner)]
        best = None
        for node in self._ifs_around(inner):
            outer = self._ranges.get(id(node))
            if (outer is None or (outer.start.line, outer.start.column) > (
                    rng.start.line, rng.start.column) or (outer.end.line, outer.end.column)
                    < (rng.end.line, rng.end.column)):
                continue
            test = self.module.code_for_node(node.test).replace(" ", "")
            if f"isinstance({var}," in test and (best is None or (
                    outer.start.line, outer.start.column) > (
                    self._ranges[id(best)].start.line, self._ranges[id(best)].start.column)):
                best = node
        if best is None:
            raise CannotApplyError(f"no isinstance({var}, ...) dispatch around the statement")
        return best

    def _ifs_around(self, inner: cst.CSTNode) -> Iterator[cst.If]:
        """The ifs (and their elifs) among the statements around ``inner``: every if that
        can hold it, without reading the rest of the file."""
        layout = self.layout()
        unit = layout.unit(inner) if layout is not None else None
        if layout is None or unit is None:  # no layout: every if of the file
            yield from (n for nodes in self._starts.values() for n, _ in nodes
                        if isinstance(n, cst.If))
            return
        for stmt in (unit, *layout.ancestors(unit)):
            branch: cst.CSTNode | None = stmt
            while isinstance(branch, cst.If):
                yield branch
                branch = branch.orelse

    def _wrap_range(self, first: cst.CSTNode, change: Wrap, plan: _Plan) -> None:
        """Carry the siblings from ``first`` to the one at ``through`` into one block."""
        if change.through is None:
            raise CannotApplyError("a range wrap names no last statement")
        last = self.find(Node(change.through, "stmt"))
        block = self._block_of.get(id(first))
        if block is None:
            raise CannotApplyError("no block holds the statement")
        body = list(block.body)
        ids = [id(s) for s in body]
        i, j = ids.index(id(first)), ids.index(id(last)) if id(last) in ids else -1
        if j < i:
            raise CannotApplyError("the statements to wrap are not siblings")
        for stmt in body[i:j]:
            plan.at(stmt, _Carry(id(first)))
        plan.at(last, _Gather(id(first), change.header))

    def _plan(self, changes: Sequence[Change]) -> _Plan:
        """The nodes ``changes`` name, each with what happens to it."""
        plan = _Plan()
        for change in changes:
            if isinstance(change, Import):
                plan.imports.append(change)
                continue
            node = self.find(change.at)
            if isinstance(change, (Branch, AddTypes)):
                node = self._dispatch_if(node, change.var)
            if isinstance(change, Wrap) and change.through is not None:
                self._wrap_range(node, change, plan)
                continue
            plan.at(node, change)
            if isinstance(change, Move):
                after = self.holder(change.scope, change.after)
                if after is node:
                    raise CannotApplyError("a statement cannot move after itself")
                plan.at(after, _Land(id(node)))
        return plan

    def _transformer(self, plan: _Plan) -> _Transformer:
        spans = [self._ranges[key] for key in plan.edits if key in self._ranges]
        return _Transformer(self.module, plan.edits, self._ranges, spans)

    def apply(self, changes: Sequence[Change]) -> str:
        """The file's text after ``changes`` (raises :class:`CannotApplyError`)."""
        plan = self._plan(changes)
        module = self.module
        if plan.edits:
            transformer = self._transformer(plan)
            module = module.visit(transformer)
            if transformer.carried:
                raise CannotApplyError("the moved statement comes after where it should land")
            if not plan.imports and len(transformer.replaced) == 1:
                spliced = self._spliced(*next(iter(transformer.replaced.values())))
                if spliced is not None:
                    return spliced
        for wanted in plan.imports:
            module = _ensure_import(module, wanted)
        return self._code(module)

    # --- one fix as the few statements it rewrites ---------------------------------------------

    def layout(self) -> Layout | None:
        """Where each statement's text is (computed once, on first use)."""
        if not self._laid_out:
            self._layout, self._laid_out = layout_of(self.module, self.text), True
        return self._layout

    def splices(self, changes: Sequence[Change]) -> tuple[Splice, ...] | None:
        """What :meth:`apply` would change, as replacements of the text of the statements
        the changes rewrite (each regenerated alone, at its indentation): the cost of a fix
        is that of the statements it changes, not of the file. None where that cannot be
        shown equal to :meth:`apply` (then use it): a statement left in an empty block, an
        import next to a changed top-level statement, a text libcst does not regenerate."""
        layout = self.layout()
        if layout is None:
            return None
        plan = self._plan(changes)
        units: dict[int, cst.CSTNode] = {}
        for node in plan.nodes.values():
            unit = layout.unit(node)
            if unit is None:
                return None
            units[id(unit)] = unit
        outermost = sorted((u for u in units.values()
                            if not any(id(a) in units for a in layout.ancestors(u))),
                           key=lambda u: layout.places[id(u)].start)
        transformer = self._transformer(plan)
        out: list[Splice] = []
        emptied: dict[int, int] = {}
        for unit in outermost:
            place = layout.places[id(unit)]
            if plan.imports and place.parent is None:
                return None  # the import goes among the top-level statements: whole module
            if generate(self.module, [unit], place.indent) != self.text[place.start:place.end]:
                return None
            result = unit.visit(transformer)
            nodes = (() if isinstance(result, cst.RemovalSentinel) else
                     result.nodes if isinstance(result, cst.FlattenSentinel) else (result,))
            if not nodes:
                emptied[id(place.block)] = emptied.get(id(place.block), 0) + 1
                if emptied[id(place.block)] == len(place.block.body):
                    return None  # libcst writes ``pass`` in an emptied block
            out.append(Splice(place.start, place.end, generate(self.module, nodes, place.indent),
                              "".join(place.indent)))
        if transformer.carried:
            raise CannotApplyError("the moved statement comes after where it should land")
        if plan.imports:
            imported = self._import_splice(tuple(plan.imports), layout)
            if imported is None:
                return None
            if imported.text:
                out.insert(0, imported)
        return tuple(out)

    def _import_splice(self, imports: tuple[Import, ...], layout: Layout) -> Splice | None:
        """The imports ``imports`` add to the unchanged top level (once per set of imports),
        as text inserted before the statement they go before; None where they go last."""
        if imports not in self._imports:
            body: list[cst.BaseStatement] = list(self.module.body)
            at: int | None = None
            added: list[cst.BaseStatement] = []
            found: Splice | None = Splice(0, 0, "", "")
            for wanted in imports:
                where = _import_insertion(self.module, body, wanted)
                if where is None:
                    continue
                if at is not None and where[0] != at + len(added):
                    found = None
                    break
                at = where[0] if at is None else at
                added += where[1]
                body[where[0]:where[0]] = where[1]
            if found is not None and at is not None:
                if at < len(self.module.body):
                    start = layout.places[id(self.module.body[at])].start
                    found = Splice(start, start, generate(self.module, added, ()), "")
                else:
                    found = None
            self._imports[imports] = found
        return self._imports[imports]

    def _code(self, module: cst.Module) -> str:
        """``module.code``, re-generating only the top-level statements a fix changed
        (the others are the same objects as before: their text is reused)."""
        old = self.module
        if (module.header is not old.header or module.footer is not old.footer or
                not module.has_trailing_newline or not old.has_trailing_newline):
            return module.code
        if self._texts is None:
            self._texts = {id(stmt): old.code_for_node(stmt) for stmt in old.body}
            self._edges = (_lines_code(old, old.header), _lines_code(old, old.footer))
        parts = [self._edges[0]]
        for stmt in module.body:
            text = self._texts.get(id(stmt))
            parts.append(text if text is not None else module.code_for_node(stmt))
        parts.append(self._edges[1])
        code = "".join(parts)
        return code if code else module.code


    def _spliced(self, old: cst.CSTNode, new: cst.CSTNode | None) -> str | None:
        """The text with only ``old``, the one node a fix changed, re-generated as ``new``
        and put where it was, or None. Generating the whole changed top-level statement
        cost each of a class's 200 fixes the whole class (quadratic in the file). Only where
        ``old``, generated alone, reproduces its text exactly at its position, and ``new``
        is one line (no indentation or whitespace it depends on)."""
        rng = self._ranges.get(id(old))
        if new is None or rng is None:
            return None
        start = self._offset(rng.start.line, rng.start.column)
        before = self.module.code_for_node(old)
        if start is None or not before or self.text[start:start + len(before)] != before:
            return None
        after = self.module.code_for_node(new)
        if "\n" in after or "\r" in after:  # a new line would need the indentation it is at
            return None
        return self.text[:start] + after + self.text[start + len(before):]

    def _offset(self, line: int, column: int) -> int | None:
        """The offset of libcst's (1-based line, 0-based column) in the text."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in NEWLINE.finditer(self.text)]
        if not 0 < line <= len(self._line_starts):
            return None
        return self._line_starts[line - 1] + column


def _lines_code(module: cst.Module, lines: Sequence[cst.EmptyLine]) -> str:
    return "".join(module.code_for_node(line) for line in lines)


# --- building snippets in the file's own style ---------------------------------------------

def _styled(module: cst.Module, code: str) -> str:
    """``code`` (dedented, 4-space indents, ``\\n``) in the file's indent and newline."""
    out = []
    for line in textwrap.dedent(code).strip("\n").split("\n"):
        stripped = line.lstrip(" ")
        depth, extra = divmod(len(line) - len(stripped), 4)
        out.append(module.default_indent * depth + " " * extra + stripped)
    return module.default_newline.join(out) + module.default_newline


def statements(module: cst.Module, code: str) -> list[cst.BaseStatement]:
    parsed = cst.parse_module(_styled(module, code), config=module.config_for_parsing)
    return list(parsed.body)


def expression(module: cst.Module, code: str) -> cst.BaseExpression:
    return cst.parse_expression(code, config=module.config_for_parsing)


# --- the transformer -------------------------------------------------------------------------

class _Carry:
    """This statement joins a group wrapped at the group's last statement."""

    def __init__(self, group: int):
        self.group = group


class _Gather:
    """Wrap the carried statements of ``group`` and this one under ``header``."""

    def __init__(self, group: int, header: str):
        self.group = group
        self.header = header


class _Land:
    """Where a :class:`Move`d statement lands (after the node this is attached to)."""

    def __init__(self, moved: int):
        self.moved = moved


#: What the transformer applies at a node: a rule's change, or the marks a change leaves
#: where its statements land (a move, a range wrap).
Planned = Change | _Land | _Carry | _Gather


class _Plan:
    """What one fix does: the nodes it names, what happens at each, the imports it needs."""

    def __init__(self) -> None:
        self.nodes: dict[int, cst.CSTNode] = {}
        self.edits: dict[int, list[Planned]] = {}
        self.imports: list[Import] = []

    def at(self, node: cst.CSTNode, change: Planned) -> None:
        self.nodes[id(node)] = node
        self.edits.setdefault(id(node), []).append(change)


class _Transformer(cst.CSTTransformer):
    """Rewrites the nodes named by the changes, leaves every other node as it was."""

    def __init__(self, module: cst.Module, edits: dict[int, list[Any]],
                 ranges: dict[int, Any] | None = None, spans: Sequence[Any] = ()):
        super().__init__()
        self.module = module
        self.edits = edits
        self.ranges = ranges or {}
        self.spans = spans
        self.carried: dict[int, cst.BaseStatement] = {}  # moved, not yet landed
        #: id of each node the changes named → (that node, what it became)
        self.replaced: dict[int, tuple[cst.CSTNode, Any]] = {}
        self.groups: dict[int, list[cst.BaseStatement]] = {}  # to wrap together

    def on_visit(self, node: cst.CSTNode) -> bool:
        """Walk only into nodes that hold a node to change: the rest is kept as it is."""
        rng = self.ranges.get(id(node))
        if rng is None:
            return True  # no position (the module, whitespace): look inside
        start, end = (rng.start.line, rng.start.column), (rng.end.line, rng.end.column)
        return any(start <= (s.start.line, s.start.column) and
                   (s.end.line, s.end.column) <= end for s in self.spans)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        changes = self.edits.get(id(original_node))
        if not changes:
            return updated_node
        node: Any = updated_node
        before: list[cst.BaseStatement] = []
        after: list[cst.BaseStatement] = []
        for change in changes:
            if isinstance(change, Rename):
                node = _rename(node, change.name)
            elif isinstance(change, SetArg):
                node = _set_arg(self.module, node, change)
            elif isinstance(change, Replace):
                node = self._replace(node, change.code)
            elif isinstance(change, Wrap):
                node = self._wrap(node, change.header)
            elif isinstance(change, Append):
                node = self._append(node, change.code)
            elif isinstance(change, Insert):
                (after if change.after else before).extend(statements(self.module, change.code))
            elif isinstance(change, Branch):
                node = self._branch(node, change)
            elif isinstance(change, AddTypes):
                node = node.with_changes(test=_add_types(self.module, node.test, change))
            elif isinstance(change, Decorate):
                node = _decorate(self.module, node, change.code)
            elif isinstance(change, Move):
                self.carried[id(original_node)] = node
                node = None
            elif isinstance(change, _Land):
                if change.moved not in self.carried:
                    raise CannotApplyError("the moved statement comes after where it should land")
                moved = self.carried.pop(change.moved)
                after.append(moved.with_changes(leading_lines=()))
            elif isinstance(change, _Carry):
                self.groups.setdefault(change.group, []).append(node)
                node = None
            elif isinstance(change, _Gather):
                node = self._wrap_all([*self.groups.pop(change.group, []), node],
                                      change.header)
            elif isinstance(change, Remove):
                node = None
        plain = node is not None and not isinstance(node, list) and not before and not after
        self.replaced[id(original_node)] = (original_node, node if plain else None)
        if node is None:
            if before or after:
                return cst.FlattenSentinel([*before, *after])
            return cst.RemovalSentinel.REMOVE
        if isinstance(node, list):
            return cst.FlattenSentinel([*before, *node, *after])
        if before:  # the statement's leading comments and blank lines go first
            first = before[0]
            before[0] = first.with_changes(leading_lines=node.leading_lines)
            node = node.with_changes(leading_lines=())
        if before or after:
            if not isinstance(node, cst.BaseStatement):
                raise CannotApplyError("statements can only be inserted next to a statement")
            return cst.FlattenSentinel([*before, node, *after])
        return node

    def _replace(self, node: Any, code: str) -> Any:
        if isinstance(node, cst.BaseExpression):
            return expression(self.module, code)
        new = statements(self.module, code)
        if new and hasattr(node, "leading_lines"):
            new[0] = new[0].with_changes(leading_lines=node.leading_lines)
        return new

    def _wrap(self, node: Any, header: str) -> Any:
        return self._wrap_all([node], header)

    def _wrap_all(self, nodes: list[Any], header: str) -> Any:
        if not all(isinstance(n, cst.BaseStatement) for n in nodes):
            raise CannotApplyError("only statements can be wrapped")
        shell = statements(self.module, f"{header}:\n    pass")[0]
        if not isinstance(shell, cst.BaseCompoundStatement):
            raise CannotApplyError(f"{header!r} does not open a block")
        inner = [nodes[0].with_changes(leading_lines=()), *nodes[1:]]
        return shell.with_changes(leading_lines=nodes[0].leading_lines,
                                  body=shell.body.with_changes(body=inner))

    def _branch(self, node: Any, change: Branch) -> Any:
        """``node`` (an If, possibly the head of an elif chain) with one more ``elif``."""
        body = "\n".join(f"    {line}" for line in change.code.split("\n"))
        new = statements(self.module, f"if {change.test}:\n{body}")[0]
        if not isinstance(node, cst.If) or not isinstance(new, cst.If):
            raise CannotApplyError("a branch goes on an if statement")

        def extend(head: cst.If) -> cst.If:
            if isinstance(head.orelse, cst.If):
                return head.with_changes(orelse=extend(head.orelse))
            return head.with_changes(orelse=new.with_changes(orelse=head.orelse))

        return extend(node)

    def _append(self, node: Any, code: str) -> Any:
        if (not isinstance(node, (cst.FunctionDef, cst.ClassDef)) or
                not isinstance(node.body, cst.IndentedBlock)):
            raise CannotApplyError("statements are appended to an indented def or class body")
        new = statements(self.module, code)
        if isinstance(node, cst.ClassDef) and new:
            new[0] = new[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        return node.with_changes(body=node.body.with_changes(body=[*node.body.body, *new]))


def _add_types(module: cst.Module, test: Any, change: AddTypes) -> Any:
    """``isinstance(m, A)`` → ``isinstance(m, (A, B))``; a tuple gets B at its end."""
    class Extend(cst.CSTTransformer):
        done = False

        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:  # noqa: N802
            if self.done or not (isinstance(updated.func, cst.Name) and
                                 updated.func.value == "isinstance" and len(updated.args) == 2
                                 and isinstance(updated.args[0].value, cst.Name)
                                 and updated.args[0].value.value == change.var):
                return updated
            self.done = True
            spec = updated.args[1].value
            new = [cst.Element(expression(module, t)) for t in change.types]
            if isinstance(spec, cst.Tuple) and spec.elements:
                last = spec.elements[-1]
                elements = [*spec.elements[:-1], last.with_changes(comma=cst.Comma(
                    whitespace_after=cst.SimpleWhitespace(" ")))]
                elements += [e.with_changes(comma=cst.Comma(
                    whitespace_after=cst.SimpleWhitespace(" "))) for e in new[:-1]] + new[-1:]
                if isinstance(last.comma, cst.Comma):  # a trailing comma: keep one
                    elements[-1] = elements[-1].with_changes(comma=cst.Comma())
                spec = spec.with_changes(elements=elements)
            else:
                spec = cst.Tuple([cst.Element(spec, comma=cst.Comma(
                    whitespace_after=cst.SimpleWhitespace(" "))),
                    *[e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(
                        " "))) for e in new[:-1]], new[-1]])
            return updated.with_changes(args=[updated.args[0],
                                              updated.args[1].with_changes(value=spec)])

    extend = Extend()
    out = test.visit(extend)
    if not extend.done:
        raise CannotApplyError(f"no isinstance({change.var}, ...) in the test")
    return out


def _decorate(module: cst.Module, node: Any, code: str) -> Any:
    if not isinstance(node, cst.FunctionDef):
        raise CannotApplyError("only a def can be decorated")
    decorator = cst.Decorator(decorator=expression(module, code))
    return node.with_changes(decorators=[*node.decorators, decorator])


def _rename(node: Any, name: str) -> Any:
    if not isinstance(node, cst.Call):
        raise CannotApplyError("rename needs a call")
    func = node.func
    if isinstance(func, cst.Attribute):
        return node.with_changes(func=func.with_changes(attr=cst.Name(name)))
    if isinstance(func, cst.Name):
        return node.with_changes(func=cst.Name(name))
    raise CannotApplyError("the called expression has no name")


def _set_arg(module: cst.Module, node: Any, change: SetArg) -> Any:
    if not isinstance(node, cst.Call):
        raise CannotApplyError("an argument needs a call")
    value = expression(module, change.code)
    args = list(node.args)
    for i, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == change.name:
            args[i] = arg.with_changes(value=value)
            return node.with_changes(args=args)
    positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
    if any(a.star for a in args):
        raise CannotApplyError("*args/**kwargs may already pass it")
    if change.position is not None and change.position < len(positional):
        i = positional[change.position]
        args[i] = args[i].with_changes(value=value)
        return node.with_changes(args=args)
    new = cst.Arg(value=value, keyword=cst.Name(change.name),
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    if args:
        last = args[-1]
        comma = last.comma if isinstance(last.comma, cst.Comma) else None
        args[-1] = last.with_changes(comma=comma or cst.Comma(
            whitespace_after=cst.SimpleWhitespace(" ")))
        if comma is not None:  # a trailing comma (one argument a line): keep the layout
            new = new.with_changes(comma=cst.Comma(whitespace_after=comma.whitespace_after))
            args[-1] = last.with_changes(comma=cst.Comma(
                whitespace_before=comma.whitespace_before,
                whitespace_after=comma.whitespace_after))
    args.append(new)
    return node.with_changes(args=args)


# --- imports ---------------------------------------------------------------------------------

def _binds(stmt: cst.BaseStatement, wanted: Import) -> bool:
    """Does this top-level statement already give the name ``wanted`` binds?"""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = cst.Module([]).code_for_node(alias.name)
                asname = alias.asname.name.value if alias.asname and isinstance(
                    alias.asname.name, cst.Name) else ""
                if dotted == wanted.module and asname == wanted.alias:
                    return True
                if not wanted.alias and not asname and dotted.startswith(wanted.module + "."):
                    return True  # ``import torch.nn`` binds ``torch`` too
        if (isinstance(small, cst.ImportFrom) and wanted.alias and "." in wanted.module
                and not isinstance(small.names, cst.ImportStar) and small.module is not None):
            head, _, last = wanted.module.rpartition(".")
            if cst.Module([]).code_for_node(small.module) == head:
                for alias in small.names:
                    target = alias.asname.name if alias.asname else alias.name
                    bound = target.value if isinstance(target, cst.Name) else ""
                    if alias.name.value == last and bound == wanted.alias:
                        return True
    return False


def _is_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(
        stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value,
                                               (cst.SimpleString, cst.ConcatenatedString))


def _import_insertion(module: cst.Module, body: Sequence[cst.BaseStatement],
                      wanted: Import) -> tuple[int, list[cst.BaseStatement]] | None:
    """Where ``wanted`` goes in ``body`` and its statements, or None when already bound:
    after the file's leading imports (after its docstring when none)."""
    if any(_binds(stmt, wanted) for stmt in body):
        return None
    code = f"import {wanted.module}" + (f" as {wanted.alias}" if wanted.alias else "")
    new = statements(module, code)
    at = 1 if body and _is_docstring(body[0]) else 0
    for i, stmt in enumerate(body[at:], at):
        if not _is_import(stmt):
            break
        at = i + 1
    if at > 0 and not _is_import(body[at - 1]):  # right after a docstring: one blank line
        new[0] = new[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
    return at, new


def _ensure_import(module: cst.Module, wanted: Import) -> cst.Module:
    """``module`` with the import ``wanted`` added where :func:`_import_insertion` says."""
    body = list(module.body)
    where = _import_insertion(module, body, wanted)
    if where is None:
        return module
    at, new = where
    return module.with_changes(body=[*body[:at], *new, *body[at:]])
