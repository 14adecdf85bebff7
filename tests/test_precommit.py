"""The pre-commit hooks, run by the real pre-commit against a temporary git repository.

pre-commit installs the hook repository with pip (hatchling comes from PyPI), so these tests
need a package index; they take about 12 s together, so they are not marked slow. The hook
repository is a snapshot of this checkout's working tree (tracked plus untracked, not ignored
files): ``try-repo`` on the checkout itself would test the last commit plus tracked edits
only, and miss new modules. In CI, where the checkout is clean, the snapshot is exactly HEAD.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            nn.init.xavier_uniform(self.fc.weight)
    """)
CLEAN = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\n"


def run(*cmd: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **GIT_ENV, **(env or {})})


def git_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    run("git", "init", "-q", cwd=path)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    run("git", "add", ".", cwd=path)
    return path


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(path, commit) of a git repository holding this checkout's working tree."""
    if shutil.which("git") is None or shutil.which("pre-commit") is None:
        pytest.skip("git and pre-commit are needed")
    listed = run("git", "ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT)
    if listed.returncode != 0:
        pytest.skip("the project is not a git checkout")
    snapshot = tmp_path_factory.mktemp("hooks") / "initlint"
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    run("git", "init", "-q", cwd=snapshot)
    run("git", "add", ".", cwd=snapshot)
    run("git", "commit", "-q", "-m", "snapshot", cwd=snapshot)
    head = run("git", "rev-parse", "HEAD", cwd=snapshot).stdout.strip()
    return snapshot, head


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One pre-commit cache for the module: the hook environment is built once."""
    return {"PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}


def config(hook_repo: tuple[Path, str], *hooks: str) -> str:
    path, rev = hook_repo
    ids = "".join(f"      - id: {hook}\n" for hook in hooks)
    return f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n{ids}"


def test_try_repo_fails_on_a_finding(hook_repo, tmp_path: Path):
    repo = git_repo(tmp_path / "user", {"model.py": MODEL, "clean.py": CLEAN})
    result = run("pre-commit", "try-repo", str(hook_repo[0]), "initlint", "--all-files",
                 cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "model.py:8:17: INI001" in result.stdout
    assert "clean.py" not in result.stdout.split("hook id: initlint", 1)[1]


def test_clean_files_pass(hook_repo, store, tmp_path: Path):
    repo = git_repo(tmp_path / "user", {"clean.py": CLEAN, "stub.pyi": "x: int\n",
                                        ".pre-commit-config.yaml": config(hook_repo,
                                                                          "initlint")})
    result = run("pre-commit", "run", "--all-files", cwd=repo, env=store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "initlint" in result.stdout and "Passed" in result.stdout


def test_no_python_files_staged_exits_0_quietly(hook_repo, store, tmp_path: Path):
    repo = git_repo(tmp_path / "user", {"README.md": "# notes\n",
                                        ".pre-commit-config.yaml": config(hook_repo,
                                                                          "initlint")})
    result = run("pre-commit", "run", cwd=repo, env=store)  # the staged files only
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(no files to check)Skipped" in result.stdout
    assert "INI" not in result.stdout + result.stderr


def test_fix_hook_fixes_then_passes(hook_repo, store, tmp_path: Path):
    repo = git_repo(tmp_path / "user", {"model.py": MODEL,
                                        ".pre-commit-config.yaml": config(hook_repo,
                                                                          "initlint-fix")})
    first = run("pre-commit", "run", "--all-files", cwd=repo, env=store)
    assert first.returncode == 1, first.stdout + first.stderr  # pre-commit: files modified
    assert "files were modified by this hook" in first.stdout
    assert "nn.init.xavier_uniform_(self.fc.weight)" in (repo / "model.py").read_text()
    run("git", "add", "model.py", cwd=repo)
    second = run("pre-commit", "run", "--all-files", cwd=repo, env=store)
    assert second.returncode == 0, second.stdout + second.stderr


# --- issue 14: the hook sees the project, excludes apply to staged files ---------------------

HELPERS = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            nn.init.zeros_(m.bias)
    """)
USES_HELPERS = textwrap.dedent("""\
    import torch.nn as nn

    from pkg.init_utils import init_weights


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, bias=False)
            self.apply(init_weights)
    """)


def commit_all(repo: Path) -> None:
    run("git", "add", ".", cwd=repo)
    result = run("git", "commit", "-q", "--no-verify", "-m", "base", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hook_judges_a_staged_helper_with_its_project(hook_repo, store, tmp_path: Path):
    """Committing the helper alone: no false INI201 ("nothing calls it"), the real INI005
    (the Linear built with bias=False is in another, unchanged file) is kept."""
    repo = git_repo(tmp_path / "user", {"pkg/__init__.py": "",
                                        "pkg/init_utils.py": "import torch.nn as nn\n",
                                        "pkg/models.py": USES_HELPERS,
                                        ".pre-commit-config.yaml": config(hook_repo,
                                                                          "initlint")})
    commit_all(repo)
    (repo / "pkg" / "init_utils.py").write_text(HELPERS)
    run("git", "add", "pkg/init_utils.py", cwd=repo)
    result = run("pre-commit", "run", cwd=repo, env=store)  # the staged file only
    output = result.stdout
    assert result.returncode == 1, output + result.stderr
    assert "pkg/init_utils.py:7:9: INI005" in output
    assert "INI201" not in output and "models.py" not in output


def test_hooks_leave_excluded_files_alone(hook_repo, store, tmp_path: Path):
    repo = git_repo(tmp_path / "user", {
        "pyproject.toml": '[tool.initlint]\nextend-exclude = ["third_party"]\n',
        "third_party/vendored.py": MODEL, "src/clean.py": CLEAN,
        ".pre-commit-config.yaml": config(hook_repo, "initlint", "initlint-fix")})
    result = run("pre-commit", "run", "--all-files", cwd=repo, env=store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (repo / "third_party" / "vendored.py").read_text() == MODEL  # not rewritten


def test_a_users_args_keep_the_excludes(hook_repo, store, tmp_path: Path):
    """`args:` in a user's config replace the hook's; --force-exclude lives in `entry`."""
    hooks = config(hook_repo, "initlint") + "        args: [--select, ALL]\n"
    repo = git_repo(tmp_path / "user", {
        "pyproject.toml": '[tool.initlint]\nextend-exclude = ["third_party"]\n',
        "third_party/vendored.py": MODEL, "src/clean.py": CLEAN,
        ".pre-commit-config.yaml": hooks})
    result = run("pre-commit", "run", "--all-files", cwd=repo, env=store)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vendored.py" not in result.stdout
