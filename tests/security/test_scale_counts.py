"""Work that must grow with the input, not with its square: counted, not timed (timings
live in bench/bench_linear.py)."""

from __future__ import annotations

import pytest

from initlint.checks import structure
from initlint.core.config import Config
from initlint.engine.lint import lint_text

from .hostile import MODEL

CLASSES = 300


def _many_models(count: int) -> str:
    head, _, body = MODEL.partition("class Net")
    return head + "".join(f"class Net{i}" + body + "\n\n" for i in range(count))


def test_models_asked_about_per_init_site_do_not_grow_with_the_file(monkeypatch) -> None:
    """INI105/INI209 ask, for each init site, which models may run it: the file's module
    classes were all asked every time (5,000 classes × 5,000 sites); only those with a
    layer the rule is about (an RNN, a reparametrized layer) need asking."""
    asked = []
    models = structure._Writers.models

    def counting(self, site):
        found = models(self, site)
        asked.append(len(found))
        return found

    monkeypatch.setattr(structure._Writers, "models", counting)
    found = lint_text("many.py", _many_models(CLASSES), Config(select=("INI001", "INI105",
                                                                       "INI209")))
    assert sum(f.code == "INI001" for f in found) == CLASSES
    assert len(asked) >= CLASSES and sum(asked) <= 2 * len(asked)


@pytest.mark.parametrize("copies", [1, 3])
def test_split_lines_answers_an_equal_copy_too(copies: int) -> None:
    from initlint.core.text import split_lines

    text = MODEL * 10
    for _ in range(copies):
        copy = "".join(list(text))  # equal, not the same object
        assert split_lines(copy) == split_lines(text) and split_lines(copy) is split_lines(copy)


def test_fixes_are_not_each_checked_by_reparsing_the_whole_file(monkeypatch) -> None:
    """Each of a class's 200 fixes was checked by parsing the whole file again: a fix
    inside one simple statement is checked on that statement's lines."""
    from initlint.engine import fix as fix_module

    body = "".join(f"        self.l{i} = nn.Linear(4, 4)\n"
                   f"        nn.init.xavier_uniform(self.l{i}.weight)\n" for i in range(200))
    text = ("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n" + body)
    whole = []
    real = fix_module.parse_error

    def counting(source: str, libcst_too: bool = True):
        if len(source) >= len(text) // 2:
            whole.append(len(source))
        return real(source, libcst_too)

    monkeypatch.setattr(fix_module, "parse_error", counting)
    findings = lint_text("net.py", text, Config(select=("INI001",)))
    with_edits = fix_module.with_edits(text, findings)
    assert len(with_edits) == 200 and all(f.fix is not None and f.fix.edits for f in with_edits)
    assert len(whole) <= 2
