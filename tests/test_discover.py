"""Discovery: exclusions apply below the directory the user names, never above it."""

from __future__ import annotations

from pathlib import Path

from initlint.core.config import Config
from initlint.files.discover import discover


def test_project_inside_an_excluded_looking_ancestor_is_linted(tmp_path: Path):
    project = tmp_path / "build" / "site-packages" / "proj"
    (project / "build").mkdir(parents=True)
    (project / "model.py").write_text("import torch\n")
    (project / "build" / "generated.py").write_text("import torch\n")
    found = [Path(p).name for p in discover([str(project)], Config())]
    assert found == ["model.py"]  # its own build/ is excluded, the ancestors are not


def test_extend_exclude_glob_relative_to_the_config_root(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "third_party").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "third_party" / "b.py").write_text("x = 1\n")
    config = Config(extend_exclude=("third_party",), root=str(tmp_path))
    assert [Path(p).name for p in discover([str(tmp_path)], config)] == ["a.py"]
