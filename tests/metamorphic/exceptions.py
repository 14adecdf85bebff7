"""(fixture, transform) pairs whose findings change today, each with the reason.

Every pair here is a program proven equivalent to its fixture (test_equivalence.py builds
both), so each entry is a known initlint bug, not a test bug. The list is asserted exact by
test_invariance.py: a listed pair that becomes invariant fails too (delete its line), so the
list always says what is true. The lead's note on issue 9 quotes it.
"""

from __future__ import annotations

_CALL_IN_LOOP = ("`for m in self.modules(): self._init(m)` is not read as "
                 "`self.apply(self._init)`")
_APPLY_ONLY = ("INI201 lost: an uncalled method whose init is `self.apply(fn)` (the loop moved "
               "into `fn`) is not reported as never called, and neither is `fn`")
_METHOD_WRITE = ("the Tensor-method write form (`w.data.normal_(...)`, `with torch.no_grad(): "
                 "w.normal_(...)`) is not checked like the nn.init call it replaces")

EXCEPTIONS: dict[str, str] = {
    # --- where the init runs ------------------------------------------------------------
    "coverage/init_before_layers.py::apply_to_loop": _CALL_IN_LOOP + " (INI202 lost)",
    "reach/reaches_nothing.py::apply_to_loop": _CALL_IN_LOOP + " (INI208 lost)",
    "real_bugs/d2l_apply_ignores_argument_bug.py::apply_to_loop": (
        "`for m in net.modules(): init_normal(m)` at module level is not read as "
        "`net.apply(init_normal)` (INI208 lost)"),
    "real_bugs/see_in_dark_init_never_called_bug.py::loop_to_apply": _APPLY_ONLY,
    "real_bugs/see_in_dark_init_never_called_bug.py::loop_to_staticmethod": _APPLY_ONLY,
    # --- values ---------------------------------------------------------------------------
    "api_misuse/unguarded_bias.py::literal_to_init_default": (
        "`nn.Linear(d, d, p)` / `bias=p` / `elementwise_affine=p` with `p=False` an __init__ "
        "default: the layer is not known to lack its bias (INI005 lost)"),
    # --- write forms ----------------------------------------------------------------------
    "api_misuse/init_on_copy.py::init_to_data_method": _METHOD_WRITE
    + " (INI002: `torch.empty(3).data.zero_()` is the same discarded write)",
    "api_misuse/init_on_copy.py::init_to_nograd_method": _METHOD_WRITE + " (INI002)",
    "api_misuse/invalid_argument.py::init_to_data_method": _METHOD_WRITE
    + " (INI006: `w.data.normal_(0.0, -0.02)` has the same negative std)",
    "api_misuse/invalid_argument.py::init_to_nograd_method": _METHOD_WRITE + " (INI006)",
}
