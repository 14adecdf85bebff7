"""Metamorphic tests (issue 9): equivalent programs get the same findings.

Every transform in transforms.py rewrites every fixture it applies to; initlint lints the
original and the rewrite (in-process, same settings as tests/test_fixtures.py) and the
findings are compared by identity (harness.py's docstring: code + subject, robust to line
shifts and renames). The invariance rate (pairs invariant / pairs applied, per transform and
overall) is printed. Pairs that change today are listed with their reason in exceptions.py,
asserted exact; the overall rate must reach TARGET.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalogue import TRANSFORMS
from exceptions import EXCEPTIONS
from harness import Pair, rates, report, run_all
from test_equivalence import NOT_EQUIVALENT

TARGET = 0.95


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> list[Pair]:
    found = run_all(tmp_path_factory.mktemp("metamorphic"))
    return [p for p in found if p.key not in NOT_EQUIVALENT]


def test_every_family_applies_somewhere(pairs):
    """Each family of rewrites is exercised (a spelling no fixture uses yet, such as
    ``name_filter_in`` when every filter is already spelled ``in``, may apply nowhere)."""
    applied = {p.transform for p in pairs}
    families = {t.family for t in TRANSFORMS}
    assert {t.family for t in TRANSFORMS if t.name in applied} == families
    assert len(applied) >= len(TRANSFORMS) - 2, {t.name for t in TRANSFORMS} - applied


def test_changed_findings_are_exactly_the_known_exceptions(pairs, capsys):
    with capsys.disabled():
        print("\n" + report(pairs))
    changed = {p.key: p.diff() for p in pairs if not p.invariant}
    new = {k: v for k, v in changed.items() if k not in EXCEPTIONS}
    fixed = sorted(k for k in EXCEPTIONS if k not in changed)
    assert not new and not fixed, (
        "findings changed under a semantics-preserving rewrite (an initlint bug; fix it or "
        "list it in exceptions.py with the reason):\n"
        + "\n".join(f"  {k}: {v}" for k, v in sorted(new.items()))
        + ("\nlisted in exceptions.py but invariant now (delete them):\n  "
           + "\n  ".join(fixed) if fixed else ""))


def test_invariance_rate(pairs):
    ok, total = rates(pairs)["overall"]
    assert total >= 300, f"only {total} pairs applied: a transform stopped applying"
    assert ok / total >= TARGET, f"invariance {ok}/{total} = {ok / total:.1%} < {TARGET:.0%}"


def test_exceptions_name_real_pairs():
    transforms = {t.name for t in TRANSFORMS}
    for key, reason in EXCEPTIONS.items():
        unit, _, transform = key.partition("::")
        assert transform in transforms and unit and reason.strip(), key
