"""Reporters: findings → text for people or machines. One module per format."""

from __future__ import annotations

from collections.abc import Callable

from initlint.core.findings import Finding
from initlint.report import (
    concise_format,
    github_format,
    json_format,
    sarif_format,
    text_format,
)

Reporter = Callable[[list[Finding], dict[str, str]], str]

#: name → render(findings, sources) where sources maps path → text (for excerpts). The
#: formats for people (:data:`STYLED`) also take ``style`` (colour on a terminal).
REPORTERS: dict[str, Reporter] = {
    "text": text_format.render,
    "concise": concise_format.render,
    "json": json_format.render,
    "sarif": sarif_format.render,
    "github": github_format.render,
}

#: The formats meant for a terminal: they take ``style=`` and are followed by a summary.
STYLED = frozenset({"text", "concise"})
