"""Which rules run: select / ignore / extend-select, with code prefixes like ruff's."""

from __future__ import annotations

from initlint.checks import ALL_RULES
from initlint.core.codes import UnknownCodeError, expand
from initlint.core.config import Config, ConfigError
from initlint.core.findings import Finding, Severity


def _expand(codes: tuple[str, ...], what: str) -> set[str]:
    try:
        return expand(codes, what, tuple(ALL_RULES))
    except UnknownCodeError as exc:
        raise ConfigError(str(exc)) from None


def enabled_codes(config: Config) -> frozenset[str]:
    """The codes that run under ``config``; unknown codes are a ConfigError."""
    if config.select:
        chosen = _expand(config.select, "select")
    else:
        chosen = {code for code, rule in ALL_RULES.items() if rule.default}
    chosen |= _expand(config.extend_select, "extend-select")
    chosen -= _expand(config.ignore, "ignore")
    for _, codes in config.per_file_ignores:
        _expand(codes, "per-file-ignores")
    fix_codes(config)
    return frozenset(chosen)


def explicitly_selected(config: Config, code: str) -> bool:
    """``code`` is named by ``select``/``extend-select`` (itself, a 6-character prefix of
    it, or ``ALL``), not only enabled by default or by a family prefix."""
    chosen = config.select + config.extend_select
    return any(c == "ALL" or (len(c) >= 6 and code.startswith(c)) for c in chosen)


def shown(finding: Finding, config: Config) -> bool:
    """A filter, never a change to what the rules find: an info finding of a rule that is a
    warning or an error (INI206's harmless bias draw) shows only where its code is
    explicitly selected."""
    rule = ALL_RULES.get(finding.code)
    if rule is None or finding.severity is not Severity.INFO or rule.severity is Severity.INFO:
        return True
    return explicitly_selected(config, finding.code)


def fix_codes(config: Config) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(rules whose fixes are kept, rules whose fixes count as safe, as unsafe) from
    ``fixable``/``unfixable``/``extend-safe-fixes``/``extend-unsafe-fixes``; unknown codes
    are a ConfigError. A rule in both extend lists is unsafe (ruff: the more specific
    prefix wins; with equal ones, unsafe is the side that cannot break code)."""
    fixable = _expand(config.fixable, "fixable") - _expand(config.unfixable, "unfixable")
    unsafe = _expand(config.extend_unsafe_fixes, "extend-unsafe-fixes")
    safe = _expand(config.extend_safe_fixes, "extend-safe-fixes") - unsafe
    return frozenset(fixable), frozenset(safe), frozenset(unsafe)
