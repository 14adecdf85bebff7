"""``--add-noqa``: write ``# noqa: CODE`` comments that silence the current findings.

A comment goes at the end of the finding's row (the row ``# noqa`` is read on), merged into
a ``# noqa: …`` comment already there (other tools' codes kept). Rows where a comment cannot
go without changing the program — the line ends inside a multi-line string, or is continued
with a backslash — are left alone and reported. Files are written as ``--fix`` writes them
(atomically, encoding, BOM and line endings kept; notebooks as notebook JSON).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field

from initlint.core.findings import Finding
from initlint.core.text import NEWLINE
from initlint.extract.extractor import NOQA
from initlint.report import escape

_CODE = re.compile(r"[A-Z]+[0-9]+", re.I)


@dataclass(frozen=True)
class RowFacts:
    """What tokenizing says about each row: its comment (start column, 0-based code
    points) and whether a comment may be appended at its end."""

    comments: dict[int, int] = field(default_factory=dict)
    blocked: dict[int, str] = field(default_factory=dict)  # row → why not


def _row_facts(text: str) -> RowFacts | None:
    comments: dict[int, int] = {}
    blocked: dict[int, str] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    open_fstring: list[int] = []
    for token in tokens:
        kind = tokenize.tok_name.get(token.type, "")
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.start[1]
        elif token.type == tokenize.STRING and token.end[0] > token.start[0]:
            for row in range(token.start[0], token.end[0]):
                blocked[row] = "the line ends inside a multi-line string"
        elif kind == "FSTRING_START":  # Python 3.12+: f-strings are tokenized in parts
            open_fstring.append(token.start[0])
        elif kind == "FSTRING_END" and open_fstring:
            for row in range(open_fstring.pop(), token.end[0]):
                blocked[row] = "the line ends inside a multi-line f-string"
    for row, line in enumerate(NEWLINE.split(text), start=1):
        if line.endswith("\\") and row not in comments:
            blocked.setdefault(row, "the line is continued with a backslash")
    return RowFacts(comments, blocked)


def _merged(line: str, comment_at: int | None, codes: list[str]) -> str:
    """``line`` with ``codes`` silenced: added to its noqa comment, or a new one."""
    if comment_at is not None:
        comment = line[comment_at:]
        match = NOQA.search(comment)
        if match is not None:
            present = match.group("codes")
            if not present:
                return line  # a noqa comment without codes silences every code already
            known = {c.upper() for c in _CODE.findall(present)}
            new = [c for c in codes if c.upper() not in known]
            if not new:
                return line
            end = comment_at + match.end("codes")
            return line[:end] + "".join(f", {c}" for c in new) + line[end:]
    return line.rstrip() + "  # noqa: " + ", ".join(codes)


def with_noqa(text: str, rows: dict[int, list[str]]) -> tuple[str, list[tuple[int, str]]]:
    """``text`` with a noqa comment for each row's codes, and the rows left alone (why)."""
    facts = _row_facts(text)
    if facts is None:
        return text, [(row, "the file does not tokenize") for row in sorted(rows)]
    parts = NEWLINE.split(text)
    endings = NEWLINE.findall(text)
    skipped: list[tuple[int, str]] = []
    for row, codes in sorted(rows.items()):
        if not 0 < row <= len(parts):
            continue
        if row in facts.blocked:
            skipped.append((row, facts.blocked[row]))
            continue
        parts[row - 1] = _merged(parts[row - 1], facts.comments.get(row), sorted(set(codes)))
    out = [part + (endings[i] if i < len(endings) else "") for i, part in enumerate(parts)]
    return "".join(out), skipped


@dataclass
class NoqaRun:
    added: int = 0
    files: int = 0
    messages: list[str] = field(default_factory=list)


def add_noqa(findings: Iterable[Finding]) -> NoqaRun:
    """Write the comments into each file with findings (not INI000: a file that does not
    parse gets no comment)."""
    from initlint.engine.fix import WriteError, write_fixed
    from initlint.files.discover import read_source

    by_path: dict[str, dict[int, list[str]]] = {}
    for finding in findings:
        if finding.code != "INI000":
            by_path.setdefault(finding.path, {}).setdefault(finding.span.row, []).append(
                finding.code)
    run = NoqaRun()
    for path, rows in sorted(by_path.items()):
        source = read_source(path)
        if source.error:
            continue
        after, skipped = with_noqa(source.text, rows)
        for row, why in skipped:
            run.messages.append(f"{escape.path(path)}:{row}: no noqa comment added: {why}")
        if after == source.text:
            continue
        try:
            write_fixed(path, source.text, after)
        except (OSError, WriteError) as exc:
            run.messages.append(f"initlint: error: {escape.text(str(exc))}")
            continue
        run.files += 1
        run.added += sum(1 for row in rows if row not in dict(skipped))
    return run


def add_noqa_cli(findings: list[Finding], status: int) -> int:
    """Run it for the CLI: messages on stderr; exit 0 unless something could not be done."""
    import click

    run = add_noqa(findings)
    for message in run.messages:
        click.echo(message, err=True)
    click.echo(f"Added {run.added} noqa comment{'s' if run.added != 1 else ''} in "
               f"{run.files} file{'s' if run.files != 1 else ''}.", err=True)
    return status or (1 if run.messages else 0)
