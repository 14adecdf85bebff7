"""Autofix: edits applied in order, loops to a fixed point, verified, written back intact."""

from __future__ import annotations

import codecs
import json
import os
import stat
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli.main import main
from initlint.core.config import Config
from initlint.core.findings import Edit, Finding, Fix, Severity, Span
from initlint.engine.fix import (
    Lines,
    WriteError,
    apply_fixes,
    fix_paths,
    fix_text,
    parse_error,
    unified_diff,
    write_fixed,
)
from initlint.engine.lint import lint_text

MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4, bias=False)
            self.conv = nn.Conv2d(3, 8, 3, bias=False)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity='ReLU')
                    nn.init.zeros_(m.bias)  # keep this comment
            nn.init.xavier_uniform(self.fc.weight, gain=nn.init.calculate_gain('ReLU'))
    """)

FIXED = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4, bias=False)
            self.conv = nn.Conv2d(3, 8, 3, bias=False)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)  # keep this comment
            nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain('relu'))
    """)

# INI004 (xavier on a 1-D bias) has only an unsafe fix (zeros_): it survives --fix, fails
# the run, and the summary says --unsafe-fixes would fix it.
UNFIXABLE = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            nn.init.xavier_uniform(self.fc.weight)
            nn.init.xavier_uniform_(self.fc.bias)
    """)


def finding(row: int, col: int, end_row: int, end_col: int, content: str,
            applicability: str = "safe", code: str = "INI999") -> Finding:
    span = Span(row, col, end_row, end_col)
    fix = Fix(applicability, f"write {content!r}", (Edit(span, content),))
    return Finding(code, Severity.ERROR, "x.py", span, "m", "w", fix)


# --- positions and one round -------------------------------------------------------------------

def test_offsets_count_code_points_and_every_line_ending():
    lines = Lines.of("é😀x\r\nab\rc\n")
    assert lines.offset(1, 3) == 2  # after two code points, whatever their UTF-8 size
    assert lines.offset(2, 1) == 5
    assert lines.offset(3, 2) == 9  # a lone CR ends a line for Python's tokenizer too
    assert lines.offset(1, 5) is None  # past the end of the line
    assert lines.newline(1) == "\r\n" and lines.newline(2) == "\r"


def test_form_feed_and_unicode_separators_do_not_end_lines():
    lines = Lines.of("a = '\u2028'\x0c\nb = 1\n")
    assert lines.offset(2, 1) == len("a = '\u2028'\x0c\n")


def test_non_overlapping_fixes_all_apply_in_one_round():
    result = apply_fixes("abc def ghi\n", [finding(1, 9, 1, 12, "GHI"), finding(1, 1, 1, 4, "ABC")])
    assert result.text == "ABC def GHI\n"
    assert len(result.applied) == 2 and not result.deferred


def test_overlapping_fix_waits_for_the_next_round():
    first, second = finding(1, 1, 1, 6, "X"), finding(1, 4, 1, 8, "Y")
    result = apply_fixes("abc def\n", [second, first])
    assert result.text == "Xef\n"
    assert result.applied == (first,) and result.deferred == (second,)


def test_two_inserts_at_one_place_conflict_but_identical_fixes_merge():
    a, b = finding(1, 1, 1, 1, "A"), finding(1, 1, 1, 1, "B")
    assert apply_fixes("x\n", [a, b]).text == "Ax\n"
    twin = finding(1, 1, 1, 1, "A", code="INI998")
    result = apply_fixes("x\n", [a, twin])
    assert result.text == "Ax\n" and len(result.applied) == 2


def test_edit_outside_the_text_is_invalid_not_applied():
    result = apply_fixes("x\n", [finding(5, 1, 5, 2, "y")])
    assert result.text == "x\n" and len(result.invalid) == 1


def test_inserted_newlines_follow_the_line_they_land_on():
    result = apply_fixes("a\r\nb\r\n", [finding(2, 1, 2, 1, "if c:\n    ")])
    assert result.text == "a\r\nif c:\r\n    b\r\n"


def test_parse_error_names_the_failing_parser():
    assert parse_error("x = 1\n") is None
    assert parse_error("x = (\n").startswith("SyntaxError")


# --- the loop --------------------------------------------------------------------------------

def test_fix_text_reaches_a_fixed_point_and_keeps_comments():
    result = fix_text("net.py", MODEL, Config())
    assert result.after == FIXED
    assert result.fixed == 4 and result.findings == () and result.dropped == ()
    again = fix_text("net.py", result.after, Config())
    assert again.after == result.after and again.fixed == 0


def test_crlf_file_stays_crlf_inside_the_inserted_guard():
    crlf = MODEL.replace("\n", "\r\n")
    result = fix_text("net.py", crlf, Config())
    assert result.after == FIXED.replace("\n", "\r\n")


def test_tab_indented_file_gets_a_guard_that_parses():
    tabbed = MODEL.replace("    ", "\t")
    result = fix_text("net.py", tabbed, Config())
    assert parse_error(result.after) is None
    assert "\t\t\t\tif m.bias is not None:\n" in result.after
    assert lint_text("net.py", result.after, Config()) == []


def test_form_feed_and_line_separator_do_not_shift_fixes():
    text = MODEL.replace("import torch.nn as nn\n", "import torch.nn as nn  # a\u2028b\n\x0c\n")
    result = fix_text("net.py", text, Config())
    assert result.after == FIXED.replace("import torch.nn as nn\n",
                                         "import torch.nn as nn  # a\u2028b\n\x0c\n")


def test_a_fix_that_breaks_the_file_is_dropped_and_the_rest_applied():
    text = "a = 1\nb = 2\n"
    good = finding(1, 5, 1, 6, "10")
    bad = finding(2, 5, 2, 6, "(")
    result = fix_text("x.py", text, Config(), findings=[good, bad])
    assert result.after == "a = 10\nb = 2\n"
    assert len(result.dropped) == 1
    assert "INI999 fix dropped" in result.dropped[0] and "would not parse" in result.dropped[0]


def test_unsafe_fixes_only_when_asked():
    unsafe = finding(1, 5, 1, 6, "2", applicability="unsafe")
    assert fix_text("x.py", "a = 1\n", Config(), findings=[unsafe]).after == "a = 1\n"
    assert fix_text("x.py", "a = 1\n", Config(), unsafe=True, findings=[unsafe]).after == \
        "a = 2\n"


def test_cross_file_facts_still_count_when_fixing(tmp_path: Path):
    """The bias=False layer lives in one file, the init callback in another."""
    (tmp_path / "init_utils.py").write_text(textwrap.dedent("""\
        import torch.nn as nn


        def init_weights(m):
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                nn.init.zeros_(m.bias)
        """))
    (tmp_path / "model.py").write_text(textwrap.dedent("""\
        import torch.nn as nn

        from init_utils import init_weights


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, bias=False)
                self.apply(init_weights)
        """))
    files = sorted(str(p) for p in tmp_path.glob("*.py"))
    alone = fix_text(files[0], Path(files[0]).read_text(), Config())
    run = fix_paths(files, Config(), write=True)
    if alone.fixed:
        pytest.skip("the linker no longer needs the other file for this case")
    assert run.fixed == 1 and run.findings == []
    assert "        if m.bias is not None:\n            nn.init.zeros_(m.bias)\n" in \
        (tmp_path / "init_utils.py").read_text()


# --- writing ---------------------------------------------------------------------------------

def test_write_keeps_bom_crlf_and_permissions(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_bytes(codecs.BOM_UTF8 + MODEL.replace("\n", "\r\n").encode())
    path.chmod(0o754)
    run = fix_paths([str(path)], Config())
    data = path.read_bytes()
    assert data == codecs.BOM_UTF8 + FIXED.replace("\n", "\r\n").encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o754
    assert run.fixed == 4 and not run.findings
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]  # no temp file left behind


def test_write_keeps_a_declared_legacy_encoding(tmp_path: Path):
    path = tmp_path / "m.py"
    text = "# -*- coding: latin-1 -*-\n# Modèle\n" + MODEL
    path.write_bytes(text.encode("latin-1"))
    fix_paths([str(path)], Config())
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# Modèle\n" + FIXED).encode(
        "latin-1")


def test_write_goes_through_a_symlink(tmp_path: Path):
    real = tmp_path / "real.py"
    real.write_text(MODEL)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    fix_paths([str(link)], Config())
    assert link.is_symlink() and real.read_text() == FIXED


def test_write_refuses_when_the_file_changed_meanwhile(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text("b = 2\n")
    with pytest.raises(WriteError):
        write_fixed(str(path), "a = 1\n", "a = 10\n")
    assert path.read_text() == "b = 2\n"


def test_unified_diff_marks_a_missing_final_newline():
    diff = unified_diff("m.py", "a = 1", "a = 2")
    assert diff.splitlines() == ["--- a/m.py", "+++ b/m.py", "@@ -1 +1 @@", "-a = 1",
                                 "\\ No newline at end of file", "+a = 2",
                                 "\\ No newline at end of file"]


# --- the command line ------------------------------------------------------------------------

def run_cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_diff_prints_and_writes_nothing(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(MODEL)
    result = run_cli("--diff", str(path))
    assert result.exit_code == 1
    assert "-                nn.init.zeros_(m.bias)  # keep this comment" in result.stdout
    assert "+                if m.bias is not None:" in result.stdout
    assert "Would fix 4 findings in 1 file." in result.stderr
    assert path.read_text() == MODEL


def test_diff_without_changes_exits_0(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(FIXED)
    result = run_cli("--diff", str(path))
    assert result.exit_code == 0 and result.stdout == ""


def test_fix_writes_and_exits_0_when_nothing_remains(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(MODEL)
    result = run_cli("--fix", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text() == FIXED
    assert "Fixed 4 findings in 1 file." in result.stderr
    assert "All checks passed!" in result.stdout
    second = run_cli("--fix", str(path))
    assert second.exit_code == 0 and "Fixed" not in second.stderr


def test_fix_exits_1_and_reports_what_remains(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(UNFIXABLE)
    result = run_cli("--fix", "--output-format", "json", str(path))
    assert result.exit_code == 1
    remaining = json.loads(result.stdout)  # the summary went to stderr, stdout stays JSON
    assert [f["code"] for f in remaining] == ["INI004"]
    assert remaining[0]["fix"]["applicability"] == "unsafe" and remaining[0]["fix"]["edits"]
    assert "nn.init.xavier_uniform_(self.fc.weight)" in path.read_text()
    assert "Fixed 1 finding in 1 file." in result.stderr
    assert "Remaining: 1 with unsafe fixes (--unsafe-fixes): INI004." in result.stderr
    again = run_cli("--fix", "--unsafe-fixes", str(path))
    assert again.exit_code == 0 and "nn.init.zeros_(self.fc.bias)" in path.read_text()


def test_unsafe_fixes_alone_does_not_write(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(MODEL)
    result = run_cli("--unsafe-fixes", str(path))
    assert result.exit_code == 1 and path.read_text() == MODEL


def test_fix_leaves_files_without_fixes_untouched(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(FIXED)
    before = os.stat(path).st_mtime_ns
    assert run_cli("--fix", str(path)).exit_code == 0
    assert os.stat(path).st_mtime_ns == before
