"""Check that a tag may be released: it is ``v`` + initlint's version, and CHANGELOG.md has a
dated section for that version (``## [0.1.0] - 2027-01-15``, not ``- unreleased``).

    python scripts/release_check.py v0.1.0     # exit 0, or 1 and what is wrong

``.github/workflows/release.yml`` runs it before building a tag; run it before tagging.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def version() -> str:
    """``__version__`` as written in ``initlint/__init__.py`` (what hatchling builds)."""
    text = (ROOT / "initlint" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if found is None:
        raise SystemExit("initlint/__init__.py has no __version__")
    return found.group(1)


def problems(tag: str, changelog: str) -> list[str]:
    """What stops ``tag`` from being released (nothing: it may be)."""
    out = []
    expected = f"v{version()}"
    if tag != expected:
        out.append(f"tag {tag} is not {expected} (the tag is \"v\" + initlint.__version__)")
    heading = re.search(rf"^## \[{re.escape(version())}\] - (.+)$", changelog, re.M)
    if heading is None:
        out.append(f"CHANGELOG.md has no section `## [{version()}] - YYYY-MM-DD`")
    elif not re.fullmatch(r"\d{4}-\d{2}-\d{2}", heading.group(1).strip()):
        out.append(f"CHANGELOG.md's section for {version()} is not dated "
                   f"({heading.group(1).strip()}): give it the release date")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    found = problems(argv[0], (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    for problem in found:
        print(f"release_check: {problem}", file=sys.stderr)
    if not found:
        print(f"release_check: {argv[0]} may be released")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
