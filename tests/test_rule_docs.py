"""The rule docs are the source of truth for each rule's examples: lint them.

Generic over every registered rule, so a new rule needs only its doc to be covered.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, lint_snippet

from initlint.checks import ALL_RULES
from initlint.checks.docs import code_block, doc_codes, doc_section, rule_doc
from initlint.cli.main import main

SECTIONS = ("What it does", "Why it matters", "Example", "Use instead", "Fix",
            "Runtime confirmation")
RULES_DIR = REPO / "rules"
CODES = sorted(ALL_RULES)


def test_every_rule_has_a_doc_and_every_doc_a_rule():
    on_disk = sorted(p.stem for p in RULES_DIR.glob("INI*.md"))
    assert on_disk == CODES
    assert doc_codes() == CODES


@pytest.mark.parametrize("code", CODES)
def test_doc_has_title_and_all_sections(code: str):
    doc = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
    first = doc.splitlines()[0]
    assert first == f"# {code} {ALL_RULES[code].name}"
    titles = re.findall(r"^## (.+?)\s*$", doc, re.M)
    assert titles == list(SECTIONS), f"sections must be exactly {SECTIONS}, in order"
    for title in SECTIONS:
        assert doc_section(doc, title), f"## {title} is empty"
    for title in ("Example", "Use instead"):
        blocks = re.findall(r"```python\n", doc_section(doc, title))
        assert len(blocks) == 1, f"## {title} needs exactly one ```python block"


@pytest.mark.parametrize("code", CODES)
def test_example_triggers_exactly_this_rule(code: str, tmp_path: Path):
    doc = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
    example = code_block(doc_section(doc, "Example"))
    findings = lint_snippet(tmp_path, example, name="example.py")
    found = sorted({f.code for f in findings})
    assert found == [code], "\n".join(
        f"{f.span.row}:{f.span.column} {f.code} {f.message}" for f in findings)


@pytest.mark.parametrize("code", CODES)
def test_use_instead_is_clean(code: str, tmp_path: Path):
    doc = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
    clean = code_block(doc_section(doc, "Use instead"))
    findings = lint_snippet(tmp_path, clean, name="use_instead.py")
    assert findings == [], "\n".join(
        f"{f.span.row}:{f.span.column} {f.code} {f.message}" for f in findings)


@pytest.mark.parametrize("code", CODES)
def test_fix_section_matches_the_rules_fix_safety(code: str):
    """The doc's Fix section names the same safety as the registered rule."""
    doc = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
    fix = doc_section(doc, "Fix").lower()
    declared = ALL_RULES[code].fix
    if declared is None:
        assert not re.match(r"(safe|unsafe)\b", fix), f"{code} declares no fix"
    else:
        assert declared in fix


def test_rule_command_prints_the_doc():
    result = CliRunner().invoke(main, ["rule", "INI001"])
    assert result.exit_code == 0
    assert result.output.strip() == (RULES_DIR / "INI001.md").read_text(encoding="utf-8").strip()
    assert rule_doc("ini001") == rule_doc("INI001")


def test_rule_command_unknown_code_is_a_one_line_error():
    result = CliRunner().invoke(main, ["rule", "INI999"])
    assert result.exit_code == 2
    assert "unknown rule code" in result.output
    assert "Traceback" not in result.output


def test_docs_ship_in_the_wheel(tmp_path: Path):
    """hatch force-include puts rules/ into the wheel as initlint/_rules."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, cwd=tmp_path)
    if out.returncode != 0 and "hatchling" in out.stderr and "No matching distribution" \
            in out.stderr:
        pytest.skip("cannot fetch the build backend (offline)")
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("initlint-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for code in CODES:
        assert f"initlint/_rules/{code}.md" in names


FIXED = sorted(code for code, r in ALL_RULES.items() if r.fix)


@pytest.mark.parametrize("code", FIXED)
def test_fix_section_shows_the_example_after_the_fix(code: str, tmp_path: Path):
    """``## Fix`` holds the Example as ``--fix`` leaves it (``--unsafe-fixes`` when the doc
    says so): the block is what the engine writes, and it no longer triggers the rule."""
    from initlint.core.config import Config
    from initlint.engine.fix import fix_text

    doc = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
    section = doc_section(doc, "Fix")
    example = code_block(doc_section(doc, "Example"))
    shown = code_block(section)
    assert len(re.findall(r"```python\n", section)) == 1, "## Fix needs one ```python block"
    unsafe = "--unsafe-fixes" in section
    result = fix_text("example.py", example, Config(select=(code,)), unsafe=unsafe)
    assert result.fixed >= 1 and result.after == shown
    if unsafe:  # then plain --fix must not do it
        assert fix_text("example.py", example, Config(select=(code,))).after != shown
    assert code not in {f.code for f in lint_snippet(tmp_path, shown, name="fixed.py")}


@pytest.mark.parametrize("code, cls, shape, before, after", [
    ("INI101", "MLP", (512, 784), 0.049, 1.26),
    ("INI104", "ResMLP", (256, 256), 776, 1.00),
])
def test_fix_section_numbers_are_measured(code, cls, shape, before, after):
    """The output std the Fix section quotes, before and after, on real torch."""
    torch = pytest.importorskip("torch")
    doc = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
    section = doc_section(doc, "Fix")
    assert f"from {before:g} to {after:.2f}" in section or f"from {before} to {after}" in section
    for source, quoted in ((code_block(doc_section(doc, "Example")), before),
                           (code_block(section), after)):
        namespace: dict = {}
        exec(compile(source, f"{code}.md", "exec"), namespace)
        torch.manual_seed(0)
        model = namespace[cls]()
        torch.manual_seed(1)
        with torch.no_grad():
            std = float(model(torch.randn(*shape)).std())
        assert std == pytest.approx(quoted, rel=0.02)
