"""The documentation site and the links into it: ``mkdocs build --strict`` of the README and
``rules/*.md``; every rule's ``url`` is a page of the built site, and so are the settings
schema (at its ``$id``) and the changelog; the README's local-hook snippet runs under the real
pre-commit (its ``rev`` is checked in test_release.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from initlint.checks import ALL_RULES
from initlint.checks.base import DOCS_SITE

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                             "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_site_builds_strict_with_every_rule_page(site: Path):
    assert (site / "index.html").is_file()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "initlint" in index and 'href="rules/INI101/"' in index
    for code in ALL_RULES:
        assert (site / "rules" / code / "index.html").is_file(), code


def test_every_finding_url_is_a_page_of_the_site(site: Path):
    import yaml  # mkdocs depends on PyYAML

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["site_url"] == DOCS_SITE
    for code, rule in ALL_RULES.items():
        assert rule.url.startswith(DOCS_SITE), rule.url
        page = urlparse(rule.url).path[len(urlparse(DOCS_SITE).path):]
        assert (site / page / "index.html").is_file(), (code, rule.url)
        title = (site / page / "index.html").read_text(encoding="utf-8")
        assert f"<h1 id=\"{code.lower()}" in title.lower(), code


def test_the_settings_schema_is_published_at_its_id(site: Path):
    schema = json.loads((ROOT / "docs" / "schema" / "initlint.json").read_text(encoding="utf-8"))
    page = urlparse(schema["$id"]).path[len(urlparse(DOCS_SITE).path):]
    assert json.loads((site / page).read_text(encoding="utf-8")) == schema


def test_the_changelog_is_a_page_of_the_site(site: Path):
    assert "0.1.0" in (site / "CHANGELOG" / "index.html").read_text(encoding="utf-8")


def test_readme_local_hook_runs_under_pre_commit(tmp_path: Path):
    if shutil.which("git") is None or shutil.which("pre-commit") is None \
            or shutil.which("initlint") is None:
        pytest.skip("git, pre-commit and an installed initlint are needed")
    block = re.search(r"```yaml\n(repos:\n  - repo: local\n.*?)```", README, re.S)
    assert block is not None
    (tmp_path / ".pre-commit-config.yaml").write_text(block.group(1), encoding="utf-8")
    (tmp_path / "model.py").write_text(
        "import torch.nn as nn\n\nnn.init.xavier_uniform(nn.Linear(2, 2).weight)\n",
        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PRE_COMMIT_HOME": str(tmp_path / ".pc"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for cmd in (["git", "init", "-q"], ["git", "add", "."]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env, timeout=60)
    result = subprocess.run(["pre-commit", "run", "--all-files"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "model.py:3:9: INI001" in result.stdout
