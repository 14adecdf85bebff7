"""The examples at the end of ``initlint --help`` and ``initlint check --help`` (a ``\\b``
line keeps click from re-wrapping the paragraph after it)."""

from __future__ import annotations

MAIN_EPILOG = """\b
Examples:
  initlint src/                         lint a directory (= initlint check src/)
  initlint src/ --fix                   apply the safe fixes, report what remains
  initlint rule INI101                  a rule's documentation
  initlint help check                   every option of check
  initlint version                      the version

\b
Exit codes: 0 no findings, 1 findings, 2 usage, configuration or internal error.
Docs: https://initlint.github.io/initlint/"""

CHECK_EPILOG = """\b
Examples:
  initlint check src/ --select INI1 --ignore INI103
  initlint check src/ --output-format concise      one line per finding
  initlint check src/ --statistics                 only a count per rule
  initlint check src/ --fix --unsafe-fixes         also the fixes that change values
  initlint check src/ --diff                       the fixes as a diff; write nothing
  initlint check . --exit-zero --output-format sarif -o initlint.sarif   (CI)
  cat m.py | initlint check - --stdin-filename src/m.py

\b
Settings: [tool.initlint] in pyproject.toml or initlint.toml (the nearest above each file);
the command line wins over INITLINT_OUTPUT_FORMAT, which wins over `output-format` there.
Exit codes: 0 no findings, 1 findings, 2 usage, configuration or internal error."""
