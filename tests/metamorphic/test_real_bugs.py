"""Real, fixed weight-initialization bugs from public PyTorch projects (fixtures/real_bugs/).

Each ``<name>_bug.py`` is a faithful single-file reduction of the buggy code, citing the
project and the issue/PR in its docstring, with the code initlint should report in a
``# real-bug: expect=INI205`` header; ``<name>_fixed.py`` is the same code after the
project's fix. The test asserts the expected finding on every buggy file and no warning or
error on every fixed one (info findings are allowed). Bugs initlint does not catch yet are
``xfail(strict=True)`` with the reason, so they fail loudly once caught: then delete their
line here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import ALL_SELECTED, FIXTURES, lint_files  # noqa: E402

from initlint.core.findings import Severity  # noqa: E402

REAL_BUGS = FIXTURES / "real_bugs"
EXPECT = re.compile(r"^#\s*real-bug:\s*expect=(?P<codes>INI\d{3}(?:,INI\d{3})*)\s*$", re.M)

#: bug name -> why initlint misses it today (strict xfail: remove the line once caught).
MISSED: dict[str, str] = {
    "fastai2_norm_affine_false": (
        "INI005: the layer is built by `getattr(nn, f\"{prefix}{ndim}d\")(nf, **kwargs)` "
        "with affine=False passed through **kwargs from the caller"),
    "allennlp_uniform_unit_scaling_inplace": (
        "INI003: the helper that draws in place on the tensor it is handed is reached only "
        "through a registry dict of wrapper classes and InitializerApplicator's regex loop "
        "over named_parameters() calling an object; `f(self.proj.weight)` called directly "
        "is caught"),
    "mmdet_fpn_xavier_bias_none": (
        "INI005: `bias=self.with_bias` (set from `normalize is None`, normalize given to "
        "`FPN(...)`) is not resolved; even `with_bias = False; nn.Conv2d(..., bias=with_bias)` "
        "is missed, only a literal `bias=False` is read"),
    "torchvision_zero_init_residual_instancenorm": (
        "INI005: `m.bn2.weight` written through an `isinstance(m, BasicBlock)` dispatch "
        "(attribute chain into the block) is not read, and `norm_layer=nn.InstanceNorm2d` "
        "passed to `ResNet(...)`/`Block(...)` is not bound into `self.bn2 = norm_layer(planes)`"),
}

#: bug name -> why initlint reports a warning/error on the fixed version today.
FALSE_ALARMS: dict[str, str] = {
}

BUGS = sorted(p.name.removesuffix("_bug.py") for p in REAL_BUGS.glob("*_bug.py"))


def expected_codes(path: Path) -> set[str]:
    match = EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name}: no '# real-bug: expect=INI...' header"
    return set(match.group("codes").split(","))


def _mark(name: str, table: dict[str, str]) -> list:
    return [pytest.mark.xfail(strict=True, reason=table[name])] if name in table else []


def test_each_bug_has_a_fixed_version_and_a_source():
    assert len(BUGS) >= 12
    for name in BUGS:
        bug = REAL_BUGS / f"{name}_bug.py"
        assert (REAL_BUGS / f"{name}_fixed.py").is_file(), name
        assert "https://github.com/" in bug.read_text(encoding="utf-8"), f"{name}: cite the source"
    assert set(MISSED) <= set(BUGS) and set(FALSE_ALARMS) <= set(BUGS)


@pytest.mark.parametrize("name", [pytest.param(n, marks=_mark(n, MISSED)) for n in BUGS])
def test_bug_is_reported(name: str):
    path = REAL_BUGS / f"{name}_bug.py"
    want = expected_codes(path)
    found = {f.code for f in lint_files([path], ALL_SELECTED)}
    assert want <= found, f"{name}: expected {sorted(want)}, found {sorted(found)}"


@pytest.mark.parametrize("name", [pytest.param(n, marks=_mark(n, FALSE_ALARMS)) for n in BUGS])
def test_fixed_version_is_quiet(name: str):
    path = REAL_BUGS / f"{name}_fixed.py"
    loud = [f for f in lint_files([path], ALL_SELECTED) if f.severity is not Severity.INFO]
    assert not loud, "\n".join(f"{f.span.row}: {f.code} {f.message}" for f in loud)
