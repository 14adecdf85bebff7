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


def _fixable(count: int) -> str:
    """One model whose ``__init__`` has ``count`` deprecated-alias inits (INI001, safe)."""
    body = "".join(f"        self.l{i} = nn.Linear(4, 4)\n"
                   f"        nn.init.xavier_uniform(self.l{i}.weight)\n" for i in range(count))
    return ("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n" + body)


def test_fixes_are_not_each_checked_by_reparsing_the_whole_file(monkeypatch) -> None:
    """Each of a class's 200 fixes was checked by parsing the whole file again: a fix
    inside one simple statement is checked on that statement's lines."""
    from initlint.engine import edits as edits_module

    text = _fixable(200)
    whole = []
    real = edits_module.parse_error

    def counting(source: str, libcst_too: bool = True):
        if len(source) >= len(text) // 2:
            whole.append(len(source))
        return real(source, libcst_too)

    monkeypatch.setattr(edits_module, "parse_error", counting)
    findings = lint_text("net.py", text, Config(select=("INI001",)))
    with_edits = edits_module.with_edits(text, findings)
    assert len(with_edits) == 200 and all(f.fix is not None and f.fix.edits for f in with_edits)
    assert len(whole) <= 2


def _fix_work(count: int, monkeypatch) -> dict[str, int]:
    """The work ``--fix`` does on a class with ``count`` fixes, counted: libcst nodes its
    rewrites visit, whole-module rewrites, lines difflib compares, and how often INI206 asks
    whether a site writes a layer's bias."""
    import difflib

    import libcst

    from initlint.engine.fix import fix_text
    from initlint.fixes import cst as cst_module
    from initlint.semantic import effective

    work = dict.fromkeys(("nodes visited", "whole-module visits", "lines diffed", "hits"), 0)
    on_visit, module_visit, hits = (cst_module._Transformer.on_visit, libcst.Module.visit,
                                    effective.hits)

    def visiting(self, node):
        work["nodes visited"] += 1
        return on_visit(self, node)

    def visiting_module(self, visitor):
        work["whole-module visits"] += isinstance(visitor, cst_module._Transformer)
        return module_visit(self, visitor)

    class Diffing(difflib.SequenceMatcher):
        def __init__(self, isjunk=None, a="", b="", autojunk=True):
            work["lines diffed"] += len(a) + len(b)
            super().__init__(isjunk, a, b, autojunk)

    def asking(*args, **kwargs):
        work["hits"] += 1
        return hits(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(cst_module._Transformer, "on_visit", visiting)
        patch.setattr(libcst.Module, "visit", visiting_module)
        patch.setattr(difflib, "SequenceMatcher", Diffing)
        patch.setattr(effective, "hits", asking)
        result = fix_text("net.py", _fixable(count), Config())
    assert result.fixed == count and "xavier_uniform(" not in result.after
    return work


def test_a_files_fixes_cost_what_they_change(monkeypatch) -> None:
    """``--fix`` of 200 findings in one class cost 6.6× that of 50: each fix rewrote and
    diffed the whole module (libcst visiting every statement of the class, difflib every
    line of the file), and INI206 asked each of the class's sites about each layer. Each
    fix now rewrites and diffs its own statement and a layer's writers are looked for
    among the sites that can write it: four times the fixes, about four times the work."""
    small, large = _fix_work(50, monkeypatch), _fix_work(200, monkeypatch)
    assert large["whole-module visits"] <= 2, large
    for what in ("nodes visited", "lines diffed", "hits"):
        assert large[what] <= 5 * max(small[what], 1), (what, small[what], large[what])


def _init_method_models(count: int) -> list[tuple[str, str]]:
    """``count`` files of one package, each a model whose ``_init`` runs through apply."""
    body = ("import torch.nn as nn\n\n\nclass Net{i}(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 4)\n        self.apply(self._init)\n\n"
            "    def _init(self, m):\n        if isinstance(m, nn.Linear):\n"
            "            nn.init.zeros_(m.bias)\n")
    return [(f"pkg/m{i}.py", body.format(i=i)) for i in range(count)]


def _ini201_lines(count: int) -> int:
    """Lines INI201 executes over ``count`` such models (a deterministic count of work)."""
    import sys

    from initlint.checks import order
    from initlint.engine.lint import check_project, parse_source
    from initlint.files.source import Source

    parsed = [parse_source(Source(path, text)) for path, text in _init_method_models(count)]
    executed = 0

    def tracer(frame, event, arg):
        nonlocal executed
        if frame.f_code.co_filename != order.__file__:
            return None
        if event == "line":
            executed += 1
        return tracer

    sys.settrace(tracer)
    try:
        found = check_project(parsed, Config(select=("INI201",)))
    finally:
        sys.settrace(None)
    assert found == []  # every _init is reached, through its own class's apply
    return executed


def test_whether_an_init_method_is_reached_does_not_read_every_call_of_the_project() -> None:
    """Each model's ``_init`` was checked against every call named ``_init`` in the
    project: a package of many models was quadratic (8,000 files: 59 s, 2,000: 3.7 s).
    Its class family's own calls decide: four times the models, about four times the work."""
    small, large = _ini201_lines(40), _ini201_lines(160)
    assert large < 5 * small, (small, large)
