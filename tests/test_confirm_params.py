"""Runtime confirmation of INI007/INI105/INI208/INI209 on real torch (CPU): the fixtures
that the static rules report are built, and each finding is confirmed with the number the
rule's doc promises; the clean twins' numbers say the opposite."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from conftest import FIXTURES, lint_files  # noqa: E402

from initlint.runtime.confirm_params import (  # noqa: E402
    after_forward,
    measure_gates,
    measure_undone,
    param_report,
    tracing_inits,
)
from initlint.runtime.options import RuntimeOptions  # noqa: E402
from initlint.runtime.session import run_runtime  # noqa: E402

CASES = {
    "INI007": FIXTURES / "reach" / "uninitialized.py",
    "INI105": FIXTURES / "structure" / "fused_gates.py",
    "INI208": FIXTURES / "reach" / "reaches_nothing.py",
    "INI209": FIXTURES / "structure" / "reparametrized.py",
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("code", sorted(CASES))
def test_runtime_confirms_every_finding_on_its_fixture(code: str):
    path = CASES[code]
    static = [f for f in lint_files([path]) if f.code == code]
    assert static, f"{path.name} should trigger {code}"
    report = run_runtime([str(path)], static, _config(), RuntimeOptions())
    verdicts = {(f.span.row, f.runtime.status if f.runtime else None) for f in report.findings}
    assert {status for _, status in verdicts} == {"confirmed"}, verdicts


def _config():
    from conftest import ALL_SELECTED
    return ALL_SELECTED


class _Run:
    def __init__(self, params):
        self.params = params


def test_chunked_gates_are_orthogonal_and_the_stack_is_not():
    import torch.nn as nn

    torch.manual_seed(0)
    lstm = nn.LSTM(32, 32)
    nn.init.orthogonal_(lstm.weight_hh_l0)
    stacked = measure_gates(_Run(param_report(lstm, None)), ["weight_hh_l0"])
    for block in lstm.weight_hh_l0.data.chunk(4, 0):
        nn.init.orthogonal_(block)
    chunked = measure_gates(_Run(param_report(lstm, None)), ["weight_hh_l0"])
    assert stacked.status == "confirmed" and chunked.status == "not-confirmed"
    assert max(chunked.evidence[0][1][0]) < 1e-4 < 0.5 < min(stacked.evidence[0][1][0])


def test_init_before_the_wrap_is_kept():
    import torch.nn as nn
    from torch.nn.utils import weight_norm

    torch.manual_seed(0)
    linear = nn.Linear(64, 64)
    nn.init.normal_(linear.weight, 0.0, 0.01)
    model = nn.Sequential(weight_norm(linear))
    report = param_report(model, None)
    model(torch.randn(4, 64))
    verdict = measure_undone(_Run(after_forward(model, report)), ["0"])
    assert verdict.status == "not-confirmed", verdict.summary


def test_tracing_attributes_writes_to_the_user_function_not_to_torch_defaults():
    import torch.nn as nn

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)

    with tracing_inits() as trace:
        model = nn.Sequential(nn.Linear(4, 4), nn.Conv2d(1, 1, 1))
        model.apply(init_linear)
    report = dict(param_report(model, trace).writers)
    assert report == {"init_linear": (1, ("0.weight",))}
    assert nn.init.xavier_uniform_.__module__ == "torch.nn.init"  # patches are undone


def test_a_parameter_written_by_reset_parameters_is_not_confirmed():
    import math

    import torch.nn as nn

    from initlint.runtime.confirm_params import measure_uninitialized

    class Good(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(8, 8))
            self.scale = nn.Parameter(torch.empty(8))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            self.scale.data[:] = 1.0

    with tracing_inits() as trace:
        model = Good()
    verdict = measure_uninitialized(_Run(param_report(model, trace)), ["weight", "scale"])
    assert verdict.status == "not-confirmed", verdict.summary
    assert dict(verdict.evidence)["written"] == ["weight", "scale"]


def test_a_report_survives_a_json_round_trip_and_rejects_anything_else():
    import dataclasses
    import json

    import torch.nn as nn

    from initlint.runtime.confirm_params import ParamReport

    torch.manual_seed(0)
    with tracing_inits() as trace:
        model = nn.Sequential(nn.LSTM(8, 8), nn.utils.parametrizations.weight_norm(
            nn.Linear(8, 8)))
        nn.init.orthogonal_(model[0].weight_hh_l0)
    report = after_forward(model, param_report(model, trace))
    plain = json.loads(json.dumps(dataclasses.asdict(report)))
    assert ParamReport.from_plain(plain) == report
    for broken in ({"values": [["w", [0, 0, "1e9", 4, True]]]}, {"gates": [["w", "x"]]},
                   {"other": []}, [], {"writers": [["f", [1, [object.__name__, 3]]]]}):
        with pytest.raises(ValueError):
            ParamReport.from_plain(broken)
