"""Facts are slotted and pickle exactly: the linker holds every file's facts at once (a
third less memory without per-instance dicts), and they cross from workers as pickles."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from pathlib import Path

import pytest

from initlint.core import findings
from initlint.engine.lint import parse_path
from initlint.extract import expr, facts, values

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODULES = (facts, values, expr, findings)


def _frozen_dataclasses() -> list[type]:
    return [cls for module in MODULES for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)
            and cls.__dataclass_params__.frozen]  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", _frozen_dataclasses(), ids=lambda c: c.__name__)
def test_held_facts_have_no_instance_dict(cls: type) -> None:
    if cls.__module__ == findings.__name__ and cls is not findings.Span:
        pytest.skip("findings other than spans are few; only spans ride on every fact")
    assert "__slots__" in cls.__dict__, f"{cls.__name__} keeps a __dict__ per instance"


def test_every_fixtures_facts_survive_a_pickle_round_trip() -> None:
    checked = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        parsed = parse_path(str(path))
        if parsed.facts is None:
            continue
        again = pickle.loads(pickle.dumps(parsed.facts, protocol=pickle.HIGHEST_PROTOCOL))
        assert again == parsed.facts, path
        assert hash(again.sites) == hash(parsed.facts.sites)
        checked += 1
    assert checked > 50
