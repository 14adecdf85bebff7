"""Every rule code initlint has, as data settings are checked against before any rule module
loads (``initlint.checks.ALL_RULES`` must register exactly these: a test keeps them equal)."""

from __future__ import annotations

RULE_CODES: tuple[str, ...] = (
    "INI000", "INI001", "INI002", "INI003", "INI004", "INI005", "INI006", "INI007",
    "INI101", "INI102", "INI103", "INI104", "INI105", "INI107", "INI201", "INI202",
    "INI203", "INI204", "INI205", "INI206", "INI207", "INI208", "INI209", "INI210", "INI901",
)


class UnknownCodeError(ValueError):
    """A code or prefix that names no rule."""


def expand(codes: tuple[str, ...], what: str,
           known: tuple[str, ...] = RULE_CODES) -> set[str]:
    """The codes of ``known`` that ``codes`` names: exact codes, prefixes like ruff's (``INI1``),
    ``ALL``."""
    out: set[str] = set()
    for code in codes:
        if code in ("ALL", "INI"):
            out |= set(known)
            continue
        matched = {c for c in known if c.startswith(code)}
        if not matched or not code.startswith("INI"):
            raise UnknownCodeError(f"unknown rule code in {what}: {code} "
                                   f"(known: {', '.join(known)})")
        out |= matched
    return out
