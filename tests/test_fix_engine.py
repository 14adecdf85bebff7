"""The one fix engine: changes named by ast position and kind, applied by libcst to the
concrete syntax tree, carried as the minimal text difference; libcst only when needed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import FIXTURES, REPO

from initlint.core.findings import Finding, Fix, Severity, Span
from initlint.engine.fix import Lines, apply_fixes, minimal_edits, with_edits
from initlint.fixes.cst import CannotApplyError, Rewriter
from initlint.fixes.plan import (
    Append,
    Branch,
    Decorate,
    Import,
    Insert,
    Move,
    Node,
    Rename,
    Replace,
    SetArg,
    Wrap,
)

SOURCE = textwrap.dedent('''\
    """Doc."""
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):  # keep
            super().__init__()
            self.apply(self._init)
            self.fc = nn.Linear(4, 4)  # the layer

        def _init(self, m):
            # a comment above
            nn.init.xavier_uniform(m.weight, 1.0,
                                   )  # tail
            nn.init.zeros_(m.bias)
    ''')


def _apply(changes, text: str = SOURCE) -> str:
    return Rewriter(text).apply(changes)


def test_rename_and_set_arg_keep_the_call_layout():
    call = Node(Span(13, 9, 14, 33), "call")
    out = _apply([Rename(call, "xavier_uniform_"), SetArg(call, "gain", "2.0", 1)])
    assert "nn.init.xavier_uniform_(m.weight, 2.0,\n                               )  # tail" in out


def test_set_arg_appends_a_keyword_when_absent():
    out = _apply([SetArg(Node(Span(15, 9, 15, 31), "call"), "gain", "3", 1)])
    assert "nn.init.zeros_(m.bias, gain=3)" in out


def test_wrap_keeps_leading_comment_above_and_trailing_comment_on_the_line():
    out = _apply([Wrap(Node(Span(13, 9, 14, 33), "stmt"), "if m.weight is not None")])
    assert ("        # a comment above\n        if m.weight is not None:\n"
            "            nn.init.xavier_uniform(m.weight, 1.0,\n") in out
    assert "  # tail\n        nn.init.zeros_(m.bias)" in out


def test_wrap_through_puts_consecutive_statements_in_one_block():
    out = _apply([Wrap(Node(Span(13, 9, 14, 33), "stmt"), "with torch.no_grad()",
                       Span(15, 9, 15, 31))])
    assert out.count("with torch.no_grad():") == 1
    assert "            nn.init.zeros_(m.bias)\n" in out


def test_insert_after_and_before_take_the_statements_indentation():
    stmt = Node(Span(15, 9, 15, 31), "stmt")
    out = _apply([Insert(stmt, "if m.bias is not None:\n    print(1)"),
                  Insert(stmt, "x = 1", after=False)])
    assert ("        x = 1\n        nn.init.zeros_(m.bias)\n        if m.bias is not None:\n"
            "            print(1)\n") in out


def test_append_to_def_and_class_then_decorate():
    out = _apply([Append(Node(Span(6, 5, 9, 34), "def"), "self._init_weights()"),
                  Append(Node(Span(5, 1, 15, 31), "class"),
                         "def _init_weights(self):\n    pass"),
                  Decorate(Node(Span(11, 5, 15, 31), "def"), "torch.no_grad()")])
    assert "self.fc = nn.Linear(4, 4)  # the layer\n        self._init_weights()\n" in out
    assert out.endswith("        nn.init.zeros_(m.bias)\n\n    def _init_weights(self):\n"
                        "        pass\n")
    assert "    @torch.no_grad()\n    def _init(self, m):" in out


def test_move_lands_after_the_statement_that_holds_the_node():
    out = _apply([Move(Node(Span(8, 9, 8, 32), "stmt"), Span(9, 19, 9, 34),
                       Node(Span(6, 5, 9, 34), "def"))])
    assert ("self.fc = nn.Linear(4, 4)  # the layer\n        self.apply(self._init)\n"
            in out)
    assert out.count("self.apply(self._init)") == 1


def test_import_goes_after_the_leading_imports_once():
    out = _apply([Import("torch"), Import("torch")])
    assert out.startswith('"""Doc."""\nimport torch.nn as nn\nimport torch\n\n\nclass Net')
    assert _apply([Import("torch.nn", "nn")]) == SOURCE  # already there


def test_replace_expression():
    out = _apply([Replace(Node(Span(15, 24, 15, 30), "expr"), "m.weight")])
    assert "nn.init.zeros_(m.weight)" in out


def test_a_node_that_is_not_there_cannot_be_changed():
    with pytest.raises(CannotApplyError):
        _apply([Rename(Node(Span(3, 1, 3, 5), "call"), "x")])
    with pytest.raises(CannotApplyError):  # two statements on one line: no statement edits
        _apply([Wrap(Node(Span(1, 1, 1, 2), "stmt"), "if x")], "a(); b()\n")


def test_crlf_tabs_and_unicode_are_kept_in_inserted_code():
    text = "import torch.nn as nn\r\ndef f(m):\r\n\tnn.init.normal_(m.wé)\r\n"
    out = Rewriter(text).apply([Insert(Node(Span(3, 2, 3, 22), "stmt"),
                                       "if m.b is not None:\n    g(m)")])
    assert out == ("import torch.nn as nn\r\ndef f(m):\r\n\tnn.init.normal_(m.wé)\r\n"
                   "\tif m.b is not None:\r\n\t\tg(m)\r\n")


# --- from new text to minimal edits -------------------------------------------------------

@pytest.mark.parametrize("before, after", [
    ("a = 1\nb = 2\n", "a = 1\nb = 3\n"),
    ("é😀 = 1\r\nb = 2\r\n", "é😀 = 1\r\nif x:\r\n    b = 2\r\n"),
    ("x\n", "x\ny\n"),
    ("x = f(a)\n", "x = g(a, b)\n"),
    ("a\nb\nc\n", "c\n"),
    ("no newline", "no newline at all"),
])
def test_minimal_edits_rebuild_the_new_text(before: str, after: str):
    edits = minimal_edits(before, after)
    span = Span(1, 1, 1, 1)
    finding = Finding("INI999", Severity.ERROR, "x.py", span, "m", "w",
                      Fix("safe", "m", edits))
    assert apply_fixes(before, [finding]).text == after
    changed = sum(len(e.content) for e in edits)
    assert changed <= len(after)  # never the whole file back


def test_minimal_edit_touches_only_the_changed_characters():
    (edit,) = minimal_edits("nn.init.xavier_uniform(w)\n", "nn.init.xavier_uniform_(w)\n")
    assert edit.content == "_" and edit.span == Span(1, 23, 1, 23)


def test_with_edits_drops_a_fix_whose_node_is_gone():
    span = Span(2, 1, 2, 5)
    good = Finding("INI999", Severity.ERROR, "x.py", span, "m", "w",
                   Fix("safe", "m", changes=(Rename(Node(Span(1, 1, 1, 4), "call"), "g"),)))
    gone = Finding("INI998", Severity.ERROR, "x.py", span, "m", "w",
                   Fix("safe", "m", changes=(Rename(Node(Span(9, 1, 9, 4), "call"), "g"),)))
    done = with_edits("f()\n", [good, gone])
    assert done[0].fix.edits and done[1].fix is None
    assert Lines.of("g()\n").text == apply_fixes("f()\n", [done[0]]).text


# --- libcst only when a fix is applied or shown ---------------------------------------------

def _modules_after(script: str) -> dict:
    code = textwrap.dedent(script) + textwrap.dedent("""
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "libcst")))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_static_path_never_imports_libcst():
    loaded = _modules_after(f"""
        import io, contextlib
        from initlint.cli.main import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main([{str(FIXTURES)!r}, "--select", "ALL", "--no-cache"])
            except SystemExit:
                pass
        assert "fix (" in out.getvalue()  # fixes are offered, in words
    """)
    assert loaded == []


def test_json_output_builds_edits_with_libcst():
    loaded = _modules_after(f"""
        import io, contextlib, json
        from initlint.cli.main import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main([{str(FIXTURES / "api_misuse" / "deprecated_aliases.py")!r},
                      "--output-format", "json", "--no-cache"])
            except SystemExit:
                pass
        fixes = [f["fix"] for f in json.loads(out.getvalue()) if f["fix"]]
        assert fixes and all(f["edits"] for f in fixes)
    """)
    assert "libcst" in loaded


def test_branch_goes_at_the_end_of_the_dispatch_before_else():
    text = textwrap.dedent("""\
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init(m.weight)  # conv
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
            else:
                pass
        """)
    out = Rewriter(text).apply([Branch(Node(Span(3, 9, 3, 23), "stmt"), "m",
                                       "isinstance(m, nn.Linear)", "init(m.weight)")])
    assert out == textwrap.dedent("""\
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init(m.weight)  # conv
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
            elif isinstance(m, nn.Linear):
                init(m.weight)
            else:
                pass
        """)
