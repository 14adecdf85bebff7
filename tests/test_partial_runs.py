"""What makes the hook and the editor fast must not change what they report (issue 14,
items 2 and 6): a partial run says about its files what a whole-project run says about
them, warm or cold; the editor's first answer from the findings a run kept for the same
state of the project equals what it computes with the project linked. On a copy of every
fixture (80 files, findings of every rule), as one project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import initlint.engine.lint
from initlint.cache import known
from initlint.cache.store import Cache
from initlint.cli.main import main
from initlint.core.findings import Finding, Severity, Span
from initlint.lsp.workspace import Linter

#: Files named together, as in a commit (spread over the fixtures, findings in most).
GROUPS = 4


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES, root / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text('[tool.initlint]\nselect = ["ALL"]\n')
    monkeypatch.setenv("INITLINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(root)
    return root


def report(*args: str) -> list[tuple]:
    result = CliRunner().invoke(main, [*args, "--output-format", "json"])
    assert result.exit_code in (0, 1), result.output
    return sorted((str(Path(d["filename"]).resolve()), d["code"], d["location"]["row"],
                   d["location"]["column"], d["message"]) for d in json.loads(result.stdout))


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.name != "__init__.py")


def commits(root: Path) -> list[list[str]]:
    """GROUPS commits of three files each, drawn across the tree."""
    found = files(root)
    step = max(1, len(found) // (3 * GROUPS))
    picked = [str(p.relative_to(root)) for p in found[::step]][: 3 * GROUPS]
    return [picked[i:i + 3] for i in range(0, len(picked), 3)]


def test_a_partial_run_reports_on_its_files_what_the_whole_run_does(project: Path):
    whole = report(".", "--no-cache")
    assert len({f[1] for f in whole}) > 10  # the scenario: findings of many rules
    reported = 0
    for named in commits(project):
        mine = {str(Path(n).resolve()) for n in named}
        expected = [f for f in whole if f[0] in mine]
        assert report("--force-exclude", *named, "--no-cache") == expected, named
        assert report("--force-exclude", *named) == expected, named  # facts cached as read
        reported += len(expected)
    assert reported > 5
    assert report(".") == whole == report(".")  # the cache's facts, then its run entry


def test_a_partial_run_after_a_whole_run_reads_the_findings_it_kept(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    whole = report(".")
    links: list[int] = []
    real = initlint.engine.lint.check_project
    monkeypatch.setattr(initlint.engine.lint, "check_project",
                        lambda *args, **kwargs: links.append(1) or real(*args, **kwargs))
    unlinked = 0
    for named in commits(project):
        before = len(links)
        mine = {str(Path(n).resolve()) for n in named}
        assert report("--force-exclude", *named) == [f for f in whole if f[0] in mine], named
        unlinked += len(links) == before
    assert unlinked >= 3  # linked only where a finding names another file (not kept)


def test_a_warm_partial_run_after_edits_equals_a_cold_one(project: Path):
    report(".")  # every file's facts cached
    for round_, named in enumerate(commits(project)):
        for name in named:  # an edit that moves every finding down a row
            path = project / name
            path.write_text(f"# edit {round_}\n" + path.read_text())
        assert report("--force-exclude", *named) == report("--force-exclude", *named,
                                                          "--no-cache"), named


def test_the_editor_first_answers_with_the_findings_a_run_kept(project: Path):
    report(".")  # keeps each file's findings under this state of the project
    kept = with_findings = 0
    linter, fresh = Linter(), Linter(use_cache=False)  # each document's first lint, then more
    for path in map(str, files(project)):
        text = Path(path).read_text()
        first = linter.lint(path, path, text, {})
        assert first.findings == fresh.lint(path, path, text, {}).findings, path
        if first.kept:
            kept += 1
            with_findings += bool(first.findings)
            again = linter.lint(path, path, text, {})  # now linked with its context
            assert (again.kept, again.findings) == (False, first.findings)
    assert kept > 40 and with_findings > 10  # most files: their findings name no other file


def test_kept_findings_follow_the_state_of_the_project(project: Path):
    report(".")
    path = str(project / "fixtures" / "crossfile_pkg" / "inits.py")
    text = Path(path).read_text()
    assert Linter().lint(path, path, text, {}).kept
    assert not Linter().lint(path, path, text + "\n", {}).kept  # the buffer differs
    models = project / "fixtures" / "crossfile_pkg" / "models.py"
    edited = models.read_text() + "\n# edited\n"
    assert not Linter().lint(path, path, text, {str(models): edited}).kept  # an open buffer
    assert Linter().lint(path, path, text, {str(models): edited}).kept  # ...kept by the editor
    models.write_text(edited + "# on disk\n")
    first = Linter().lint(path, path, text, {})  # a file changed on disk
    assert not first.kept and first.findings == Linter(use_cache=False).lint(path, path, text,
                                                                             {}).findings
    assert Linter().lint(path, path, text, {}).kept


def test_findings_that_name_another_file_are_not_kept(tmp_path: Path):
    cache = Cache(tmp_path / "cache")
    state = known.state(cache, [("/p/a.py", "k1"), ("/p/b.py", "k2")])

    def finding(message: str) -> Finding:
        return Finding("INI005", Severity.WARNING, "a.py", Span(1, 1, 1, 2), message, "why")

    plain, naming = finding("bias written"), finding("built at b.py:3")
    assert known.store(cache, state, [("/p/a.py", "cfg", [plain]), ("/p/b.py", "cfg", [naming])],
                       ["a.py", "b.py"]) == 1
    assert known.lookup(cache, state, "/p/a.py", "cfg", "/p/a.py") == (
        Finding("INI005", Severity.WARNING, "/p/a.py", Span(1, 1, 1, 2), "bias written", "why"),)
    assert known.lookup(cache, state, "/p/b.py", "cfg", "b.py") is None
    assert known.lookup(cache, state, "/p/a.py", "other settings", "a.py") is None
    other = known.state(cache, [("/p/a.py", "k1"), ("/p/b.py", "k3")])
    assert known.lookup(cache, other, "/p/a.py", "cfg", "a.py") is None


def test_a_save_in_the_editor_keeps_findings_for_the_commit_hook(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    report(".")  # the context's facts cached
    name = "fixtures/crossfile_pkg/inits.py"
    path, text = str(project / name), (project / name).read_text()
    linter = Linter()
    linter.lint(path, path, text + "\n# typing\n", {})  # a first lint keeps its own answer
    saved = text + "\n# saved\n"
    linter.lint(path, path, saved, {})  # later lints do not
    (project / name).write_text(saved)
    linter.keep(path, saved, {})  # the save
    expected = report("--force-exclude", name, "--no-cache")
    assert expected  # the scenario: findings to keep
    links: list[int] = []
    real = initlint.engine.lint.check_project
    monkeypatch.setattr(initlint.engine.lint, "check_project",
                        lambda *args, **kwargs: links.append(1) or real(*args, **kwargs))
    assert (report("--force-exclude", name), links) == (expected, [])  # the hook: no link
