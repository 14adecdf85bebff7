"""``python -m initlint``: the same command line as ``initlint``."""

from initlint.cli.main import entry

if __name__ == "__main__":
    entry()
