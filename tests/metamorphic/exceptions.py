"""(fixture, transform) pairs whose findings change today, each with the reason.

Every pair here is a program proven equivalent to its fixture (test_equivalence.py builds
both), so each entry is a known initlint bug, not a test bug. The list is asserted exact by
test_invariance.py: a listed pair that becomes invariant fails too (delete its line), so the
list always says what is true. The lead's note on issue 9 quotes it.
"""

from __future__ import annotations

_CALL_IN_LOOP = ("INI208 does not read `for m in self.modules(): self._init(m)` as "
                 "`self.apply(self._init)`")

EXCEPTIONS: dict[str, str] = {
    # --- where the init runs ------------------------------------------------------------
    "reach/reaches_nothing.py::apply_to_loop": _CALL_IN_LOOP + " (Head._init is lost)",
    "real_bugs/d2l_apply_ignores_argument_bug.py::apply_to_loop": (
        "`for m in net.modules(): init_normal(m)` at module level is not read as "
        "`net.apply(init_normal)` (INI208 lost)"),
    # --- values passed through parameters -----------------------------------------------
    "real_bugs/sb3_ortho_init_bias_none_bug.py::literal_to_init_default": (
        "`nn.Linear(..., bias=mm_p0)` inside `nn.Sequential(...)` with `mm_p0=False` as the "
        "`__init__` default is not read as bias=False (INI005 lost); same gap as "
        "real_bugs/mmdet_fpn_xavier_bias_none (bias given by a name)"),
}
