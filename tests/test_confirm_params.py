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


# --- INI210 / INI107: packages, their clean twins, the numbers the docs quote -----------------

PACKAGES = {
    "INI210": (FIXTURES / "loads" / "segmenter", FIXTURES / "loads" / "segmenter_clean"),
    "INI107": (FIXTURES / "arguments" / "tinyvit", FIXTURES / "arguments" / "tinyvit_clean"),
}


def _package(path):
    return sorted(path.glob("*.py"))


@pytest.fixture(scope="module")
def measured():
    """code → (its findings on the bug package, measured; the same subjects measured on
    the clean twin's models), each package built once."""
    from initlint.core.findings import Finding, Severity, Span

    out = {}
    for code, (bug, clean) in PACKAGES.items():
        static = [f for f in lint_files(_package(bug)) if f.code == code]
        report = run_runtime([str(p) for p in _package(bug)], static, _config(),
                             RuntimeOptions())
        twin = [Finding(code, Severity.WARNING, str(clean / "models.py"), Span(1, 1, 1, 2),
                        "m", "w", subject=f.subject.replace(bug.name + ".", clean.name + ".", 1))
                for f in static]
        refuted = run_runtime([str(p) for p in _package(clean)], twin, _config(),
                              RuntimeOptions())
        out[code] = (report.findings, refuted.findings)
    return out


@pytest.mark.parametrize("code", sorted(PACKAGES))
def test_runtime_confirms_every_finding_on_its_package_and_refutes_the_clean_twin(
        code: str, measured):
    """Each finding on the package is confirmed with its measured line; the same subjects
    pointed at the clean twin's models are refuted (or, for a load the clean project never
    performs, nothing was loaded to measure)."""
    found, twin = measured[code]
    assert len(found) == {"INI210": 4, "INI107": 3}[code]
    assert {f.runtime.status for f in found} == {"confirmed"}, [f.runtime.summary for f in found]
    statuses = {f.subject: f.runtime.status for f in twin}
    assert "confirmed" not in statuses.values() and len(statuses) == len(found), statuses
    assert [s for s, status in statuses.items() if status == "not-run"] in (
        [], ["segmenter_clean.tuning.TunableEncoder::trunk"])


def test_init_after_load_evidence_names_the_loaded_tensors(measured):
    [found] = [f for f in measured["INI210"][0] if f.subject.endswith("DistilledStudent::body")]
    evidence = dict(found.runtime.evidence)
    # the walk re-draws the two convs; the BatchNorm layers it does not handle keep theirs
    assert (evidence["loaded"], evidence["changed"]) == (6, 2)
    assert "2 of 6 loaded tensors changed" in found.runtime.summary


def test_init_ignores_argument_evidence_gives_both_values(measured):
    by_name = {f.subject.split("::")[1]: dict(f.runtime.evidence)
               for f in measured["INI107"][0]}
    assert by_name["gamma@1e-05"]["value"] == 1.0 and by_name["gamma@1e-05"]["argument"] == 1e-5
    assert by_name["weight@offset"]["scale"] == 2.0
    assert by_name["logit_scale@2.659260036932778"]["value"] == 1.0


def test_the_init_after_load_doc_numbers_are_measured():
    """INI210.md: a trunk trained for 50 SGD steps, loaded, then re-drawn by the example's
    init: mean |Δ| 0.117 and 0.072 against mean |w| 0.097 and 0.029."""
    from conftest import REPO

    from initlint.checks.docs import code_block, doc_section

    doc = (REPO / "rules" / "INI210.md").read_text(encoding="utf-8")
    namespace: dict = {}
    exec(compile(code_block(doc_section(doc, "Example")), "INI210.md", "exec"), namespace)
    torch.manual_seed(0)
    source = namespace["Trunk"]()
    opt = torch.optim.SGD(source.parameters(), lr=0.1)
    for _ in range(50):
        x = torch.randn(16, 3, 8, 8)
        loss = (source(x).mean((2, 3))[:, 0] - x.mean((1, 2, 3))).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = {k: v.clone() for k, v in source.state_dict().items()}
    torch.manual_seed(1)
    built = namespace["Classifier"](state).trunk.state_dict()
    for name, size, delta in (("conv1.weight", 0.097, 0.117), ("conv2.weight", 0.029, 0.072)):
        assert float(state[name].abs().mean()) == pytest.approx(size, rel=0.05)
        assert float((built[name] - state[name]).abs().mean()) == pytest.approx(delta, rel=0.05)
        assert f"{delta}" in doc and f"{size}" in doc
    assert torch.equal(built["bn1.weight"], state["bn1.weight"])


def test_the_init_ignores_argument_doc_numbers_are_measured():
    """INI107.md: the 2-block ViT changes its input by 0.92 with γ = 1 and by 3.4e-6 with
    γ = 1e-5; the unit-offset norm outputs rms 2.0 instead of 1.0."""
    import importlib
    import sys

    from conftest import REPO

    doc = (REPO / "rules" / "INI107.md").read_text(encoding="utf-8")
    assert "by 3.4e-6" in doc and "by 0.92" in doc and "rms 2.0 instead of 1.0" in doc
    sys.path.insert(0, str(FIXTURES / "arguments"))
    try:
        for package, change in (("tinyvit", 0.92), ("tinyvit_clean", 3.4e-6)):
            models = importlib.import_module(f"{package}.models")
            layers = importlib.import_module(f"{package}.layers")
            torch.manual_seed(0)
            model = models.TinyViT()
            x = torch.randn(8, 16, 32)
            with torch.no_grad():
                rel = float((model(x) - x).pow(2).mean().sqrt() / x.pow(2).mean().sqrt())
                rms = float(layers.OffsetRMSNorm(32)(torch.randn(64, 32)).pow(2).mean().sqrt())
            assert rel == pytest.approx(change, rel=0.1)
            assert rms == pytest.approx(2.0 if package == "tinyvit" else 1.0, rel=1e-3)
    finally:
        sys.path.remove(str(FIXTURES / "arguments"))
