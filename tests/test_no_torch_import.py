"""The static path never imports torch (nor numpy, pygls): a poisoned torch changes nothing.

Run in fresh subprocesses, since this pytest process may have imported torch for other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

HEAVY = ("torch", "numpy", "pygls", "lsprotocol", "matplotlib")
TARGET = FIXTURES / "api_misuse"


@pytest.fixture(scope="module")
def poison(tmp_path_factory) -> Path:
    """A directory whose torch/numpy/pygls packages raise when imported."""
    root = tmp_path_factory.mktemp("poison")
    for name in HEAVY:
        package = root / name
        package.mkdir()
        (package / "__init__.py").write_text(
            f"raise ImportError('poisoned {name} was imported by the static path')\n",
            encoding="utf-8")
    return root


def _env(pythonpath: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    parts = [str(pythonpath)] if pythonpath else []
    parts.append(str(REPO))
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.pop("INITLINT_TRACEBACK", None)
    return env


def _cli(args: list[str], pythonpath: Path | None) -> subprocess.CompletedProcess:
    code = "import sys; from initlint.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=_env(pythonpath), cwd=REPO, timeout=300)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_poisoned_torch_makes_no_difference(poison: Path, jobs: str):
    # Every rule on, over enough files that -j 2 uses worker processes.
    args = [str(FIXTURES), "--select", "ALL", "--output-format", "json", "-j", jobs]
    clean = _cli(args, None)
    poisoned = _cli(args, poison)
    assert "poisoned" not in poisoned.stderr, poisoned.stderr
    assert (poisoned.returncode, poisoned.stdout) == (clean.returncode, clean.stdout)
    assert clean.returncode == 1 and len(json.loads(clean.stdout)) > 10


def test_poisoned_torch_text_output_and_rule_docs(poison: Path):
    for args in ([str(TARGET), "--select", "INI0"], ["rule", "INI005"], ["--version"]):
        clean, poisoned = _cli(args, None), _cli(args, poison)
        assert (poisoned.returncode, poisoned.stdout, poisoned.stderr) == \
            (clean.returncode, clean.stdout, clean.stderr)


def test_no_heavy_module_in_sys_modules_after_linting():
    script = textwrap.dedent(f"""
        import json, sys
        import initlint.cli.main
        from initlint.core.config import Config
        from initlint.files.discover import discover
        from initlint.engine.lint import lint_paths, lint_text
        from initlint.report import REPORTERS
        config = Config(select=("ALL",))
        files = discover([{str(FIXTURES)!r}], config)
        findings = lint_paths(files, config, jobs=1).findings
        for render in REPORTERS.values():
            render(findings, {{}})
        lint_text("buffer.py", "import torch.nn as nn\\nnn.init.normal(w)\\n", config)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        print(json.dumps({{"findings": len(findings), "heavy": heavy}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=_env(None), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["findings"] > 10
    assert report["heavy"] == []
