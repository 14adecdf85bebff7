"""Installing and releasing (issue 22 item 7): the sdist and the wheel built as the release
workflow builds them carry the rule docs and the settings schema; a tag is released only
when it is ``v`` + the version and the changelog has a dated section for it; the README's
pre-commit snippets name hooks and a revision that exist."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

import initlint
from initlint.checks import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
sys.path.insert(0, str(ROOT / "scripts"))
import release_check  # noqa: E402  (scripts/ is not a package)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from it (the release's steps;
    the backend, hatchling, comes from the package index as for any build)."""
    pytest.importorskip("build", reason="build is a test extra (pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and "hatchling" in result.stdout + result.stderr \
            and "No matching distribution" in result.stdout + result.stderr:
        pytest.skip("the build backend (hatchling) cannot be installed here")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_the_wheel_carries_the_rule_docs_and_the_schema(dist: Path):
    (wheel,) = dist.glob("initlint-*.whl")
    assert wheel.name == f"initlint-{initlint.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for code in ALL_RULES:
            assert f"initlint/_rules/{code}.md" in names, code
        schema = archive.read("initlint/_schema/initlint.json").decode("utf-8")
        metadata = archive.read(f"initlint-{initlint.__version__}.dist-info/METADATA")
    assert schema == (ROOT / "docs" / "schema" / "initlint.json").read_text(encoding="utf-8")
    assert b"Project-URL: Changelog" in metadata
    assert "initlint/cli/main.py" in names and not any(n.startswith("tests/") for n in names)


def test_the_sdist_can_rebuild_the_wheel(dist: Path):
    (sdist,) = dist.glob("initlint-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"CHANGELOG.md", "docs/schema/initlint.json", "scripts/settings_schema.py",
            "rules/INI101.md", "pyproject.toml"} <= names


def test_a_tag_is_released_only_as_v_plus_the_version_with_a_dated_changelog():
    version = initlint.__version__
    dated = f"# Changelog\n\n## [{version}] - 2027-01-15\n\n- first\n"
    assert release_check.problems(f"v{version}", dated) == []
    assert release_check.problems(version, dated)  # no "v"
    assert release_check.problems("v9.9.9", dated)  # not this version
    assert release_check.problems(f"v{version}", dated.replace("2027-01-15", "unreleased"))
    assert release_check.problems(f"v{version}", "# Changelog\n")


def test_the_changelog_has_this_versions_section():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(initlint.__version__)}\] - ", changelog, re.M)


def test_the_release_workflow_builds_tags_and_publishes_only_when_enabled():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(
        encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["tags"] == ["v*"]
    build = " ".join(str(step.get("run", "")) for step in workflow["jobs"]["build"]["steps"])
    assert "scripts/release_check.py" in build and "python -m build" in build
    assert "scripts/settings_schema.py --check" in build
    pypi = workflow["jobs"]["pypi"]
    assert "vars.PUBLISH_TO_PYPI == 'true'" in pypi["if"]
    assert pypi["permissions"] == {"id-token": "write"}  # trusted publishing: no token


def test_the_readme_pre_commit_hooks_exist():
    hooks = {hook["id"] for hook in yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    named = set(re.findall(r"- id: ([\w-]+)", README))
    named |= set(re.findall(r"# or: ([\w-]+) \(runs", README))
    assert {"initlint", "initlint-fix"} <= named and named <= hooks


def test_the_readme_pre_commit_rev_exists():
    """``rev:`` names ``main`` until this version's tag exists, then that tag (the old
    README named the tag v0.1.0 before anyone had made it)."""
    revs = re.findall(r"repo: https://github\.com/initlint/initlint\n\s+rev: (\S+)", README)
    assert len(revs) == 1
    tags = subprocess.run(["git", "tag", "--list", "v*"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    if tags.returncode != 0:
        pytest.skip("not a git checkout")
    tag = f"v{initlint.__version__}"
    assert revs[0] == (tag if tag in tags.stdout.split() else "main")


def test_the_readme_says_how_to_install_without_pypi():
    install = README.split("## Install")[1].split("\n## ")[0]
    assert "not on PyPI" in install
    assert "pip install 'git+https://github.com/initlint/initlint'" in install
    bare = [line for line in README.splitlines()
            if re.search(r"pip install '?initlint(\[[^\]]*\])?(?!\s*@)'?(?=[\s`]|$)", line)
            and "finds nothing" not in line and "works" not in line]
    assert bare == []  # every other install command works before a release
