"""Runtime mode on real torch (CPU): build the fixture models, measure, confirm findings.

The fixtures under fixtures/runtime/ are small (width ≤ 64) so the whole module runs in
seconds; each is linted statically first, exactly as ``initlint --runtime`` does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import ALL_SELECTED, FIXTURES, lint_files  # noqa: E402

from initlint.core.config import Config  # noqa: E402
from initlint.core.findings import Finding, Severity, Span  # noqa: E402
from initlint.runtime.options import ModelSpec, RuntimeOptions  # noqa: E402
from initlint.runtime.session import run_runtime  # noqa: E402

RUNTIME = FIXTURES / "runtime"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run faster on one thread (and do not fight other tests for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def runtime(paths: list[Path], options: RuntimeOptions | None = None,
            config: Config = ALL_SELECTED, findings: list[Finding] | None = None):
    options = options or RuntimeOptions()
    files = [str(p) for p in paths]
    static = lint_files(paths, config) if findings is None else findings
    return run_runtime(files, static, config, options)


def by_code(report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def fake(code: str, path: Path, subject: str) -> Finding:
    """A static finding as the signal rules write it, pointed at any layers we like."""
    return Finding(code, Severity.WARNING, str(path), Span(1, 1, 1, 2), "m", "w",
                   subject=subject)


@pytest.fixture(scope="module")
def deep_relu():
    return runtime([RUNTIME / "deep_relu.py"])


@pytest.fixture(scope="module")
def clean_twins():
    return runtime([RUNTIME / "clean_twins.py"])


@pytest.fixture(scope="module")
def residual():
    return runtime([RUNTIME / "residual_he.py"])


@pytest.fixture(scope="module")
def broken():
    return runtime([RUNTIME / "broken_models.py"])


# --- confirmation ------------------------------------------------------------------------


def test_deep_relu_on_default_init_is_confirmed_with_numbers(deep_relu):
    [finding] = by_code(deep_relu, "INI101")
    assert finding.runtime is not None and finding.runtime.status == "confirmed"
    evidence = dict(finding.runtime.evidence)
    stds = evidence["layer_std"]
    assert len(stds) == 6 and stds[-1] < stds[0] / 4  # ×0.41 per layer, rescued by the bias
    assert evidence["per_layer"] < 0.8
    assert evidence["signal_fraction_end"] < 0.1  # the output no longer depends on the input
    assert set(evidence["broken"]) >= {"std", "signal"}
    # the measure the static why uses: the input-driven std, ÷2.45 per layer in theory
    assert finding.runtime.summary.startswith("input-driven std ")
    assert "over 6 layers (÷" in finding.runtime.summary
    assert "the bias holds the raw std at" in finding.runtime.summary
    driven = evidence["driven_std"]
    assert driven[-1] / driven[0] < (1 / 2.0) ** 5  # far below the raw std's ratio
    assert 1 / evidence["per_layer"] == pytest.approx(2.45, rel=0.25)


def test_deep_relu_table_numbers(deep_relu):
    [run] = deep_relu.models
    assert run.input_shape == (8, 64) and run.input_dtype == "float32"
    fc1 = next(layer for layer in run.leaves if layer.path == "fc1")
    # PyTorch's default: std 1/√(3·fan_in) = 0.41 × He's √(2/fan_in)
    assert fc1.weight_std / fc1.he_std == pytest.approx(1 / 6**0.5, rel=0.1)
    relus = [layer for layer in run.leaves if layer.type == "ReLU"]
    assert len(relus) == 5 and relus[-1].dead > relus[0].dead  # one module, five calls
    assert all(w.grad_norm is not None for w in run.weight_layers())


def test_clean_twins_report_nothing(clean_twins):
    assert clean_twins.findings == []
    labels = {run.label.rsplit(".", 1)[-1] for run in clean_twins.models}
    # NormBlock is measured inside ResidualWithNorm, not on its own
    assert labels == {"DeepReLUBatchNorm", "DeepGELULayerNorm", "DeepReLUHe", "DeepTanhXavier",
                      "ResidualWithNorm"}
    assert clean_twins.skipped == []


LINEAR6 = ",".join(f"fc{i}" for i in range(1, 7))
NET_LINEARS = ",".join(f"net.{i}" for i in range(0, 30, 2))


@pytest.mark.parametrize("cls, paths", [
    ("DeepReLUBatchNorm", LINEAR6),
    ("DeepGELULayerNorm", "net.0,net.3,net.6,net.9,net.12,net.15,net.18,net.21"),
    ("DeepReLUHe", "net.0,net.2,net.4,net.6,net.8,net.10,net.12,net.14,net.16,net.18"),
    ("DeepTanhXavier", "net.0,net.2,net.4,net.6,net.8,net.10,net.12,net.14,net.16,net.18"),
])
def test_collapse_is_not_confirmed_on_clean_twins(cls, paths):
    """Point an INI101 at each healthy chain: the numbers must refute it."""
    finding = fake("INI101", RUNTIME / "clean_twins.py", f"clean_twins.{cls}::{paths}")
    report = runtime([RUNTIME / "clean_twins.py"], findings=[finding])
    [measured] = report.findings
    assert measured.runtime.status == "not-confirmed", measured.runtime.summary
    assert dict(measured.runtime.evidence)["broken"] == []


def test_residual_he_without_norm_is_confirmed(residual):
    [static] = [f for f in by_code(residual, "INI104") if "ResidualHe::" in f.subject]
    assert static.runtime.status == "confirmed"
    evidence = dict(static.runtime.evidence)
    assert evidence["blocks"] == 10 and evidence["growth"] > 16
    assert evidence["block_std"] == sorted(evidence["block_std"])  # grows block after block


def test_residual_explosion_the_static_analysis_missed_is_discovered(residual):
    [found] = [f for f in by_code(residual, "INI104") if "ResidualHeDynamic" in f.subject]
    assert found.runtime.status == "confirmed"
    assert found.message.startswith("measured: the residual stream of `ResidualHeDynamic` "
                                    "grows ×")
    assert "over 10 blocks (blocks.0 → blocks.9" in found.message
    evidence = dict(found.runtime.evidence)
    # x + fc2(relu(fc1(x))), both He: Var ×(1 + 2) per block, std ×√3
    assert evidence["per_block"] == pytest.approx(3**0.5, rel=0.15)
    assert evidence["init"] == "He (kaiming, gain √2)"  # the branch's last layer, read back
    assert "Zero-initialize the last layer of each block's branch (`fc2`)" in found.why
    assert found.span.row == 40  # class ResidualHeDynamic
    assert found.path == str(RUNTIME / "residual_he.py")


def test_residual_with_norm_refutes_an_ini104():
    finding = fake("INI104", RUNTIME / "clean_twins.py", "clean_twins.ResidualWithNorm::blocks.*")
    [measured] = runtime([RUNTIME / "clean_twins.py"], findings=[finding]).findings
    assert measured.runtime.status == "not-confirmed"
    assert dict(measured.runtime.evidence)["blocks"] == 10


def test_chain_collapse_the_static_analysis_missed_is_discovered():
    """rtpkg.models.Tower adds its stages with add_module: statically invisible."""
    files = sorted((RUNTIME / "rtpkg").glob("*.py"))
    report = runtime(files)
    [found] = report.findings
    assert found.code == "INI101" and found.runtime.status == "confirmed"
    assert found.subject.startswith("rtpkg.models.Tower::stage0.fc,")
    assert "collapses" in found.message


def test_a_discovered_finding_obeys_noqa_and_the_selection(tmp_path):
    source = (RUNTIME / "rtpkg" / "models.py").read_text()
    package = tmp_path / "rtpkg_noqa"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text((RUNTIME / "rtpkg" / "layers.py").read_text())
    (package / "models.py").write_text(source.replace("class Tower(nn.Module):",
                                                      "class Tower(nn.Module):  # noqa: INI101"))
    files = sorted(package.glob("*.py"))
    assert runtime(files).findings == []
    plain = sorted((RUNTIME / "rtpkg").glob("*.py"))
    assert runtime(plain, config=Config(ignore=("INI1",))).findings == []


def test_evidence_is_valid_json(tmp_path):
    """A zero-initialized layer with a default bias: the bias/signal ratio is infinite."""
    import json

    from initlint.report.json_format import render

    path = tmp_path / "zero_head_model.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class ZeroHead(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)
                self.head = nn.Linear(8, 2)
                nn.init.zeros_(self.head.weight)

            def forward(self, x):
                return self.head(self.fc(x).relu())
    """))
    report = runtime([path])
    [finding] = by_code(report, "INI206")
    assert finding.runtime.status == "confirmed"
    assert "the output is the bias alone" in finding.runtime.summary
    data = json.loads(render(report.findings, {}), parse_constant=lambda name: 1 / 0)
    assert data[0]["runtime"]["evidence"]["ratio"] == "inf"


# --- models that cannot be measured ------------------------------------------------------


def test_broken_models_are_skipped_with_one_line_reasons(broken):
    reasons = {s.label.rsplit(".", 1)[-1]: s.reason for s in broken.skipped}
    assert reasons["RaisesInInit"] == ("constructor raised RuntimeError: checkpoint weights.pt "
                                       "not found")
    assert reasons["NeedsArguments"].startswith("needs arguments (width, depth)")
    assert all("\n" not in r for r in reasons.values())
    assert len(broken.skipped) == 2  # once each


def test_a_model_whose_forward_fails_still_has_its_weights_measured(broken):
    """No forward pass: the weight rules (INI202–INI207) still get their numbers."""
    [run] = [r for r in broken.models if r.label.endswith("ForwardFails")]
    assert not run.ran and run.uncalled
    assert "ValueError: this model only runs inside its trainer" in run.note
    assert "\n" not in run.note


def test_nan_model_gets_a_clear_message_and_others_still_run(broken):
    runs = {run.label.rsplit(".", 1)[-1]: run for run in broken.models}
    assert set(runs) == {"ProducesNaN", "StillMeasured", "ForwardFails"}
    nan = runs["ProducesNaN"]
    assert nan.nonfinite.startswith("NaN/inf first appears at `fc2` (Linear)")
    assert "fc2.weight" in nan.nonfinite
    assert not runs["StillMeasured"].nonfinite and runs["StillMeasured"].grad_ratio()
    [finding] = by_code(broken, "INI206")
    assert finding.runtime.status == "not-run" and "not finite" in finding.runtime.summary


def test_finding_on_a_class_that_was_not_built_is_not_run(broken):
    finding = fake("INI101", RUNTIME / "broken_models.py",
                   "broken_models.NeedsArguments::fc")
    [measured] = runtime([RUNTIME / "broken_models.py"], findings=[finding]).findings
    assert measured.runtime.status == "not-run"
    assert "needs arguments (width, depth)" in measured.runtime.summary


def test_user_prints_are_captured_never_on_our_output(tmp_path, capfd):
    path = tmp_path / "chatty_model.py"
    path.write_text(textwrap.dedent("""
        import os
        import torch.nn as nn

        print("hello from import")

        class Chatty(nn.Module):
            def __init__(self):
                super().__init__()
                print("hello from __init__")
                self.fc = nn.Linear(4, 4)

            def forward(self, x):
                print("hello from forward")
                os.write(1, b"raw fd 1 write\\n")
                return self.fc(x)
    """))
    report = runtime([path])
    out, err = capfd.readouterr()
    assert "hello" not in out and "hello" not in err and "raw fd" not in out
    [run] = report.models
    assert run.label == "chatty_model.Chatty"
    assert "hello from __init__" in run.output and "hello from forward" in run.output
    assert "raw fd 1 write" in run.output


def test_a_file_that_fails_to_import_is_skipped(tmp_path):
    path = tmp_path / "bad_import_model.py"
    path.write_text("import torch.nn as nn\nimport no_such_module_xyz\n\n"
                    "class M(nn.Module):\n    def forward(self, x):\n        return x\n")
    report = runtime([path])
    [skipped] = report.skipped
    assert "importing it failed: ModuleNotFoundError" in skipped.reason


# --- inputs ------------------------------------------------------------------------------


def test_input_synthesis_from_the_first_layer():
    report = runtime([RUNTIME / "input_shapes.py"])
    shapes = {run.label.rsplit(".", 1)[-1]: (run.input_shape, run.input_dtype)
              for run in report.models}
    assert shapes == {
        "TokenModel": ((8, 16), "int64"),  # Embedding → token ids
        "SmallConvNet": ((8, 3, 32, 32), "float32"),  # Conv2d → (B, C, H, W)
        "FixedSizeConvNet": ((8, 1, 64, 64), "float32"),  # 32×32 fails, retried larger
        "SequenceModel": ((8, 16, 12), "float32"),  # GRU, batch_first
        "AudioModel": ((8, 2, 64), "float32"),  # Conv1d → (B, C, L)
    }
    assert report.skipped == [] and report.findings == []


def test_meta_guesses_for_large_models(monkeypatch):
    """Without a meta copy (a constructor that cannot run on meta), above META_ABOVE
    parameters the shape search runs on meta through functional_call: the real weights are
    untouched by the trials and the chosen shape is the same. (In this process, so the
    thresholds can be lowered.)"""
    from initlint.runtime import build, inputs

    monkeypatch.setattr(inputs, "META_ABOVE", 0)
    monkeypatch.setattr(build, "meta_copy", lambda candidate: None)
    report = runtime([RUNTIME / "input_shapes.py"], RuntimeOptions(isolate=False))
    shapes = {run.label.rsplit(".", 1)[-1]: run.input_shape for run in report.models}
    assert shapes["FixedSizeConvNet"] == (8, 1, 64, 64)
    assert shapes["TokenModel"] == (8, 16)
    assert all(run.ran for run in report.models)


def test_an_input_too_big_for_memory_gets_a_smaller_batch_or_a_skip():
    """A guess that broadcasts (a ViT's position grid) can ask for hundreds of GB: the
    estimate on meta catches it before anything is allocated."""
    import importlib.util

    from initlint.runtime import inputs

    spec = importlib.util.spec_from_file_location("shapes_for_memory",
                                                  RUNTIME / "input_shapes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.SmallConvNet()
    big = inputs.estimate_bytes(model, inputs.Feed((inputs.InputPlan((8, 3, 32, 32)),)))
    small = inputs.estimate_bytes(model, inputs.Feed((inputs.InputPlan((2, 3, 32, 32)),)))
    assert small < big
    report = runtime([RUNTIME / "input_shapes.py"], RuntimeOptions(memory=(small + big) / 2))
    shapes = {run.label.rsplit(".", 1)[-1]: run.input_shape for run in report.models}
    assert shapes["SmallConvNet"][0] == 2
    report = runtime([RUNTIME / "input_shapes.py"], RuntimeOptions(memory=1.0))
    assert not [run for run in report.models if run.ran]
    assert all("would need" in s.reason for s in report.skipped)
    assert all("GB of activations" in run.note for run in report.models)


# --- factories and settings --------------------------------------------------------------


def test_factories_from_settings_with_kwargs_and_input():
    options = RuntimeOptions(root=str(RUNTIME), models=(
        ModelSpec("rtpkg.models:build_mlp", (("init", "he"),)),
        ModelSpec("rtpkg.models:build_broken"),
        ModelSpec("rtpkg.nowhere:build"),
    ))
    report = run_runtime([], [], ALL_SELECTED, options)
    reasons = {s.label: s.reason for s in report.skipped}
    assert reasons == {"rtpkg.models:build_broken": "constructor raised OSError: no such "
                                                    "checkpoint",
                       "rtpkg.nowhere:build": "cannot import `rtpkg.nowhere`: "
                                              "ModuleNotFoundError: No module named "
                                              "'rtpkg.nowhere'"}
    [run] = report.models
    assert run.label == "rtpkg.models:build_mlp" and run.input_shape == (8, 16)
    assert report.findings == []  # He init: nothing collapses


def test_two_factories_of_one_class_both_run():
    options = RuntimeOptions(root=str(RUNTIME), models=(
        ModelSpec("rtpkg.models:build_mlp"), ModelSpec("rtpkg.models:build_mlp_he")))
    report = run_runtime([], [], ALL_SELECTED, options)
    assert [run.label for run in report.models] == ["rtpkg.models:build_mlp",
                                                    "rtpkg.models:build_mlp_he"]
    [found] = report.findings  # only the default-init one collapses
    assert found.subject.startswith("torch.nn.modules.container.Sequential::0,2,4")


def test_factory_shape_from_settings_wins():
    options = RuntimeOptions(root=str(RUNTIME), models=(
        ModelSpec("rtpkg.models:build_mlp", (("depth", 8),), (4, 3, 16)),))
    report = run_runtime([], [], ALL_SELECTED, options)
    [run] = report.models
    assert run.input_shape == (4, 3, 16)
    [found] = report.findings  # default init, 8 deep: the runtime sees the collapse
    assert found.code == "INI101" and found.path.endswith("models.py")


def test_the_seed_makes_runs_repeatable():
    first = runtime([RUNTIME / "deep_relu.py"]).models[0]
    second = runtime([RUNTIME / "deep_relu.py"]).models[0]
    other = runtime([RUNTIME / "deep_relu.py"], RuntimeOptions(seed=3)).models[0]
    assert first.layers == second.layers
    assert first.layers != other.layers


def test_static_mode_never_imports_torch():
    code = ("import sys, initlint.cli.main, initlint.runtime, initlint.runtime.table; "
            "from initlint.cli.main import main; "
            "sys.argv = ['initlint', '--exit-zero', 'fixtures/runtime/deep_relu.py']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "assert 'numpy' not in sys.modules, 'numpy imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=FIXTURES.parent, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_measures_like_cpu():
    cpu = runtime([RUNTIME / "deep_relu.py"]).findings[0]
    gpu = runtime([RUNTIME / "deep_relu.py"], RuntimeOptions(device="cuda")).findings[0]
    assert gpu.runtime.status == cpu.runtime.status == "confirmed"
    assert dict(gpu.runtime.evidence)["layer_std"] == pytest.approx(
        dict(cpu.runtime.evidence)["layer_std"], rel=1e-3)


# --- end to end on the signal rules' own fixtures ----------------------------------------

SIGNAL_FIXTURES = sorted((FIXTURES / "signal").glob("*.py"))
SIGNAL_CODES = ("INI101", "INI102", "INI103", "INI104")


@pytest.mark.parametrize("path", SIGNAL_FIXTURES, ids=[p.name for p in SIGNAL_FIXTURES])
def test_every_signal_finding_on_the_rule_fixtures_is_confirmed(path):
    """What the static rules flag, the numbers confirm; on their clean cases the runtime
    adds nothing (no discovered finding)."""
    from test_fixtures import parse_header

    config, _ = parse_header(path.read_text(encoding="utf-8"))
    report = runtime([path], config=config)
    signal = [f for f in report.findings if f.code in SIGNAL_CODES]
    for finding in signal:
        assert finding.runtime is not None, finding.subject
        assert finding.runtime.status == "confirmed", (finding.subject,
                                                       finding.runtime.summary)
    # TimmInitMLP (built only where timm is installed) draws 4 Linear+GELU layers at std
    # 0.02: statically unknown (timm's helper), measured it truly collapses (÷12 per layer)
    assert not [f.subject for f in report.findings if f.message.startswith("measured:")
                and not f.subject.startswith("deep_stack_clean.TimmInitMLP::")]


COVERAGE_FIXTURES = sorted((FIXTURES / "coverage").glob("*.py"))


@pytest.mark.parametrize("path", COVERAGE_FIXTURES, ids=[p.name for p in COVERAGE_FIXTURES])
def test_coverage_warnings_on_the_rule_fixtures_are_confirmed_from_the_weights(path):
    """These fixtures have no forward(): the built weights alone confirm a layer left on the
    default (INI202), a γ re-drawn (INI204), a padding row drawn (INI205), a loud default
    bias (INI206 warnings)."""
    from test_fixtures import parse_header

    config, _ = parse_header(path.read_text(encoding="utf-8"))
    report = runtime([path], config=config)
    for finding in report.findings:
        if finding.code in ("INI202", "INI204", "INI205") or (
                finding.code == "INI206" and finding.severity == Severity.WARNING):
            assert finding.runtime is not None and finding.runtime.status in (
                "confirmed", "not-run"), (finding.subject, finding.runtime)
            if "?" not in finding.subject and "was not built" not in finding.runtime.summary:
                assert finding.runtime.status == "confirmed", finding.runtime.summary


# --- issue 12: reference, stream, real projects --------------------------------------------


def test_healthy_architectures_get_no_runtime_finding():
    """GAP over noise is no collapse; a Linear after LayerNorm in a GPT with 0.02 embeddings
    is no growth; a post-LN encoder's stream stays flat."""
    report = runtime([RUNTIME / "clean_architectures.py"])
    assert report.findings == []
    runs = {run.label.rsplit(".", 1)[-1]: run for run in report.models}
    assert set(runs) == {"HeCNN", "TinyGPT", "TinyBERT"}
    assert runs["HeCNN"].streams == ()  # plain blocks of Sequential: no residual stream
    assert runs["TinyGPT"].streams == (tuple(f"blocks.{i}" for i in range(6)),)
    # the reference is the first block's input, never the embedding lookup's raw std
    assert runs["TinyGPT"].reference_at == "input of `blocks.0`"
    assert runs["TinyBERT"].reference_at == "input of `layers.0`"
    assert runs["TinyBERT"].reference_std == pytest.approx(1.0, rel=0.15)  # after embed_ln


def test_the_stream_of_unscaled_he_blocks_compounds_and_a_pre_ln_one_does_not(residual):
    from initlint.runtime.stream import points
    from initlint.runtime.unseen import compounding

    he = next(run for run in residual.models if run.label.endswith("ResidualHeDynamic"))
    gpt = next(run for run in runtime([RUNTIME / "clean_architectures.py"]).models
               if run.label.endswith("TinyGPT"))
    he_stream, gpt_stream = (points(r.layers, r.streams[0]) for r in (he, gpt))
    assert compounding(he_stream) > 1.5
    assert compounding(gpt_stream) < 1.3
    # the table shows the stream
    from initlint.runtime.table import model_table

    assert "residual stream: 6 blocks (blocks.0 … blocks.5)" in model_table(gpt)


def test_weight_rules_are_confirmed_without_any_forward(tmp_path):
    """forward() needs two inputs nobody named: no forward pass, yet the padding row drawn
    by the model's init (INI205) is confirmed from the built weights."""
    path = tmp_path / "two_input_model.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Pair(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(100, 16, padding_idx=0)
                self.fc = nn.Linear(32, 2)
                nn.init.normal_(self.embed.weight)

            def forward(self, left, right):
                return self.fc(self.embed(left).mean(1) * self.embed(right).mean(1))
    """))
    report = runtime([path])
    [finding] = by_code(report, "INI205")
    assert finding.runtime.status == "confirmed", finding.runtime.summary
    [run] = report.models
    assert not run.ran and "forward() needs 2 inputs (left, right)" in run.note


def test_two_inputs_named_in_the_settings_run_the_forward(tmp_path):
    path = tmp_path / "pairmod.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Pair(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(100, 16)
                self.fc = nn.Linear(16, 2)

            def forward(self, left, right, scale=None):
                return self.fc(self.embed(left).mean(1) + self.embed(right).mean(1)) * scale
    """))
    from initlint.runtime.options import TensorSpec

    spec = ModelSpec("pairmod:Pair", inputs=(("", TensorSpec((4, 5), "long")),
                                             ("", TensorSpec((4, 7), "long")),
                                             ("scale", TensorSpec((4, 1), "half"))))
    report = run_runtime([], [], ALL_SELECTED,
                         RuntimeOptions(root=str(tmp_path), models=(spec,), only_named=True))
    [run] = report.models
    assert run.ran and run.inputs == "(4, 5) token ids, (4, 7) token ids, scale=(4, 1) float16"


def test_only_named_models_are_built():
    options = RuntimeOptions(root=str(RUNTIME), only_named=True,
                             models=(ModelSpec("rtpkg.models:build_mlp_he"),))
    report = runtime([RUNTIME / "deep_relu.py"], options)
    assert [run.label for run in report.models] == ["rtpkg.models:build_mlp_he"]
    # the static finding on the class that was not built says why
    [finding] = by_code(report, "INI101")
    assert finding.runtime.status == "not-run"


def test_the_project_never_shadows_installed_packages(tmp_path):
    """A `yaml.py` in the project (and the working directory first on sys.path, as
    `python -m` puts it) must not replace the installed yaml the model imports."""
    pytest.importorskip("yaml")
    (tmp_path / "yaml.py").write_text("raise ImportError('the project shadowed yaml')\n")
    (tmp_path / "uses_yaml.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        import yaml

        class UsesYaml(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.dump = yaml.safe_dump

            def forward(self, x):
                return self.fc(x)
    """))
    result = subprocess.run([sys.executable, "-m", "initlint", "check", "uses_yaml.py",
                             "--runtime", "--exit-zero", "--no-cache"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert "Runtime: uses_yaml.UsesYaml: input (8, 4) float32" in result.stdout, \
        result.stdout + result.stderr
    assert "shadowed" not in result.stdout + result.stderr


def test_an_imagenet_style_net_gets_images_large_enough_for_its_last_stage(tmp_path):
    """Five stride-2 stages with BatchNorm: at 32² the last one normalizes 1×1 maps (over
    the batch alone); the input grows until the last maps are ≥ 4×4 (128²)."""
    path = tmp_path / "five_stages.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class FiveStages(nn.Module):
            def __init__(self):
                super().__init__()
                layers, channels = [], 3
                for _ in range(5):
                    layers += [nn.Conv2d(channels, 4, 3, stride=2, padding=1),
                               nn.BatchNorm2d(4), nn.ReLU()]
                    channels = 4
                self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
                self.head = nn.Linear(4, 10)

            def forward(self, x):
                return self.head(self.body(x))
    """))
    [run] = runtime([path]).models
    assert run.input_shape == (8, 3, 128, 128)


def test_plot_marks_findings_on_the_layers_they_name(deep_relu):
    from initlint.runtime.plot import marks_for

    [run] = deep_relu.models
    marks = marks_for(run, deep_relu.findings)
    assert marks == {f"fc{i}": ["INI101"] for i in range(1, 7)}


def test_names_from_the_model_cannot_drive_the_terminal(tmp_path):
    """A module registered under an escape sequence prints as a visible stand-in."""
    from initlint.runtime.table import render_report

    path = tmp_path / "escapes_model.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Escapes(nn.Module):
            def __init__(self):
                super().__init__()
                self.add_module("\\x1b]52;c;aGk=\\x07x", nn.Linear(4, 4))

            def forward(self, x):
                return getattr(self, "\\x1b]52;c;aGk=\\x07x")(x)
    """))
    report = runtime([path])
    text = render_report(report)
    assert "\x1b" not in text and "\x07" not in text
    assert "␛]52;c;aGk=␇x" in text
