"""Input and output of ``initlint check`` in real processes: stdin, misspelled commands,
"All checks passed!" only when true, the concise format, the shortened why, --output-file,
-q/-v, colour (NO_COLOR / FORCE_COLOR / a terminal), ``rule --all``, ``python -m initlint``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from initlint.checks import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Stem(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, bias=False)
            nn.init.xavier_uniform(self.conv.weight)
            nn.init.zeros_(self.conv.bias)
""")
CLEAN = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\n"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CONCISE = re.compile(r"^(?P<path>.+):(?P<row>\d+):(?P<col>\d+): (?P<code>INI\d{3}) (?P<msg>.+)$")

#: The installed entry point, as the console script calls it.
ENTRY = "import sys; from initlint.cli.main import main; sys.exit(main())"


def run(*args: str, cwd: Path, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-c", ENTRY, *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(MODEL, encoding="utf-8")
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    return tmp_path


# --- item 5: inputs ----------------------------------------------------------------------------

def test_stdin_is_linted_under_the_stdin_filename(tree: Path):
    result = run("-", "--stdin-filename", "pkg/stem.py", "--output-format", "json",
                 cwd=tree, stdin=MODEL)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert {(d["code"], d["location"]["row"]) for d in data} == {("INI001", 8), ("INI005", 9)}
    assert {d["filename"] for d in data} == {str(tree / "pkg" / "stem.py")}
    implied = run("--stdin-filename", "pkg/stem.py", cwd=tree, stdin=MODEL)  # no paths
    assert implied.returncode == 1 and implied.stdout.startswith("pkg/stem.py:8:17: INI001")
    plain = run("-", cwd=tree, stdin=MODEL)  # no name: reported as "-"
    assert plain.returncode == 1 and plain.stdout.startswith("-:8:")
    assert "All checks passed" not in plain.stdout


def test_stdin_uses_the_config_of_its_filename(tree: Path):
    sub = tree / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.initlint]\nignore = ["INI001"]\n'
                                        'exclude = ["vendored"]\n', encoding="utf-8")
    codes = {d["code"] for d in json.loads(run(
        "-", "--stdin-filename", "sub/stem.py", "--output-format", "json", cwd=tree,
        stdin=MODEL).stdout)}
    assert codes == {"INI005"}
    excluded = run("-", "--stdin-filename", "sub/vendored/stem.py", "--force-exclude",
                   cwd=tree, stdin=MODEL)
    assert (excluded.returncode, excluded.stdout) == (0, "")


def test_stdin_is_judged_with_its_project(tmp_path: Path):
    """An editor's buffer piped in: its project's other files count (the model that builds
    the layer without a bias and applies the helper), the file on disk does not."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    (tmp_path / "model.py").write_text(textwrap.dedent("""\
        import torch.nn as nn
        from helpers import init_weights


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4, bias=False)
                self.apply(init_weights)
    """), encoding="utf-8")
    (tmp_path / "helpers.py").write_text("# being edited\n", encoding="utf-8")
    buffer = textwrap.dedent("""\
        import torch.nn as nn


        def init_weights(m):
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)
                nn.init.zeros_(m.bias)
    """)
    result = run("-", "--stdin-filename", "helpers.py", "--output-format", "concise",
                 "--no-cache", cwd=tmp_path, stdin=buffer)
    assert result.stdout.splitlines()[0].startswith("helpers.py:7:9: INI005 "), result.stdout
    assert "model.py" not in result.stdout  # only the buffer is reported


def test_stdin_fix_prints_the_fixed_source(tree: Path):
    result = run("-", "--stdin-filename", "stem.py", "--fix", cwd=tree, stdin=MODEL)
    assert result.returncode == 0, result.stderr
    assert "nn.init.xavier_uniform_(self.conv.weight)" in result.stdout
    assert "if self.conv.bias is not None:" in result.stdout
    compile(result.stdout, "stem.py", "exec")


def test_stdin_fix_is_a_filter(tree: Path):
    """Editors pipe a buffer through ``initlint --fix -``: the bytes come back in the
    input's own encoding whatever the locale, and an excluded name comes back unchanged."""
    source = ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + MODEL).encode("latin-1")
    result = subprocess.run([sys.executable, "-c", ENTRY, "-", "--stdin-filename", "m.py",
                             "--fix"], cwd=tree, input=source, capture_output=True,
                            timeout=120, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == source.replace(b"xavier_uniform(", b"xavier_uniform_(").replace(
        b"        nn.init.zeros_(self.conv.bias)",
        b"        if self.conv.bias is not None:\n            nn.init.zeros_(self.conv.bias)")
    (tree / "pyproject.toml").write_text('[tool.initlint]\nexclude = ["gen"]\n')
    excluded = run("-", "--stdin-filename", "gen/m.py", "--fix", "--force-exclude",
                   cwd=tree, stdin=MODEL)
    assert (excluded.returncode, excluded.stdout) == (0, MODEL)


def test_misspelled_subcommand_is_an_error_not_a_path(tree: Path):
    result = run("chek", "model.py", cwd=tree)
    assert result.returncode == 2
    assert "initlint check" in result.stderr and "chek" in result.stderr
    assert result.stdout == ""
    (tree / "chek").mkdir()  # a directory of that name is a path, linted as such
    (tree / "chek" / "m.py").write_text(MODEL, encoding="utf-8")
    assert run("chek", cwd=tree).returncode == 1


def test_all_checks_passed_only_when_true(tree: Path):
    broken = run("clean.py", "missing.py", cwd=tree)
    assert broken.returncode == 2
    assert "All checks passed" not in broken.stdout
    assert run("clean.py", cwd=tree).stdout == "All checks passed!\n"


# --- item 7: output length -------------------------------------------------------------------

def test_concise_is_one_line_per_finding(tree: Path):
    result = run("model.py", "--output-format", "concise", "--no-cache", cwd=tree)
    lines = result.stdout.splitlines()
    findings = [CONCISE.match(line) for line in lines[:-2]]
    assert all(findings), lines
    assert [(m["path"], m["row"], m["col"], m["code"]) for m in findings] == [
        ("model.py", "8", "17", "INI001"), ("model.py", "9", "9", "INI005")]
    assert lines[-2:] == ["Found 2 findings.", "[*] 2 fixable with `initlint --fix`."]


def test_full_why_is_cut_with_a_pointer_to_the_rule_doc(tmp_path: Path):
    shutil.copy(ROOT / "fixtures" / "signal" / "deep_stack_default.py", tmp_path / "deep.py")
    result = run("deep.py", "--no-cache", cwd=tmp_path)
    blocks = result.stdout.split("\n\n")
    ini101 = next(b for b in blocks if " INI101 " in b.splitlines()[0])
    why = " ".join(line.strip() for line in ini101.splitlines() if line.startswith("   "))
    assert "~62× over these 5 layers" in why  # this finding's numbers stay
    assert "width-256" not in why  # the rule's reference measurement is in the doc
    assert why.endswith("(more: `initlint rule INI101`)")
    full = json.loads(run("deep.py", "--output-format", "json", "--no-cache",
                          cwd=tmp_path).stdout)
    assert "width-256" in full[0]["why"]  # machine formats keep the whole why


def test_why_sentences_never_split_abbreviations_or_code():
    from initlint.report.text_format import short_why

    why = ("Nothing reaches it, so the model trains from the default (Var(w)=1/(3·fan_in)). "
           "Measured: std 0.02. Call it at the end of `__init__` (e.g. `self.apply(f)`) or "
           "delete it.")
    assert short_why(why, "INI201") == (
        "Nothing reaches it, so the model trains from the default (Var(w)=1/(3·fan_in)). "
        "Call it at the end of `__init__` (e.g. `self.apply(f)`) or delete it. "
        "(more: `initlint rule INI201`)")
    assert short_why("One sentence only; measured on x: 3.5.", "INI101") == (
        "One sentence only. (more: `initlint rule INI101`)")


def test_a_why_already_shown_is_not_repeated(tree: Path):
    (tree / "other.py").write_text(MODEL, encoding="utf-8")
    result = run("model.py", "other.py", "--no-cache", cwd=tree)
    whys = [line for line in result.stdout.splitlines() if line.startswith("  = why: ")]
    assert len(whys) == 4
    assert whys[2:] == ["  = why: as for model.py:8:17 above.",
                        "  = why: as for model.py:9:9 above."]
    assert not any(w.startswith("  = why: as for") for w in whys[:2])


# --- item 8: conventions ---------------------------------------------------------------------

def test_output_file(tree: Path):
    result = run("model.py", "--output-format", "json", "--output-file", "out.json", cwd=tree)
    assert result.returncode == 1 and result.stdout == ""
    assert [d["code"] for d in json.loads((tree / "out.json").read_text())] == [
        "INI001", "INI005"]


def test_quiet_and_verbose(tree: Path):
    quiet = run("model.py", "clean.py", "-q", "--output-format", "concise", cwd=tree)
    assert len(quiet.stdout.splitlines()) == 2 and "Found" not in quiet.stdout
    assert run("clean.py", "-q", cwd=tree).stdout == ""
    verbose = run("model.py", "-v", cwd=tree)
    assert re.search(r"initlint: 2 findings in \d+\.\d\d s", verbose.stderr)
    assert "initlint: 1 file to report; configuration: defaults" in verbose.stderr


def test_colour_follows_no_color_force_color_and_the_terminal(tree: Path):
    piped = run("model.py", cwd=tree)
    assert not ANSI.search(piped.stdout)
    forced = run("model.py", cwd=tree, env={"FORCE_COLOR": "1"})
    assert ANSI.search(forced.stdout)
    assert ANSI.sub("", forced.stdout) == piped.stdout
    assert not ANSI.search(run("model.py", cwd=tree,
                               env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout)
    assert not ANSI.search(run("model.py", "--output-format", "json", cwd=tree,
                               env={"FORCE_COLOR": "1"}).stdout)
    # a real terminal: colour by default, none with NO_COLOR
    pty = pytest.importorskip("pty", reason="no pseudo-terminals on this platform")
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        leader, follower = pty.openpty()
        base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        proc = subprocess.Popen([sys.executable, "-c", ENTRY, "model.py",
                                 "--output-format", "concise"], cwd=tree, stdout=follower,
                                stderr=subprocess.DEVNULL, env={**base, **env})
        os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        proc.wait(timeout=120)
        os.close(leader)
        assert bool(ANSI.search(output.decode())) is coloured


def test_rule_all_prints_every_rule():
    result = run("rule", "--all", cwd=ROOT)
    assert result.returncode == 0
    headings = re.findall(r"^# (INI\d{3}) ", result.stdout, re.M)
    assert headings == list(ALL_RULES)


def test_python_dash_m_initlint(tree: Path):
    def module(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=tree,
                              capture_output=True, text=True, timeout=120)

    version = module("--version")
    assert version.returncode == 0 and version.stdout.startswith("initlint ")
    assert module("model.py").returncode == 1
