"""Path sensitivity: do tests on a constructor's parameters ever pass in one construction?

``self.lin = nn.Linear(a, b, bias)`` then ``if bias: zeros_(self.lin.bias)``: the write runs
exactly in the constructions where the bias exists. ``if task == "cls": self.apply(init)``
and, in the ``elif``, the layers the call would miss: no construction builds both. Each of
these is one question — is there a binding of ``__init__``'s parameters under which every
group of tests passes? — answered by evaluating the tests (with the one evaluator) under
each binding of the parameters they read to the values the tests tell apart (the constants
they compare with, the truth values, and a value equal to none of them). Not decided (too
many bindings, a test we cannot evaluate) is "they may meet".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import product
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.expr import Expr, free_names, walk
from initlint.extract.facts import Condition, LayerFact
from initlint.semantic.evaluate import Env, Evaluator, conditions_hold, free_names_of

#: At most this many bindings are tried; more means "may meet".
MAX_BINDINGS = 256
#: A value no test compares with (``task`` neither "cls" nor "reg").
OTHER = "\0other"
_PLAIN = (True, False, None, 0, 1, "", OTHER)


def may_meet(evaluator: Evaluator, groups: Sequence[tuple[Condition, ...]],
             params: Iterable[str], env: Env | None = None) -> bool:
    """Is there one binding of ``params`` (a constructor's parameter names) under which no
    test of any group is decided false? ``env``: what else the tests see (``self``)."""
    known = frozenset(params)
    # a test the constants do not decide (``depth > 4``, ``task.startswith("c")``: values
    # between them) is left out, as one that may pass
    groups = [tuple(c for c in group if _exact(c.test, known)) for group in groups]
    tests = [c for group in groups for c in group]
    read = frozenset[str]().union(*(free_names_of(evaluator, c.test) for c in tests))
    names = sorted(read & known)
    base = dict(env or {})
    if not names:
        return all(conditions_hold(evaluator, group, base, frozenset()) is not False
                   for group in groups)
    values = _candidates(c.test for c in tests)
    if len(values) ** len(names) > MAX_BINDINGS:
        return True
    for binding in product(values, repeat=len(names)):
        here = {**base, **dict(zip(names, binding, strict=True))}
        if all(conditions_hold(evaluator, group, here, frozenset()) is not False
               for group in groups):
            return True
    return False


#: Comparisons whose truth, for a parameter against constants, only the constants decide.
_EQUALITY = frozenset({"==", "!=", "is", "is not", "in", "not in"})


def _exact(expr: Expr, params: frozenset[str]) -> bool:
    """Is the test's truth, as a function of ``params``, decided by equality with its own
    constants alone (names, truthiness, ``not``/``and``/``or``, ``==``/``is``/``in``)? Then
    trying those constants, the truth values and one other value tries every case. Parts that
    read no parameter are whatever they are in every binding."""
    if expr.op in ("name", "const", "global", "unknown"):
        return True
    if expr.op in ("not", "and", "or", "tuple"):
        return all(_exact(a, params) for a in expr.args)
    if expr.op == "cmp" and all(op in _EQUALITY for op in expr.args[1]):
        if any(op in ("in", "not in") and free_names(right) & params
               for op, right in zip(expr.args[1], expr.args[2], strict=False)):
            return False  # ``"a" in task``: a substring test, not an equality
        return _exact(expr.args[0], params) and all(_exact(a, params) for a in expr.args[2])
    return not (free_names(expr) & params)


def _candidates(tests: Iterable[Expr]) -> tuple[Any, ...]:
    """The values the tests tell apart: their constants, the plain truth values, and one
    value equal to none of them."""
    seen: dict[tuple[type, Any], Any] = {(type(v), v): v for v in _PLAIN}
    for test in tests:
        for node in walk(test):
            if node.op == "const":
                value = node.args[0]
                seen.setdefault((type(value), value), value)
    return tuple(seen.values())


def existence_test(layer: LayerFact, attr: str) -> Condition | None:
    """The test under which ``<layer>.<attr>`` exists, when a constructor parameter decides
    it (``nn.Linear(a, b, bias)``: ``bias`` true; ``bias=not no_bias``: ``not no_bias``
    true); None when no parameter does."""
    kind = api.LAYERS.get(layer.cls)
    if kind is None:
        return None
    if kind.family in api.WEIGHT_LAYER_FAMILIES and attr == "bias":
        keyword, index = "bias", api.POSITIONAL_BIAS_INDEX.get(kind.family)
    elif kind.family == "norm" and kind.affine_param and attr in ("weight", "bias"):
        keyword, index = kind.affine_param, api.POSITIONAL_AFFINE_INDEX.get(layer.cls)
    else:
        return None
    slots = [keyword] + ([str(index)] if index is not None else [])
    for slot in slots:
        for key, param in layer.param_args:
            if key == slot:
                return Condition(Expr("name", (param,)), True)
        for key, expr in layer.arg_exprs:
            if key == slot:
                return Condition(expr, True)
    return None


def absent(test: Condition) -> Condition:
    """The test under which the parameter ``test`` says exists is None."""
    return Condition(test.test, not test.positive)
