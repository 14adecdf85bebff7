"""Files named one by one are judged with their whole project (issue 14, item 2), and
``--fix``/``--diff`` go through the cache (item 7): the command line, in this process."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import initlint.engine.lint
import initlint.files.context
from initlint.cache.store import Cache
from initlint.cli.main import main
from initlint.core.config import Config
from initlint.engine.fix import fix_paths
from initlint.engine.lint import lint_paths
from initlint.files.context import with_project
from initlint.files.discover import discover
from initlint.files.walk import Resolver, Walk

HELPERS = textwrap.dedent("""\
    import torch.nn as nn


    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            nn.init.zeros_(m.bias)


    def init_norms(m):
        if isinstance(m, (nn.Linear, nn.LayerNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    """)
MODELS = textwrap.dedent("""\
    import torch.nn as nn

    from pkg.init_utils import init_norms, init_weights


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, bias=False)
            self.apply(init_weights)


    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(4, elementwise_affine=False)
            self.apply(init_norms)
    """)
#: What a whole-project run reports on the helper file: the unguarded writes, each on a
#: layer built without that parameter in the other file.
EXPECTED = [("INI005", 7), ("INI005", 12), ("INI005", 13)]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def project(root: Path, marker: str) -> Path:
    write(root, {"pkg/__init__.py": "", "pkg/init_utils.py": HELPERS, "pkg/models.py": MODELS})
    if marker == ".git":
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    else:
        write(root, {marker: ""})
    return root


def findings(*args: str) -> list[tuple[str, str, int]]:
    result = CliRunner().invoke(main, [*args, "--no-cache", "--output-format", "json"])
    assert result.exit_code in (0, 1), result.output
    return sorted((Path(d["filename"]).name, d["code"], d["location"]["row"])
                  for d in json.loads(result.stdout))


@pytest.mark.parametrize("marker", [".git", "pyproject.toml", "initlint.toml"])
def test_a_helper_file_alone_is_judged_with_its_project(tmp_path: Path, marker: str,
                                                          monkeypatch: pytest.MonkeyPatch):
    root = project(tmp_path / "proj", marker)
    monkeypatch.chdir(root)
    alone = findings("pkg/init_utils.py")
    assert alone == [("init_utils.py", code, row) for code, row in EXPECTED]  # no INI201
    assert [f for f in findings(".") if f[0] == "init_utils.py"] == alone


def test_only_the_named_files_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = project(tmp_path / "proj", "pyproject.toml")
    write(root, {"pkg/other.py": "import torch.nn as nn\n\n\ndef f(m):\n"
                                 "    nn.init.normal(m.weight)\n"})
    monkeypatch.chdir(root)
    assert findings("pkg/models.py") == []
    assert findings("pkg/other.py", "pkg/models.py") == [("other.py", "INI001", 5)]


def test_a_huge_project_lends_only_the_named_files_package(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    root = project(tmp_path / "proj", ".git")
    write(root, {f"other/m{i}.py": "import torch\n" for i in range(5)})
    monkeypatch.setattr(initlint.files.context, "MAX_CONTEXT_FILES", 4)
    monkeypatch.chdir(root)
    scope = with_project(["pkg/init_utils.py"], ["pkg/init_utils.py"], Walk(Resolver()))
    assert scope.report == {"pkg/init_utils.py"}
    assert sorted(Path(f).name for f in scope.files) == ["__init__.py", "init_utils.py",
                                                         "models.py"]  # not other/


def test_outside_any_marker_a_package_is_the_project(tmp_path: Path):
    """Issue 22 item 8: with no pyproject.toml, initlint.toml or .git above it, a helper
    named alone takes the top of its ``__init__.py`` chain as its project (as the editor
    does), so the model that applies it is found: no false INI201, its INI005s stand."""
    write(tmp_path, {"pkg/__init__.py": "", "pkg/init_utils.py": HELPERS,
                     "pkg/nets/__init__.py": "", "pkg/nets/models.py": MODELS.replace(
                         "from pkg.init_utils", "from ..init_utils")})
    assert findings(str(tmp_path / "pkg" / "init_utils.py")) == [
        ("init_utils.py", code, row) for code, row in EXPECTED]


def test_a_script_outside_any_package_has_only_the_named_files(tmp_path: Path):
    write(tmp_path, {"scripts/init_utils.py": HELPERS, "scripts/models.py": MODELS})
    codes = {code for _, code, _ in findings(str(tmp_path / "scripts" / "init_utils.py"))}
    assert codes == {"INI201"}  # no marker, no package: its directory is not read


def test_fix_and_diff_parse_nothing_when_the_cache_is_warm_and_nothing_is_fixable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 14 item 7: --fix on a cached tree with nothing to fix cost a full parse."""
    write(tmp_path, {"pkg/__init__.py": "", "pkg/init_utils.py":
                     "import torch.nn as nn\n\n\ndef init(m):\n"
                     "    nn.init.xavier_uniform_(m.bias)\n",
                     "pkg/models.py": MODELS.replace("from pkg.init_utils import init_norms, "
                                                     "init_weights\n", "")
                     .replace("self.apply(init_weights)", "pass")
                     .replace("self.apply(init_norms)", "pass")})
    config = Config()
    files = discover([str(tmp_path)], config)
    cache = Cache(tmp_path / "cache")
    checked = lint_paths(files, config, jobs=1, cache=cache).findings
    assert checked and all(f.fix is None for f in checked)  # findings, none fixable
    parses: list[str] = []
    real = initlint.engine.lint.parse_source
    monkeypatch.setattr(initlint.engine.lint, "parse_source",
                        lambda source: parses.append(source.path) or real(source))
    for write_back in (True, False):  # --fix, --diff
        run = fix_paths(files, config, write=write_back, jobs=1, cache=Cache(tmp_path / "cache"))
        assert (run.findings, run.changed, parses) == (checked, [], [])
