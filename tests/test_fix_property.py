"""Property tests of ``--fix``: on generated model files and on real code, every fixed file
still parses, keeps its BOM and line endings, and a second fix pass changes nothing."""

from __future__ import annotations

import codecs
import keyword
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlint.core.config import Config
from initlint.engine.fix import applicable, fix_paths, parse_error
from initlint.files.discover import read_source

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/corpus/site")

ALIASES = ("uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
           "kaiming_normal", "orthogonal")
BAD_GAINS = ("ReLU", "Tanh", "LEAKY_RELU", "leaky-relu", "Sigmoid", "Linear")
BAD_MODES = ("fan-in", "FAN_OUT", "Fan_In")
# (import line, how torch.nn.init is spelled, how torch.nn is spelled)
IMPORTS = (
    ("import torch.nn as nn", "nn.init.", "nn."),
    ("import torch\nimport torch.nn as nn", "torch.nn.init.", "nn."),
    ("from torch import nn\nfrom torch.nn import init", "init.", "nn."),
    ("import torch\nfrom torch import nn\nimport torch.nn.init as I", "I.", "torch.nn."),
)
# Form feed and U+2028 are left out until extract.Positions stops splitting rows at them
# (see test_fix.py::test_form_feed_and_line_separator_do_not_shift_fixes).
TRICKY = "é😀模型Δß\u00a0«»\x0c\u2028"


def identifiers() -> st.SearchStrategy[str]:
    letters = st.characters(whitelist_categories=("Lu", "Ll", "Lo"), max_codepoint=0x9FFF)
    return st.text(letters, min_size=1, max_size=6).filter(
        lambda s: s.isidentifier() and not keyword.iskeyword(s))


def comments() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), st.text(st.sampled_from(TRICKY + "abc :%,#'\""),
                                          max_size=12).map(lambda t: "  # " + t))


@st.composite
def model_files(draw) -> tuple[bytes, str, bool, set[str]]:
    """(file bytes, newline, bom, codes planted): a model with fixable mistakes."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    bom = draw(st.booleans())
    imports, init, nn = draw(st.sampled_from(IMPORTS))
    cls = "M" + draw(identifiers())
    q = draw(st.sampled_from(["'", '"']))
    doc = draw(st.text(st.sampled_from(TRICKY + "abc "), max_size=10))
    planted: set[str] = set()
    body = ["super().__init__()", f"self.fc = {nn}Linear(4, 4)",
            f"self.conv = {nn}Conv2d(3, 8, 3, bias=False)"]
    blocks: list[list[tuple[int, str]]] = []
    for kind in draw(st.lists(st.sampled_from(["alias", "gain", "mode", "guard", "clean"]),
                              min_size=1, max_size=5)):
        if kind == "alias":
            name = draw(st.sampled_from(ALIASES))
            blocks.append([(0, f"{init}{name}(self.fc.weight)")])
            planted.add("INI001")
        elif kind == "gain":
            blocks.append([(0, f"{init}xavier_normal_(self.fc.weight, gain={init}"
                               f"calculate_gain({q}{draw(st.sampled_from(BAD_GAINS))}{q}))")])
            planted.add("INI006")
        elif kind == "mode":
            blocks.append([(0, f"{init}kaiming_uniform_(self.conv.weight, "
                               f"mode={q}{draw(st.sampled_from(BAD_MODES))}{q}, "
                               f"nonlinearity={q}relu{q})")])
            planted.add("INI006")
        elif kind == "guard":
            blocks.append([(0, "for m in self.modules():"),
                           (1, f"if isinstance(m, {nn}Conv2d):"),
                           (2, f"{init}kaiming_normal_(m.weight)"),
                           (2, f"{init}zeros_(m.bias)")])
            planted.add("INI005")
        else:
            blocks.append([(0, f"{init}zeros_(self.fc.bias)")])
    lines = [*imports.split("\n"), "", "", f"class {cls}({nn}Module):",
             f"{unit}{q * 3}{doc}{q * 3}", f"{unit}def __init__(self):"]
    lines += [f"{unit * 2}{stmt}" for stmt in body]
    for block in blocks:
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", f"{unit * 2}# {TRICKY}", f"{unit * 2}#"])))
        lines += [f"{unit * (2 + depth)}{stmt}{draw(comments())}" for depth, stmt in block]
    text = newline.join(lines) + draw(st.sampled_from([newline, ""]))
    data = (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
    return data, newline, bom, planted


def fix_twice(paths: list[Path]) -> tuple:
    config = Config()
    first = fix_paths([str(p) for p in paths], config, unsafe=True)
    after = {p: p.read_bytes() for p in paths}
    second = fix_paths([str(p) for p in paths], config, unsafe=True)
    return first, after, second


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(model_files())
def test_fixing_generated_models_parses_keeps_format_and_is_idempotent(case):
    data, newline, bom, planted = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.py"
        path.write_bytes(data)
        first, after, second = fix_twice([path])
        fixed = after[path]
        assert first.errors == []  # no fix of a rule was dropped for breaking the file
        assert fixed.startswith(codecs.BOM_UTF8) == bom
        text = read_source(str(path)).text
        assert parse_error(text) is None
        if newline == "\r\n":
            assert text.count("\n") == text.count("\r\n")
        else:
            assert "\r" not in text
        assert second.changed == [] and second.fixed == 0
        assert path.read_bytes() == fixed
        left = {f.code for f in first.findings}
        assert not (left & planted), f"planted {planted}, still reported {left}:\n{text}"
        assert not any(applicable(f.fix, True) for f in first.findings)


# --- real files ------------------------------------------------------------------------------

def _parses(path: Path) -> bool:
    source = read_source(str(path))
    return not source.error and parse_error(source.text, libcst_too=False) is None


def test_fixing_the_fixture_tree_keeps_every_file_parsing_and_is_idempotent(tmp_path: Path):
    if not any((ROOT / "fixtures").rglob("*.py")):
        pytest.skip("no fixtures yet")
    tree = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures", tree)
    files = sorted(p for p in tree.rglob("*.py") if _parses(p))
    first, _, second = fix_twice(files)
    for path in files:
        assert parse_error(read_source(str(path)).text) is None, path
    assert first.errors == []
    assert second.changed == [], [r.path for r in second.changed]


_MUTATIONS = (
    # (pattern in real code, the mistake planted in its place)
    (re.compile(r"\bnn\.init\.(" + "|".join(ALIASES) + r")_\("), r"nn.init.\1("),
    (re.compile(r"nonlinearity=(['\"])relu\1"), r"nonlinearity=\1ReLU\1"),
)


def _corpus_sample(limit: int = 30) -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*.py")):
        if "dist-info" in str(path):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if any(pattern.search(text) for pattern, _ in _MUTATIONS):
            found.append(path)
    step = max(1, len(found) // limit)
    return found[::step][:limit]


def test_fixing_mutated_corpus_files_restores_them():
    """Plant a fixable mistake in real model files (drop an init's underscore, capitalize a
    nonlinearity); --fix must give back the original bytes wherever it detects the mistake."""
    sample = _corpus_sample()
    if not sample:
        pytest.skip(f"corpus not installed at {CORPUS}")
    restored = 0
    with tempfile.TemporaryDirectory() as tmp:
        for index, original in enumerate(sample):
            data = original.read_bytes()
            text = data.decode("utf-8")
            mutated = text
            for pattern, mistake in _MUTATIONS:
                mutated = pattern.sub(mistake, mutated, count=1)
            path = Path(tmp) / f"m{index}_{original.name}"
            path.write_bytes(mutated.encode("utf-8"))
            first, after, second = fix_twice([path])
            fixed = after[path].decode("utf-8")
            assert parse_error(fixed) is None, original
            assert second.changed == [], original
            assert first.errors == [], original
            if fixed == text:
                restored += 1
            else:  # anything still different must be a mistake initlint did not see
                assert not any(f.fix for f in first.findings if f.code in ("INI001", "INI006"))
    assert restored >= 0.9 * len(sample), f"only {restored}/{len(sample)} restored"
