"""Lint every fixture under ``fixtures/`` and compare with the expectations written inline.

Convention (also in fixtures/README.md):
- ``# expect: INI005`` as a trailing comment on the line where a finding starts;
  several: ``# expect: INI004, INI005``; with a 1-based column: ``# expect: INI006@56``.
- A file with no ``# expect:`` must be clean.
- A header line ``# initlint-test: select=INI101 ignore=INI206 min-depth=3`` changes the
  settings for that file (default: every rule, off-by-default ones included);
  ``# initlint-test: skip`` leaves the file to another harness.
- A directory holding ``__init__.py`` is a package fixture: its files are linted together,
  as one project (for cross-file rules); every other file is linted on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import ALL_SELECTED, FIXTURES, lint_files

from initlint.checks import ALL_RULES
from initlint.core.config import Config

EXPECT = re.compile(r"#\s*expect:\s*(?P<items>INI\d{3}(?:@\d+)?(?:\s*,\s*INI\d{3}(?:@\d+)?)*)"
                    r"\s*(?:#.*)?$")
EXPECT_LOOSE = re.compile(r"#\s*expect\b")
HEADER = re.compile(r"^#\s*initlint-test:\s*(?P<options>.*)$")


@dataclass(frozen=True)
class Expected:
    row: int
    code: str
    column: int | None = None


def parse_expectations(text: str) -> list[Expected]:
    """The ``# expect:`` comments of one file; a malformed one fails loudly."""
    out: list[Expected] = []
    for row, line in enumerate(text.splitlines(), 1):
        if not EXPECT_LOOSE.search(line):
            continue
        match = EXPECT.search(line)
        assert match, f"line {row}: malformed expectation: {line.strip()!r}"
        for item in match.group("items").split(","):
            code, _, column = item.strip().partition("@")
            out.append(Expected(row, code, int(column) if column else None))
    return out


def parse_header(text: str) -> tuple[Config, bool]:
    """(settings, skip) from ``# initlint-test:`` lines."""
    config, skip = ALL_SELECTED, False
    for line in text.splitlines():
        match = HEADER.match(line.strip())
        if not match:
            continue
        for option in match.group("options").split():
            key, _, value = option.partition("=")
            values = tuple(v for v in value.upper().split(",") if v)
            if key == "skip":
                skip = True
            elif key == "select":
                config = replace(config, select=values)
            elif key == "ignore":
                config = replace(config, ignore=values)
            elif key == "extend-select":
                config = replace(config, extend_select=values)
            elif key == "min-depth":
                config = replace(config, min_depth=int(value))
            else:
                raise AssertionError(f"unknown initlint-test option {option!r}")
    return config, skip


def _package_root(path: Path) -> Path | None:
    """The topmost package directory (under fixtures/) holding ``path``, if any."""
    root = None
    for parent in path.parents:
        if parent == FIXTURES or FIXTURES not in parent.parents:
            break
        if (parent / "__init__.py").is_file():
            root = parent
    return root


def fixture_units() -> list[tuple[str, list[Path]]]:
    """(id, files linted together): one unit per standalone file or per package."""
    units: dict[str, list[Path]] = {}
    for path in sorted(FIXTURES.rglob("*.py")):
        root = _package_root(path)
        key = str((root or path).relative_to(FIXTURES))
        units.setdefault(key, []).append(path)
    return sorted(units.items())


UNITS = fixture_units()


def test_there_are_fixtures():
    assert len(UNITS) >= 6


@pytest.mark.parametrize("unit", UNITS, ids=[u[0] for u in UNITS])
def test_fixture(unit: tuple[str, list[Path]]):
    _, files = unit
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in files}
    headers = [parse_header(t) for t in texts.values()]
    if all(skip for _, skip in headers):
        pytest.skip("initlint-test: skip")
    config = headers[0][0]
    assert all(h[0] == config for h in headers), "files of one package need the same header"
    findings = lint_files(files, config)
    for path, text in texts.items():
        expected = parse_expectations(text)
        for item in expected:
            assert item.code in ALL_RULES, f"{path.name}:{item.row}: unknown code {item.code}"
        got = [f for f in findings if Path(f.path).resolve() == path.resolve()]
        got_pairs = {(f.span.row, f.code) for f in got}
        want_pairs = {(e.row, e.code) for e in expected}
        details = "\n".join(f"  {f.span.row}:{f.span.column} {f.code} {f.message}" for f in got)
        assert got_pairs == want_pairs, (
            f"{path.relative_to(FIXTURES)}\n missing: {sorted(want_pairs - got_pairs)}\n"
            f" unexpected: {sorted(got_pairs - want_pairs)}\n found:\n{details}")
        for item in expected:
            if item.column is not None:
                columns = {f.span.column for f in got if (f.span.row, f.code) ==
                           (item.row, item.code)}
                assert item.column in columns, (
                    f"{path.name}:{item.row}: {item.code} expected at column {item.column}, "
                    f"found at {sorted(columns)}")


def test_findings_outside_fixture_files_are_impossible():
    """Every finding of a unit belongs to one of its files (paths are kept as given)."""
    unit = next(u for u in UNITS if len(u[1]) == 1)
    findings = lint_files(unit[1])
    assert all(Path(f.path).resolve() == unit[1][0].resolve() for f in findings)


def test_expectation_parser():
    text = "a  # expect: INI004, INI005\nb  # expect: INI006@56  # why\nc  # noqa: INI001\n"
    assert parse_expectations(text) == [Expected(1, "INI004"), Expected(1, "INI005"),
                                        Expected(2, "INI006", 56)]
    with pytest.raises(AssertionError):
        parse_expectations("x  # expect: INI4\n")


def test_expect_comment_is_not_a_noqa(lint):
    """``# expect: INI001`` must not silence the finding it announces."""
    findings = lint("""
        import torch.nn as nn
        w = nn.Linear(2, 2).weight
        nn.init.xavier_uniform(w)  # expect: INI001
    """)
    assert [f.code for f in findings] == ["INI001"]


def test_header_parser():
    config, skip = parse_header("# initlint-test: select=INI101 min-depth=3\nx = 1\n")
    assert config.select == ("INI101",) and config.min_depth == 3 and not skip
    assert parse_header("# initlint-test: skip\n")[1]
