"""``python -m initlint``: the same command line as ``initlint``."""

from initlint.cli import entry

if __name__ == "__main__":
    entry()
