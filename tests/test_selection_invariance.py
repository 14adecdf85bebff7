"""The selection only filters findings: which findings of a code exist never depends on
which other codes are selected.

Every fixture unit is linted once with ``--select ALL`` and once per code with only that
code selected; the findings of each code must be the same (path, row, column, severity,
message) both ways. A rule that dedups across layers and keeps the first of a kind it then
drops, or that reads another rule's results, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ALL_SELECTED
from test_fixtures import UNITS

from initlint.checks import ALL_RULES
from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.engine.lint import Parsed, check_project, parse_source
from initlint.files.discover import discover, read_source


def _key(f: Finding) -> tuple[object, ...]:
    return (f.path, f.span.row, f.span.column, f.span.end_row, f.span.end_column,
            f.severity, f.message)


def _parsed(files: list[Path]) -> list[Parsed]:
    return [parse_source(read_source(p)) for p in discover([str(p) for p in files],
                                                          ALL_SELECTED)]


@pytest.mark.parametrize("unit", UNITS, ids=[u[0] for u in UNITS])
def test_each_code_alone_finds_what_all_finds(unit: tuple[str, list[Path]]) -> None:
    _, files = unit
    parsed = _parsed(files)
    everything = check_project(parsed, ALL_SELECTED)
    by_code: dict[str, set[tuple[object, ...]]] = {}
    for finding in everything:
        by_code.setdefault(finding.code, set()).add(_key(finding))
    for code in sorted(ALL_RULES):
        alone = {_key(f) for f in check_project(parsed, Config(select=(code,)))
                 if f.code == code}
        assert alone == by_code.get(code, set()), (
            f"{code}: only with --select {code}: {sorted(alone - by_code.get(code, set()))}; "
            f"only with --select ALL: {sorted(by_code.get(code, set()) - alone)}")


SHARED_SITE = """
    import torch.nn as nn


    class Scorer(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(512, 512)  # wide: the default bias is small against it
            self.gate = nn.Linear(8, 1)  # narrow: the default bias dominates its output
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, std=0.02)
"""


@pytest.mark.parametrize("config", [ALL_SELECTED, Config(), Config(select=("INI206",))],
                         ids=["all", "default", "INI206"])
def test_an_info_on_one_layer_never_hides_a_warning_on_another(lint, config: Config) -> None:
    """One loop site leaves two biases on the default: harmless on the wide encoder (info),
    dominant on the narrow gate (warning). The site's one finding is the warning, whatever
    is selected (``--select ALL`` used to keep the encoder's info and drop the warning)."""
    found = [f for f in lint(SHARED_SITE, config) if f.code == "INI206"]
    assert [(f.span.row, f.severity.value) for f in found] == [(12, "warning")]
    assert "Scorer.gate" in found[0].message
