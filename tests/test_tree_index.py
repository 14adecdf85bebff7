"""The one-walk tree index answers exactly what the per-reader walks it replaced answered."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from initlint.extract.imports import dotted
from initlint.extract.tree_index import _walk_one, build_index, children

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "initlint").rglob("*.py"))


def _references_by_recursion(tree: ast.AST, prefix: str) -> set[tuple[str, str]]:
    """The reader the index replaced: a recursive visit naming each mention's owner."""
    found: set[tuple[str, str]] = set()

    def keep(ref: str, owner: str) -> None:
        if any(word in ref.lower() for word in ("init", "reset", "weight")):
            found.add((ref, owner))

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = owner
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{owner}.{child.name}" if owner else child.name
            elif isinstance(child, ast.Attribute):
                receiver = dotted(child.value) or ""
                on_self = receiver == "self" or (
                    isinstance(child.value, ast.Call) and dotted(child.value.func) == "super")
                if receiver.startswith("self.") and isinstance(node, ast.Call) \
                        and node.func is child:
                    keep(f"@{receiver}.{child.attr}", owner)
                else:
                    keep(("self." if on_self else ".") + child.attr, owner)
            elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                keep(child.id, owner)
            elif isinstance(child, ast.Constant) and isinstance(child.value, str) \
                    and child.value.isidentifier():
                keep("." + child.value, owner)
            visit(child, inner)

    visit(tree, prefix)
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_index_matches_separate_walks(path: Path) -> None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        pytest.skip("not parseable on purpose")
    index = build_index(tree, "pkg.mod")
    assert index.imports == [n for n in ast.walk(tree)
                             if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert index.references == _references_by_recursion(tree, "pkg.mod")
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert len(index.functions) == len(defs)
    for node in defs:
        indexed, walked = index.function(node), _walk_one(node)
        assert indexed.stored == walked.stored, node.name
        assert indexed.inner_defs == walked.inner_defs, node.name
        assert indexed.body_names == walked.body_names, node.name
        assert indexed.returns == walked.returns, node.name
        assert sorted(map(id, indexed.adds)) == sorted(map(id, walked.adds)), node.name


def test_children_skip_only_what_holds_no_node() -> None:
    tree = ast.parse("def f(x, *, y=g(1)):\n    a.b[c] += -d if e else [h async for h in k]\n"
                     "match p:\n    case Q(r=S() as t) | [*u]: pass\n")
    for node in ast.walk(tree):
        expected = [c for c in ast.iter_child_nodes(node)
                    if not isinstance(c, (ast.expr_context, ast.operator, ast.unaryop,
                                          ast.cmpop, ast.boolop))]
        assert list(children(node)) == expected


def test_a_def_made_after_the_walk_is_walked_on_demand() -> None:
    tree = ast.parse("f = lambda m: m.weight.data.zero_()")
    index = build_index(tree, "")
    lam = tree.body[0].value
    fn = ast.FunctionDef(name="<lambda>", args=lam.args, body=[ast.Expr(lam.body)],
                         decorator_list=[], returns=None, type_comment=None)
    assert index.function(fn).body_names == {"m"}
