"""``python -m initlint.lsp``: the language server without the command line in front of it
(``initlint lsp`` imports every command's modules first; this imports pygls and answers
``initialize`` before the engine loads)."""

from initlint.lsp import main

if __name__ == "__main__":
    main()
