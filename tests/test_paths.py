"""Path sensitivity (semantic/paths.py): tests on a constructor's parameters are evaluated
under one binding of those parameters, so tests no construction passes together never meet."""

from __future__ import annotations

import ast

import pytest

from initlint.extract.expr import from_ast
from initlint.extract.facts import Condition
from initlint.semantic.classes import ClassIndex
from initlint.semantic.evaluate import Evaluator, World
from initlint.semantic.paths import may_meet

PARAMS = ("bias", "no_bias", "task", "depth")


def _test(text: str, positive: bool = True) -> Condition:
    return Condition(from_ast(ast.parse(text, mode="eval").body, lambda _n: None), positive)


def _meet(*groups: tuple[Condition, ...]) -> bool:
    evaluator = Evaluator(World(ClassIndex(()), lambda _cls: {}))
    return may_meet(evaluator, groups, PARAMS)


@pytest.mark.parametrize(("first", "second", "meet"), [
    ((_test("bias"),), (_test("bias", False),), False),  # `if bias:` vs the bias left out
    ((_test("not no_bias", False),), (_test("not no_bias"),), False),
    ((_test("no_bias", False),), (_test("not no_bias", False),), False),
    ((_test("task == 'cls'"),), (_test("task == 'cls'", False), _test("task == 'reg'")), False),
    ((_test("task == 'cls'"),), (_test("task == 'reg'"),), False),  # two ifs, one setting
    ((_test("task == 'cls'"),), (_test("task != 'reg'"),), True),
    ((_test("task in ('a', 'b')"),), (_test("task == 'b'"),), True),
    ((_test("depth > 4"),), (_test("depth < 10"),), True),  # 5: between the constants
    ((_test("task.startswith('c')"),), (_test("task.endswith('x')"),), True),  # "cx"
    ((_test("'a' in task"),), (_test("'b' in task"),), True),  # "ab"
    ((_test("bias"),), (_test("use_bias", False),), True),  # not a parameter: any value
    ((_test("bias and self.flag"),), (_test("bias"),), True),
])
def test_tests_meet_only_where_one_binding_passes_both(first, second, meet) -> None:
    assert _meet(first, second) is meet
    assert _meet(second, first) is meet
