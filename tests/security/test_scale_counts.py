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
