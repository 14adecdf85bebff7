"""Jupyter notebooks: linted by default, findings at (cell, row), noqa per cell, ``--fix``
writing valid notebook JSON back (only the changed cells), IPython syntax neutralized
without moving rows. Notebooks are written with ``json`` as nbformat writes them (indent 1,
a final newline) and validated with nbformat where it is installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PY = sys.executable

#: The installed entry point, as the console script calls it.
ENTRY = "import sys; from initlint.cli.main import main; sys.exit(main())"


def notebook(*cells: tuple[str, str], language: str = "python") -> dict:
    """A v4 notebook; ``cells`` are (kind, source) with source stored as nbformat does (a
    list of lines, each but the last ending in a newline)."""
    out = []
    for i, (kind, source) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3",
                                                      "language": language,
                                                      "name": "python3"},
                                       "language_info": {"name": language}},
            "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def validate(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.read(str(path), as_version=4))


MODEL_CELLS = (
    ("markdown", "# A model\nwith `%` and `!` in prose"),
    ("code", "%matplotlib inline\nimport torch.nn as nn\n!pip install torch"),
    ("code", "class Net(nn.Module):\n"
             "    def __init__(self):\n"
             "        super().__init__()\n"
             "        self.fc = nn.Linear(4, 4, bias=False)\n"
             "        nn.init.xavier_uniform(self.fc.weight)\n"
             "        nn.init.zeros_(self.fc.bias)"),
    ("code", "net = Net()\n"
             "nn.init.xavier_normal(net.fc.weight)  # noqa: INI001\n"
             "nn.init.kaiming_normal(net.fc.weight)"),
)


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", ENTRY, *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120)


def located(line: str) -> tuple[str, str]:
    """(location, code) of a concise line ``path:cell 3:4:5: CODE message``."""
    where, rest = line.split(": ", 1)
    return where, rest.split(" ", 1)[0]


@pytest.fixture
def nb(tmp_path: Path) -> Path:
    return write(tmp_path / "nb.ipynb", notebook(*MODEL_CELLS))


def test_notebook_is_linted_by_default_with_cell_positions(nb: Path):
    validate(nb)
    result = run(".", "--output-format", "concise", "--no-cache", cwd=nb.parent)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if "INI" in line]
    assert [located(line) for line in lines] == [
        ("nb.ipynb:cell 3:5:17", "INI001"),
        ("nb.ipynb:cell 3:6:9", "INI005"),
        ("nb.ipynb:cell 4:3:9", "INI001"),  # cell 4 line 2 is silenced by its noqa
    ]
    assert "(line 4)" in lines[1]  # the message's own row reference is the cell's too
    assert "All checks passed" not in result.stdout


def test_notebook_json_carries_the_cell(nb: Path):
    result = run(str(nb), "--output-format", "json", "--no-cache", cwd=nb.parent)
    data = json.loads(result.stdout)
    assert [(d["cell"], d["location"]["row"], d["location"]["column"]) for d in data] == [
        (3, 5, 17), (3, 6, 9), (4, 3, 9)]
    # the fix is the minimal edit: `_` inserted after `xavier_uniform` (cell rows, not file)
    [edit] = data[0]["fix"]["edits"]
    assert edit["content"] == "_"
    assert edit["location"] == edit["end_location"] == {"row": 5, "column": 31}


def test_annotation_formats_name_the_cell(nb: Path):
    github = run(str(nb), "--output-format", "github", "--no-cache", cwd=nb.parent)
    assert "line=6," in github.stdout and "::INI005 cell 3: `self.fc.bias`" in github.stdout
    assert all(line.startswith("::error ") for line in github.stdout.splitlines())
    sarif = json.loads(run(str(nb), "--output-format", "sarif", "--no-cache",
                           cwd=nb.parent).stdout)
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert [m.split(":")[0] for m in messages] == ["cell 3", "cell 3", "cell 4"]


def test_text_excerpt_shows_the_cell_line(nb: Path):
    result = run(str(nb), "--no-cache", cwd=nb.parent)
    assert " 6 |         nn.init.zeros_(self.fc.bias)" in result.stdout.splitlines()


def test_fix_writes_valid_notebook_json_changing_only_fixed_cells(nb: Path):
    before = json.loads(nb.read_text(encoding="utf-8"))
    result = run(str(nb), "--fix", "--no-cache", cwd=nb.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    text = nb.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n  {\n')  # indent 1
    after = json.loads(text)
    validate(nb)
    assert after["cells"][0] == before["cells"][0]  # markdown
    assert after["cells"][1] == before["cells"][1]  # magics kept, nothing to fix
    assert "".join(after["cells"][2]["source"]).splitlines()[-3:] == [
        "        nn.init.xavier_uniform_(self.fc.weight)",
        "        if self.fc.bias is not None:",
        "            nn.init.zeros_(self.fc.bias)"]
    assert isinstance(after["cells"][2]["source"], list)
    assert after["cells"][3]["source"][-1] == "nn.init.kaiming_normal_(net.fc.weight)"
    assert {k: v for k, v in after.items() if k != "cells"} == \
        {k: v for k, v in before.items() if k != "cells"}
    again = run(str(nb), "--fix", "--no-cache", cwd=nb.parent)
    assert again.returncode == 0 and nb.read_text(encoding="utf-8") == text


def test_diff_shows_cells_and_writes_nothing(nb: Path):
    text = nb.read_text(encoding="utf-8")
    result = run(str(nb), "--diff", "--no-cache", cwd=nb.parent)
    assert result.returncode == 1
    assert "--- a/" in result.stdout and ":cell 3" in result.stdout
    assert "+        if self.fc.bias is not None:" in result.stdout
    assert nb.read_text(encoding="utf-8") == text


def test_magics_are_neutralized_in_place():
    from initlint.files.notebook import cells_of, parse_notebook

    source = ("%%bash\nls -l\n", "import torch\n!ls \\\n  -l\nfiles = !ls\ntorch?\n"
              "s = '''\n%d text\n'''\ny = (1\n     % 2)\n", "%%time\nx = 1\n")
    parsed = parse_notebook(json.dumps(notebook(*(("code", s) for s in source))))
    lines = parsed.program.splitlines()
    cell2 = lines[parsed.cells[1].start - 1:parsed.cells[2].start - 2]
    assert [line.startswith("pass  #") for line in cell2] == [
        False, True, True, True, True, False, False, False, False, False]
    assert lines[0].startswith("pass") and lines[1].startswith("pass")  # %%bash: not Python
    time_cell = lines[parsed.cells[2].start - 1:]
    assert time_cell[0].startswith("pass") and time_cell[1] == "x = 1"  # %%time runs Python
    compile(parsed.program, "nb", "exec")  # the program is Python
    assert cells_of(parsed, parsed.program) == ["".join(s) for s in source]


def test_render_round_trips_an_unchanged_notebook(nb: Path):
    from initlint.files.notebook import parse_notebook, render

    text = nb.read_text(encoding="utf-8")
    parsed = parse_notebook(text)
    assert render(parsed, parsed.program) == text
    data = notebook(("code", "x = 'é'\n"), ("markdown", "ü"))
    for written in (json.dumps(data), json.dumps(data, indent=2) + "\n",
                    json.dumps(data, indent=1, ensure_ascii=False)):
        parsed = parse_notebook(written)
        assert render(parsed, parsed.program) == written
    nbformat = pytest.importorskip("nbformat")
    written = nbformat.writes(nbformat.from_dict(data)) + "\n"  # as nbformat.write does
    parsed = parse_notebook(written)
    assert render(parsed, parsed.program) == written


def test_notebook_noqa_is_per_cell_line(tmp_path: Path):
    path = write(tmp_path / "n.ipynb", notebook(
        ("code", "import torch.nn as nn\nw = nn.Linear(2, 2).weight"),
        ("code", "nn.init.xavier_uniform(w)  # noqa: INI001"),
        ("code", "nn.init.xavier_uniform(w)")))
    result = run(str(path), "--output-format", "json", "--no-cache", cwd=tmp_path)
    assert [(d["cell"], d["location"]["row"]) for d in json.loads(result.stdout)] == [(3, 1)]


def test_other_kernels_and_broken_notebooks(tmp_path: Path):
    write(tmp_path / "r.ipynb", notebook(("code", "library(torch)\nx <- 1"), language="R"))
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    result = run(".", "--output-format", "concise", "--no-cache", cwd=tmp_path)
    assert result.returncode == 1
    assert [located(line)[1] for line in result.stdout.splitlines()
            if ".ipynb" in line] == ["INI000"]
    assert "bad.ipynb" in result.stdout and "r.ipynb" not in result.stdout


def test_notebook_on_stdin(nb: Path):
    result = run("-", "--stdin-filename", "sub/x.ipynb", "--output-format", "concise",
                 cwd=nb.parent, stdin=nb.read_text(encoding="utf-8"))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("sub/x.ipynb:cell 3:5:17: INI001 ")


def test_add_noqa_in_a_notebook(nb: Path):
    result = run(str(nb), "--add-noqa", "--no-cache", cwd=nb.parent)
    assert result.returncode == 0, result.stderr
    validate(nb)
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    assert cells[2]["source"][-1] == "        nn.init.zeros_(self.fc.bias)  # noqa: INI005"
    assert cells[1]["source"][0] == "%matplotlib inline\n"  # magics written back as they were
    assert run(str(nb), "--no-cache", cwd=nb.parent).stdout == "All checks passed!\n"


def test_rows_are_the_tokenizers_rows(tmp_path: Path):
    """A form feed or U+2028 inside a string is no line break for Python: rows stay true."""
    path = write(tmp_path / "n.ipynb", notebook(
        ("code", "import torch.nn as nn\ns = 'a\u2028b\x0cc'\n"),
        ("code", "x = 1\nnn.init.xavier_uniform(nn.Linear(2, 2).weight)")))
    result = run(str(path), "--output-format", "json", "--no-cache", cwd=tmp_path)
    assert [(d["cell"], d["location"]["row"]) for d in json.loads(result.stdout)] == [(2, 2)]
