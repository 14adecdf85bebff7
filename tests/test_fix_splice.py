"""A fix rewrites only the statements it changes (``Rewriter.splices``), and that is the
same text as the whole module rewritten (``Rewriter.apply``): checked on every fix the
fixtures offer and on the layouts where a statement's text depends on what is around it."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Sequence

import pytest
from conftest import FIXTURES
from test_fix_engine import SOURCE

from initlint.core.config import Config
from initlint.core.findings import Span
from initlint.engine.edits import with_edits
from initlint.engine.fix import apply_fixes
from initlint.engine.lint import lint_text
from initlint.fixes.cst import CannotApplyError, Rewriter, Splice
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


def _spliced(text: str, splices: Sequence[Splice]) -> str:
    out, pos = [], 0
    for splice in splices:
        assert pos <= splice.start <= splice.end
        out += [text[pos:splice.start], splice.text]
        pos = splice.end
    return "".join(out) + text[pos:]


def _both(text: str, changes: Sequence[Change]) -> tuple[str, str | None]:
    """(the whole module rewritten, the statements rewritten; None where declined)."""
    rewriter = Rewriter(text)
    whole = rewriter.apply(changes)
    splices = rewriter.splices(changes)
    return whole, None if splices is None else _spliced(text, splices)


CALL = Node(Span(13, 9, 14, 33), "call")
INIT = Node(Span(6, 5, 9, 34), "def")
CASES: dict[str, list[Change]] = {
    "rename and set an argument": [Rename(CALL, "xavier_uniform_"),
                                   SetArg(CALL, "gain", "2.0", 1)],
    "wrap under a guard": [Wrap(Node(Span(13, 9, 14, 33), "stmt"), "if m.weight is not None")],
    "wrap two statements": [Wrap(Node(Span(13, 9, 14, 33), "stmt"), "with torch.no_grad()",
                                 Span(15, 9, 15, 31)), Import("torch")],
    "insert before and after": [Insert(Node(Span(15, 9, 15, 31), "stmt"), "y = 2"),
                                Insert(Node(Span(15, 9, 15, 31), "stmt"), "x = 1", False)],
    "append to a def and a class, decorate": [
        Append(INIT, "self._init_weights()"),
        Append(Node(Span(5, 1, 15, 31), "class"), "def _init_weights(self):\n    pass"),
        Decorate(Node(Span(11, 5, 15, 31), "def"), "torch.no_grad()")],
    "move after the layer": [Move(Node(Span(8, 9, 8, 32), "stmt"), Span(9, 19, 9, 34), INIT)],
    "import after the leading imports": [Import("torch"), Import("math"),
                                         Rename(CALL, "xavier_uniform_")],
    "replace an expression": [Replace(Node(Span(15, 24, 15, 30), "expr"), "m.weight")],
    "remove a statement": [Remove(Node(Span(15, 9, 15, 31), "stmt"))],
}


@pytest.mark.parametrize("name", CASES)
def test_the_statements_a_fix_rewrites_give_the_whole_module_text(name: str) -> None:
    whole, local = _both(SOURCE, CASES[name])
    assert whole != SOURCE and local == whole


DISPATCH = textwrap.dedent("""\
    \"\"\"Init.\"\"\"
    # header comment
    def init(m):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init(m.weight)  # conv
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
            else:
                pass
        # a comment the block ends with

    @torch.no_grad()
    @other(
        1,
    )
    def g():  # decorated
        pass
    """)


@pytest.mark.parametrize("changes", [
    [Branch(Node(Span(6, 13, 6, 27), "stmt"), "m", "isinstance(m, nn.Linear)",
            "init(m.weight)")],
    [AddTypes(Node(Span(8, 13, 8, 36), "stmt"), "m", ("nn.LayerNorm",))],
    [Decorate(Node(Span(17, 1, 18, 9), "def"), "torch.no_grad()")],
    [Append(Node(Span(17, 1, 18, 9), "def"), "x = 1")],
    [Insert(Node(Span(6, 13, 6, 27), "stmt"), "torch.nn.init.zeros_(m.bias)"), Import("torch")],
    [Wrap(Node(Span(4, 5, 10, 17), "stmt"), "with torch.no_grad()")],
])
def test_elifs_decorators_and_block_comments_are_kept_in_place(changes: list[Change]) -> None:
    whole, local = _both(DISPATCH, changes)
    assert whole != DISPATCH and local == whole


def _statement(text: str, row: int) -> Node:
    """The statement ``ast`` puts on ``row``, as a fix names it."""
    found = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.stmt)
                 and n.lineno == row and not isinstance(n, ast.FunctionDef))
    return Node(Span(found.lineno, found.col_offset + 1, found.end_lineno or row,
                     (found.end_col_offset or 0) + 1), "stmt")


@pytest.mark.parametrize("text", [
    "import torch.nn as nn\r\ndef f(m):\r\n\tnn.init.normal_(m.w)\r\n\tpass\r\n",
    "import torch.nn as nn\ndef f(m):\n  nn.init.normal_(\n      m.w)  # é😀\n  pass\n",
    "import torch.nn as nn\ndef f(m):\n\tif m:\n\t    nn.init.normal_(m.w)\n\tpass\n",
])
def test_line_endings_and_indentation_come_from_the_file(text: str) -> None:
    row = 4 if "if m:" in text else 3
    whole, local = _both(text, [Insert(_statement(text, row), "if m.b is not None:\n    g(m)"),
                                Wrap(_statement(text, row), "with torch.no_grad()")])
    assert whole != text and local == whole


@pytest.mark.parametrize("text, changes", [
    # the last statement has no newline: libcst writes it differently at the end
    ("def f(m):\n    nn.init.normal(m.w)", [Rename(Node(Span(2, 5, 2, 24), "call"), "normal_")]),
    # the block's only statement goes: libcst writes ``pass`` in its place
    ("def f(m):\n    nn.init.normal(m.w)\n", [Remove(Node(Span(2, 5, 2, 24), "stmt"))]),
    # libcst does not write a file of bare CRs back as it was (its last CR is lost)
    ("def f(m):\r    nn.init.normal(m.w)\r    pass\r",
     [Rename(Node(Span(2, 5, 2, 24), "call"), "normal_")]),
    # an import beside a changed top-level statement: the top level is the whole module's
    ("import torch.nn as nn\nnn.init.normal(w)\n",
     [Rename(Node(Span(2, 1, 2, 18), "call"), "normal_"), Import("torch")]),
])
def test_where_the_text_depends_on_the_whole_module_the_whole_module_is_used(
        text: str, changes: list[Change]) -> None:
    rewriter = Rewriter(text)
    assert rewriter.splices(changes) is None
    fixed = apply_fixes(text, with_edits(text, [_finding(changes)])).text
    assert fixed == rewriter.apply(changes) != text


def _finding(changes: list[Change]):
    from initlint.core.findings import Finding, Fix, Severity

    return Finding("INI999", Severity.ERROR, "x.py", Span(1, 1, 1, 1), "m", "w",
                   Fix("safe", "m", changes=tuple(changes)))


def test_every_fixture_fix_is_the_whole_module_text_from_its_statements() -> None:
    """Every fix the fixtures offer (all rules, unsafe too) rewrites only its statements,
    and the text is what rewriting the whole module gives."""
    compared = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found = [f for f in lint_text(str(path), text, Config(select=("ALL",)))
                 if f.fix is not None and f.fix.changes]
        if not found:
            continue
        rewriter = Rewriter(text)
        for finding in found:
            assert finding.fix is not None
            changes = finding.fix.changes
            try:
                whole = rewriter.apply(changes)
            except CannotApplyError:
                with pytest.raises(CannotApplyError):
                    rewriter.splices(changes)
                continue
            splices = rewriter.splices(changes)
            assert splices is not None, (path, finding.code)
            assert _spliced(text, splices) == whole
            compared += 1
    assert compared > 100
