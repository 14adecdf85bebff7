"""initlint's language server (``initlint lsp``): diagnostics, quick fixes, noqa, fix-all,
and rule docs on hover, over stdio. Needs the ``lsp`` extra (pygls); the rest of initlint
never imports this package."""

from __future__ import annotations


def main() -> None:
    from initlint.lsp.server import serve

    serve()


__all__ = ["main"]
