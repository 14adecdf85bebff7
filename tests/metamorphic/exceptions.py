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
}
