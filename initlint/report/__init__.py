"""Reporters: findings → text for people or machines. One module per format."""

from __future__ import annotations

from collections.abc import Callable

from initlint.findings import Finding
from initlint.report import github_format, json_format, sarif_format, text_format

Reporter = Callable[[list[Finding], dict[str, str]], str]

#: name → render(findings, sources) where sources maps path → text (for excerpts).
REPORTERS: dict[str, Reporter] = {
    "text": text_format.render,
    "json": json_format.render,
    "sarif": sarif_format.render,
    "github": github_format.render,
}
