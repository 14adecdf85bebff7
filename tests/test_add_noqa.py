"""``--add-noqa``: every current finding silenced by a comment on its row, merged with noqa
comments already there, never inside a string or after a backslash; the files still parse
and a second lint is clean."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

MODEL = textwrap.dedent('''\
    import torch.nn as nn


    class Stem(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, bias=False)
            nn.init.xavier_uniform(self.conv.weight)  # noqa: E501
            nn.init.zeros_(self.conv.bias)  # keep: explained elsewhere
            nn.init.kaiming_normal(self.conv.weight)
''')

#: The installed entry point, as the console script calls it.
ENTRY = "import sys; from initlint.cli.main import main; sys.exit(main())"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ENTRY, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_add_noqa_silences_every_finding_and_merges(tmp_path: Path):
    path = tmp_path / "model.py"
    path.write_bytes(MODEL.replace("\n", "\r\n").encode())
    before = run("model.py", "--output-format", "json", "--no-cache", cwd=tmp_path)
    assert len(json.loads(before.stdout)) == 3
    result = run("model.py", "--add-noqa", "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Added 3 noqa comments in 1 file." in result.stderr
    text = path.read_bytes().decode()
    assert text.count("\r\n") == MODEL.count("\n")  # line endings kept
    lines = text.splitlines()
    assert lines[7].endswith("  # noqa: E501, INI001")  # merged into the existing one
    assert lines[8].endswith("  # keep: explained elsewhere  # noqa: INI005")
    assert lines[9].endswith("nn.init.kaiming_normal(self.conv.weight)  # noqa: INI001")
    ast.parse(text)
    after = run("model.py", "--no-cache", cwd=tmp_path)
    assert (after.returncode, after.stdout) == (0, "All checks passed!\n")
    again = run("model.py", "--add-noqa", "--no-cache", cwd=tmp_path)
    assert path.read_bytes().decode() == text and "Added 0" in again.stderr


def test_rows_a_comment_cannot_end_are_left_alone():
    from initlint.cli.add_noqa import with_noqa

    text = ('x = """doc\n'
            'more"""\n'
            'y = 1 + \\\n'
            '    2\n'
            'z = f(1,\n'
            '      2)\n')
    out, skipped = with_noqa(text, {1: ["INI001"], 3: ["INI001"], 5: ["INI002", "INI001"]})
    assert out.splitlines() == ['x = """doc', 'more"""', "y = 1 + \\", "    2",
                                "z = f(1,  # noqa: INI001, INI002", "      2)"]
    assert [row for row, _ in skipped] == [1, 3]
    assert "multi-line string" in skipped[0][1] and "backslash" in skipped[1][1]
    ast.parse(out)


def test_bare_noqa_and_present_codes_are_kept():
    from initlint.cli.add_noqa import with_noqa

    text = "a = 1  # noqa\nb = 2  # NOQA: INI001\n"
    assert with_noqa(text, {1: ["INI005"], 2: ["INI001"]}) == (text, [])
