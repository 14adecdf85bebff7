"""The house in pipeline order (ARCHITECTURE.md): packages import only their own stage or a
lower one, and the module import graph has no circle. Every import counts: at module level,
inside a function (a "lazy" import is still a dependency), and under ``TYPE_CHECKING``.

The one exception is the public ``initlint.inspect()``: the package's ``__init__`` imports
the runtime mode inside that function, so ``import initlint`` stays light.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from initlint.checks import ALL_RULES
from initlint.core.codes import RULE_CODES

PACKAGE = Path(__file__).resolve().parent.parent / "initlint"

#: Stages, lowest first: a package may import its own modules and those of earlier stages.
STAGES = ("core", "files", "extract", "semantic", "fixes", "checks", "report", "cache",
          "engine", "runtime", "lsp", "cli")
#: Modules at the top of the package: the version and ``inspect`` (root), ``python -m``.
TOP_LEVEL = {"initlint", "initlint.__main__"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _target(name: str) -> str | None:
    """The initlint module an import of ``name`` loads (a name inside a module: the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """The initlint modules ``module`` imports anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        out |= {t for n in names if n.startswith("initlint")
                if (t := _target(n)) is not None and t != module}
    return out


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}
#: the lazy import inside ``initlint.inspect()``
ALLOWED = {("initlint", "initlint.runtime.api")}


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_every_module_lives_in_a_stage() -> None:
    stray = sorted(m for m in MODULES if m not in TOP_LEVEL and _stage(m) is None)
    assert stray == [], f"modules outside the stage packages: {stray}"


def test_imports_point_down_the_pipeline() -> None:
    upward = []
    for module, targets in GRAPH.items():
        here = _stage(module)
        for target in targets:
            there = _stage(target)
            if (module, target) in ALLOWED or there is None or here is None:
                continue
            if there > here:
                upward.append(f"{module} -> {target}")
    assert upward == [], "imports from a higher stage:\n" + "\n".join(sorted(upward))


def test_no_import_circles() -> None:
    graph = {m: {t for t in ts if (m, t) not in ALLOWED} for m, ts in GRAPH.items()}
    circles = _strongly_connected(graph)
    assert circles == [], f"import circles: {circles}"


def test_top_level_imports_only_the_allowed_lazy_one() -> None:
    """``import initlint`` loads nothing else (the CLI's and the editor's start-up cost)."""
    assert GRAPH["initlint"] == {"initlint.runtime.api"}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: components of more than one module (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return found


@pytest.mark.parametrize("graph, circles", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"a"}}, [["a"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_circle_finder_finds_circles(graph: dict[str, set[str]],
                                          circles: list[list[str]]) -> None:
    assert _strongly_connected(graph) == circles


def test_the_graph_sees_lazy_and_type_only_imports(tmp_path: Path) -> None:
    """A function-level or TYPE_CHECKING import is an edge like any other."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from initlint.semantic.project import ProjectFacts\n"
              "def f():\n    from initlint.cli.main import main\n")
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert _imports("initlint.core.probe", path) == {"initlint.semantic.project",
                                                     "initlint.cli.main"}


def test_rule_codes_are_the_registry() -> None:
    """Settings are checked against :data:`RULE_CODES` before any rule module loads."""
    assert tuple(ALL_RULES) == RULE_CODES
