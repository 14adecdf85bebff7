"""``python -m initlint``: the same command line as ``initlint``."""

from initlint.cli import main

if __name__ == "__main__":
    main(prog_name="initlint")
