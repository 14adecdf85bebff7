"""The rule registry: every rule, by code, from its family module."""

from __future__ import annotations

from initlint.checks import (
    api_misuse,
    arguments,
    coverage,
    loads,
    noqa,
    order,
    reach,
    signal,
    structure,
)
from initlint.checks.base import FileContext, Rule

FAMILIES = (api_misuse, signal, arguments, order, coverage, structure, reach, loads, noqa)


def _collect() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for family in FAMILIES:
        for item in family.RULES:
            rules[item.code] = item
    return dict(sorted(rules.items()))


ALL_RULES: dict[str, Rule] = _collect()

__all__ = ["ALL_RULES", "FileContext", "Rule"]
