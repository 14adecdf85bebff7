"""The command line (`initlint`): click commands and their option groups (input, output,
discovery, stdin, watch, add-noqa).
"""


def entry() -> None:
    """The console script (``initlint = initlint.cli:entry``): a stable name for installers,
    whatever module holds the commands."""
    from initlint.cli.main import entry as run

    run()
