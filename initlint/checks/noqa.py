"""INI901: a ``# noqa: INI…`` that suppresses nothing (ruff's RUF100, which cannot see INI
codes). Judged after every other rule ran on the file, so the engine calls
:func:`unused_noqa` with their findings; the registered check itself yields nothing."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from initlint.checks.base import FileContext, Rule, rule
from initlint.core.codes import RULE_CODES
from initlint.core.findings import Edit, Finding, Fix, Severity, Span
from initlint.core.text import split_lines
from initlint.extract.extractor import NOQA

CODE = "INI901"
_INI = re.compile(r"INI[0-9]+", re.I)


@rule(CODE, "unused-noqa", Severity.INFO,
      "A `# noqa: INI…` directive whose codes suppress no finding on its line.", fix="safe",
      default=False)
def unused_noqa_rule(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """Nothing here: the answer needs the other rules' findings (see :func:`unused_noqa`)."""
    return iter(())


def unused_noqa(ctx: FileContext, raw: Collection[Finding]) -> Iterator[Finding]:
    """One finding per directive that names INI codes with no finding of that code on its
    line in ``raw`` (what every rule the file's directives name found, selected or not,
    before suppression). Other tools' codes are not judged: nothing here can tell whether
    they are used."""
    if ctx.facts.file_noqa or not ctx.facts.noqa:
        return
    used: dict[int, set[str]] = {}
    for finding in raw:
        used.setdefault(finding.span.row, set()).add(finding.code)
    lines = split_lines(ctx.text)
    for row, codes in ctx.facts.noqa:
        if not codes or CODE in codes or not 0 < row <= len(lines):
            continue
        unused = [c for c in codes if _INI.fullmatch(c) and c not in used.get(row, ())]
        if not unused:
            continue
        found = _directive(lines[row - 1], unused)
        if found is None:
            continue
        span, replacement = found
        names = ", ".join(unused)
        unknown = [c for c in unused if c not in RULE_CODES]
        yield Finding(
            CODE, Severity.INFO, ctx.facts.path, Span(row, span[0], row, span[1]),
            f"Unused `noqa` directive ({'unknown' if unknown else 'unused'}: `{names}`)",
            "No finding of this code starts on this line, so the directive silences "
            "nothing; left in place it would also hide a future finding here that nobody "
            "has seen.",
            Fix("safe", "Remove the unused code" + ("s" if len(unused) > 1 else "")
                if replacement else "Remove the `noqa` directive",
                edits=(Edit(Span(row, span[0], row, span[1]), replacement),)),
            subject=f"noqa:{names}")  # no row: stable when lines move


def _directive(line: str, unused: list[str]) -> tuple[tuple[int, int], str] | None:
    """The directive's 1-based column range on ``line`` and its text without ``unused``
    ("" when nothing is left: the comment goes, with the spaces before it, unless more
    comment text follows it)."""
    match = NOQA.search(line)
    if match is None:
        return None
    written = re.findall(r"[A-Z]+[0-9]+", (match.group("codes") or "").upper())
    kept = [c for c in written if c not in unused]
    start, end = match.start(), match.end()
    if kept:
        return (start + 1, end + 1), "# noqa: " + ", ".join(kept)
    rest = line[end:]
    tail = rest.lstrip()
    if tail:  # more comment text: it stays a comment (``# noqa: INI101  # why`` → ``# why``)
        return ((start + 1, end + 1 + len(rest) - len(tail)), "" if tail.startswith("#")
            else "# ")
    while start > 0 and line[start - 1] in " \t":
        start -= 1
    return (start + 1, len(line) + 1), ""


RULES = (unused_noqa_rule,)
