"""(fixture, transform) pairs whose findings change today, each with the reason.

Every pair here is a program proven equivalent to its fixture (test_equivalence.py builds
both), so each entry is a known initlint bug, not a test bug. The list is asserted exact by
test_invariance.py: a listed pair that becomes invariant fails too (delete its line), so the
list always says what is true. The lead's note on issue 9 quotes it.
"""

from __future__ import annotations

EXCEPTIONS: dict[str, str] = {
    # (``for m in x.modules(): fn(m)`` is read as ``x.apply(fn)`` since project.PerModule:
    # apply_to_loop on reaches_nothing.py and on d2l_apply_ignores_argument_bug.py were that)
    # --- values passed through parameters -----------------------------------------------
    "real_bugs/sb3_ortho_init_bias_none_bug.py::literal_to_init_default": (
        "`nn.Linear(..., bias=mm_p0)` inside `nn.Sequential(...)` with `mm_p0=False` as the "
        "`__init__` default is not read as bias=False (INI005 lost); same gap as "
        "real_bugs/mmdet_fpn_xavier_bias_none (bias given by a name)"),
}
