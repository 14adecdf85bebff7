"""The rule docs (``rules/INIxxx.md``): shipped in the wheel as ``initlint/_rules``."""

from __future__ import annotations

import re
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the initlint package


def docs_dir() -> Path:
    """The installed copy inside the package, else the repository's ``rules/``."""
    shipped = _PACKAGE / "_rules"
    if shipped.is_dir():
        return shipped
    return _PACKAGE.parent / "rules"


def rule_doc(code: str) -> str | None:
    path = docs_dir() / f"{code.upper()}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def doc_codes() -> list[str]:
    return sorted(p.stem for p in docs_dir().glob("INI*.md"))


def doc_section(doc: str, title: str) -> str:
    """The body of ``## title`` up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", doc, re.M | re.S)
    return match.group(1).strip() if match else ""


def code_block(section: str) -> str:
    match = re.search(r"```python\n(.*?)```", section, re.S)
    return match.group(1) if match else ""
