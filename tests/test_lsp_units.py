"""The language server's pure parts, in process: position conversion, the fix-all edit,
noqa comments, code actions for a finding, and the workspace caches."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from initlint.core.findings import Edit, Finding, Fix, Severity, Span
from initlint.lsp import actions
from initlint.lsp.noqa import noqa_code_at, noqa_insertion
from initlint.lsp.positions import TextIndex, overlaps
from initlint.lsp.workspace import ConfigCache, Linter, Neighbours, context_scope

CODECS = [PositionCodec(e) for e in ("utf-8", "utf-16", "utf-32")]
TEXT = st.lists(st.sampled_from(["a", " ", "\n", "\r\n", "\r", "é", "😀", "\t"]),
                max_size=30).map("".join)


def apply(text: str, edit: types.TextEdit, codec: PositionCodec) -> str:
    index = TextIndex(text)
    start = index.lines.offset(*index.from_client(edit.range.start, codec))
    end = index.lines.offset(*index.from_client(edit.range.end, codec))
    return text[:start] + edit.new_text + text[end:]


# --- positions -------------------------------------------------------------------------

@given(TEXT, st.integers(0, 40), st.sampled_from(CODECS))
def test_positions_round_trip(text, offset, codec):
    index = TextIndex(text)
    offset = min(offset, len(text))
    if 0 < offset < len(text) and text[offset - 1: offset + 1] == "\r\n":
        offset -= 1  # inside a line ending is not a position
    row = max(r for r, s in enumerate(index.lines.starts, 1) if s <= offset)
    column = offset - index.lines.starts[row - 1] + 1
    if column > len(index.line(row)) + 1:
        return  # the "\n" of a "\r\n" ending
    position = index.position(row, column, codec)
    assert index.from_client(position, codec) == (row, column)


def test_units_per_encoding():
    index = TextIndex('s = "é😀"; x\n')
    column = index.line(1).index("x") + 1
    chars = {c.encoding: index.position(1, column, c).character for c in CODECS}
    assert chars == {"utf-32": 10, "utf-16": 11, "utf-8": 14}


def test_rows_split_like_python_not_like_splitlines():
    text = 'a = "\x0c\u2028"\nb = 1\n'  # str.splitlines would see four lines here
    index = TextIndex(text)
    assert index.row_count == 3 and index.line(2) == "b = 1"


def test_positions_outside_the_text_are_clamped():
    index = TextIndex("ab\ncd")
    codec = CODECS[1]
    assert index.position(9, 1, codec) == types.Position(line=1, character=2)
    assert index.position(1, 99, codec) == types.Position(line=0, character=2)


def test_empty_span_grows_to_one_character():
    index = TextIndex("def f(:\n")
    rng = index.visible_range(Span(1, 7, 1, 7), CODECS[1])
    assert (rng.start.character, rng.end.character) == (6, 7)
    rng = index.visible_range(Span(2, 1, 2, 1), CODECS[1])  # past the last line ending
    assert rng.start == rng.end


def test_overlaps_counts_touching_spans():
    assert overlaps(Span(1, 1, 1, 5), Span(1, 5, 1, 9))
    assert not overlaps(Span(1, 1, 1, 5), Span(2, 1, 2, 2))


# --- the fix-all edit ------------------------------------------------------------------

@given(TEXT, TEXT, st.sampled_from(CODECS))
def test_whole_edit_turns_before_into_after(before, after, codec):
    edits = actions.whole_edit(before, after, codec)
    assert len(edits) == (0 if before == after else 1)
    assert (apply(before, edits[0], codec) if edits else before) == after


def test_whole_edit_touches_only_the_change():
    before = "a\nnn.init.xavier_uniform(w)\nc\n"
    (edit,) = actions.whole_edit(before, before.replace("uniform(", "uniform_("), CODECS[1])
    assert edit.new_text == "_"
    assert edit.range.start == edit.range.end == types.Position(line=1, character=22)


# --- noqa ------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ("    f(x)", "    f(x)  # noqa: INI001"),
    ("    f(x)   ", "    f(x)  # noqa: INI001"),
    ("    f(x)  # why", "    f(x)  # why  # noqa: INI001"),
    ("    f(x)  # noqa: INI002", "    f(x)  # noqa: INI002, INI001"),
    ("    f(x)  # NOQA:INI002,INI003  # more", "    f(x)  # NOQA:INI002,INI003, INI001  # more"),
    ("    f(x)  # noqa", None),
    ("    f(x)  # noqa: INI001", None),
    ("    f(x)  # noqa: ini001", None),
])
def test_noqa_insertion(line, expected):
    insertion = noqa_insertion(line, "INI001")
    if expected is None:
        assert insertion is None
        return
    got = line[: insertion.start - 1] + insertion.content + line[insertion.end - 1:]
    assert got == expected


def test_noqa_code_at_finds_the_code_under_the_cursor():
    line = "x = 1  # noqa: INI001, INI101"
    first, second = line.index("INI001") + 1, line.index("INI101") + 1
    assert noqa_code_at(line, first).code == "INI001"
    assert noqa_code_at(line, first + 6) is not None  # the end edge still counts
    assert noqa_code_at(line, second + 3).code == "INI101"
    assert noqa_code_at(line, 2) is None
    assert noqa_code_at("x = 1  # noqa", 10) is None


# --- code actions for a finding ----------------------------------------------------------

SOURCE = "import torch.nn as nn\nnn.init.xavier_uniform(w)\n"
SPAN = Span(2, 9, 2, 23)


def finding(applicability: str, content: str = "xavier_uniform_") -> Finding:
    fix = Fix(applicability, "Use `xavier_uniform_`", (Edit(SPAN, content),))
    return Finding("INI001", Severity.ERROR, "m.py", SPAN, "deprecated", "because", fix)


def doc_with(*findings: Finding, text: str = SOURCE) -> actions.Document:
    return actions.Document("file:///m.py", 3, text, findings)


def test_unsafe_fix_is_labelled_and_not_preferred():
    style = actions.EditStyle(CODECS[1], document_changes=True)
    doc = doc_with(finding("unsafe"))
    (fix, noqa) = actions.line_actions(doc, SPAN, None, actions.FileTarget(doc, style))
    assert fix.title == "initlint (INI001): Use `xavier_uniform_` (unsafe fix)"
    assert not fix.is_preferred
    assert noqa.title == "initlint (INI001): Disable for this line"
    (change,) = fix.edit.document_changes
    assert change.text_document.version == 3


def test_a_fix_that_would_break_the_file_is_not_offered():
    doc = doc_with(finding("safe", "xavier_uniform_(("))
    found = actions.line_actions(doc, SPAN, None,
                                 actions.FileTarget(doc, actions.EditStyle(CODECS[1])))
    assert [a.title for a in found] == ["initlint (INI001): Disable for this line"]


def test_noqa_after_a_line_continuation_is_not_offered():
    text = "import torch.nn as nn\nnn.init.xavier_uniform(w) + \\\n    1\n"
    doc = doc_with(finding("safe"), text=text)
    found = actions.line_actions(doc, SPAN, None,
                                 actions.FileTarget(doc, actions.EditStyle(CODECS[1])))
    assert [a.title for a in found] == ["initlint (INI001): Use `xavier_uniform_`"]


def test_kinds_filter_hierarchically():
    assert actions.wanted(actions.FIX_ALL_KIND, ["source"])
    assert actions.wanted(actions.FIX_ALL_KIND, ["source.fixAll"])
    assert not actions.wanted(actions.FIX_ALL_KIND, ["quickfix"])
    assert not actions.wanted("quickfix", ["source.fixAll"])
    assert actions.wanted("quickfix", None)


# --- workspace caches --------------------------------------------------------------------

def write_package(root: Path) -> Path:
    package = root / "pkg" / "sub"
    package.mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (root / "pkg" / "base.py").write_text("import torch.nn as nn\n")
    (package / "model.py").write_text("import torch.nn as nn\n")
    (package / "near.py").write_text("import torch.nn as nn\n")
    return package / "model.py"


def test_scope_is_the_top_level_package(tmp_path):
    model = write_package(tmp_path)
    assert context_scope(str(model)) == ((tmp_path / "pkg").resolve(), True)
    script = tmp_path / "train.py"
    script.write_text("")
    assert context_scope(str(script)) == (tmp_path.resolve(), False)


def test_neighbours_nearest_first_capped_and_parsed_once(tmp_path):
    model = write_package(tmp_path)
    neighbours = Neighbours(limit=2)
    from initlint.core.config import Config

    files = neighbours.files(str(model), Config())
    assert [Path(f).name for f in files] == ["__init__.py", "near.py"]  # same dir first
    neighbours.parsed(str(model), Config(), {})
    assert neighbours.parses == 2
    neighbours.parsed(str(model), Config(), {})
    assert neighbours.parses == 2  # nothing changed: nothing re-parsed
    near = model.parent / "near.py"
    near.write_text("import torch.nn as nn\nx = 1\n")
    os.utime(near, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    neighbours.parsed(str(model), Config(), {})
    assert neighbours.parses == 3  # only the changed file
    (buffer,) = [p for p in neighbours.parsed(str(model), Config(), {str(near): "# open\n"})
                 if p.path.endswith("near.py")]
    assert buffer.text == "# open\n"


def test_broken_config_is_reported_once_and_again_after_an_edit(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.initlint]\nselect = 3\n")
    model = tmp_path / "m.py"
    cache = ConfigCache()
    config, error = cache.for_path(str(model))
    assert error and "select" in error and config.select == ()
    assert cache.for_path(str(model))[1] is None
    pyproject.write_text("[tool.initlint\n")
    os.utime(pyproject, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert "invalid TOML" in cache.for_path(str(model))[1]


def test_linter_respects_exclude(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["gen_*.py"]\n')
    text = "import torch.nn as nn\nnn.init.xavier_uniform(w)\n"
    for name in ("gen_model.py", "model.py"):
        (tmp_path / name).write_text(text)
    linter = Linter()
    assert linter.lint(str(tmp_path / "gen_model.py"), "x", text, {}).findings == ()
    assert [f.code for f in linter.lint(str(tmp_path / "model.py"), "x", text, {}).findings] \
        == ["INI001"]
    assert [f.code for f in linter.lint(None, "untitled:1", text, {}).findings] == ["INI001"]


# --- handler errors ----------------------------------------------------------------------

def test_guarded_handlers_log_and_answer_the_default():
    import asyncio

    from initlint.lsp.server import InitlintServer, guarded

    server = InitlintServer()
    logged: list[types.LogMessageParams] = []
    server.window_log_message = logged.append  # capture what would go to the client

    @guarded(server, default=[])
    def broken(params):
        raise ValueError("boom")

    @guarded(server)
    async def broken_async(params):
        raise KeyError("bang")

    assert broken(None) == []
    assert asyncio.run(broken_async(None)) is None
    assert [m.type for m in logged] == [types.MessageType.Error] * 2
    assert "ValueError: boom" in logged[0].message and "KeyError" in logged[1].message
    server.lint_thread.shutdown()
