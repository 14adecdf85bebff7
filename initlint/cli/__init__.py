"""The command line (`initlint`): click commands and their option groups (input, output,
discovery, stdin, watch, add-noqa).
"""

import sys


def entry() -> None:
    """The console script (``initlint = initlint.cli:entry``): a stable name for installers,
    whatever module holds the commands. ``initlint lsp`` goes straight to the server: the
    commands' modules (rules, engine, click) would load before it could answer ``initialize``;
    without pygls it falls through to the command, which says what to install."""
    if sys.argv[1:2] == ["lsp"] and set(sys.argv[2:]) <= {"--stdio"}:
        try:
            from initlint.lsp import main as serve
        except ImportError:
            pass
        else:
            serve()
            return
    from initlint.cli.main import entry as run

    run()
