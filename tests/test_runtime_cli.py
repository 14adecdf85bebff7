"""``initlint check --runtime`` end to end through the real CLI (click's runner, in process)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from conftest import FIXTURES  # noqa: E402

from initlint.cli.main import main  # noqa: E402
from initlint.core.config import Config  # noqa: E402
from initlint.runtime.options import (  # noqa: E402
    ModelSpec,
    RuntimeSetupError,
    TensorSpec,
    parse_model_option,
    runtime_options,
)

RUNTIME = FIXTURES / "runtime"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["check", *args], catch_exceptions=False)
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, ["check", *args], catch_exceptions=False)


def test_text_output_has_the_measured_line_and_the_table():
    result = run(str(RUNTIME / "deep_relu.py"), "--runtime")
    assert result.exit_code == 1
    out = result.stdout
    assert "= measured (confirmed): input-driven std " in out and "over 6 layers" in out
    assert "Runtime: deep_relu.DeepReLU: input (8, 64) float32 on cpu" in out
    header = next(line for line in out.splitlines() if line.startswith("  layer "))
    assert header.split() == ["layer", "type", "in", "std", "out", "std", "driven", "×ref",
                              "bias", "dead", "w/He", "w/xavier", "grad"]
    # every printed quantity is explained, one line each
    legend = out[out.index("Runtime columns"):out.index("Runtime: deep_relu")]
    for column in ("in std, out std", "driven", "×ref", "bias", "dead", "w/He, w/xavier",
                   "grad", "residual stream"):
        assert f"  {column} " in legend
    assert "reference: input-driven std" in out
    assert "act#5" in out  # the shared ReLU, one row per call
    assert "gradient ratio first/last weight layer" in out


def test_json_stays_a_list_with_runtime_per_finding_and_problems_on_stderr():
    result = run(str(RUNTIME / "deep_relu.py"), str(RUNTIME / "broken_models.py"),
                 "--runtime", "--output-format", "json", "--select", "ALL")
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    runtime = {item["code"]: item["runtime"] for item in data}
    assert runtime["INI101"]["status"] == "confirmed"
    assert runtime["INI101"]["evidence"]["layer_std"][0] > 0.5
    assert runtime["INI206"]["status"] == "not-run"
    err = result.stderr.splitlines()
    assert ("Runtime: skipped broken_models.RaisesInInit: constructor raised RuntimeError: "
            "checkpoint weights.pt not found") in err
    assert any(line.startswith("Runtime: broken_models.ProducesNaN: NaN/inf first appears")
               for line in err)
    assert "Traceback" not in result.output


def test_without_runtime_there_is_no_runtime_field_value():
    result = run(str(RUNTIME / "deep_relu.py"), "--output-format", "json")
    assert [item["runtime"] for item in json.loads(result.stdout)] == [None]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_missing_cuda_is_a_one_line_error():
    result = run(str(RUNTIME / "deep_relu.py"), "--runtime", "--device", "cuda")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("initlint: error: device `cuda` is not available")


def test_unknown_device_is_an_error():
    result = run(str(RUNTIME / "deep_relu.py"), "--runtime", "--device", "tpu")
    assert result.exit_code == 2
    assert "unknown device `tpu`" in result.stderr


def test_runtime_model_option_with_a_shape(monkeypatch):
    monkeypatch.chdir(RUNTIME)  # the working directory is on sys.path for factories
    result = run("clean_twins.py", "--runtime", "--runtime-model", "rtpkg.models:build_mlp@4x16")
    assert "Runtime: rtpkg.models:build_mlp: input (4, 16) float32" in result.stdout
    # default init, 6 deep: the runtime finds the collapse the linted files do not show
    assert result.exit_code == 1
    assert "INI101 [warning] measured: the signal collapses" in result.stdout


def test_runtime_model_from_the_config(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.initlint.runtime]
        seed = 1
        batch = 4
        [tool.initlint.runtime.models]
        "rtpkg.models:build_mlp" = {kwargs = {width = 32, init = "he"}, input = [4, 32]}
    """))
    (project / "rtpkg").symlink_to(RUNTIME / "rtpkg")
    result = run(str(project / "rtpkg" / "models.py"), "--runtime", "--config",
                 str(project / "pyproject.toml"))
    assert "Runtime: rtpkg.models:build_mlp: input (4, 32) float32" in result.stdout
    assert "Runtime: rtpkg.models.Tower: input (4, 32)" in result.stdout  # batch = 4


def test_the_runtime_settings_come_from_the_linted_paths_pyproject(tmp_path):
    """No --config, run from elsewhere: the pyproject.toml above the linted files is the one
    the static run uses, and its runtime settings and factories apply."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.initlint.runtime]
        only-named = true
        [tool.initlint.runtime.models]
        "rtpkg.models:build_mlp" = {kwargs = {width = 8, init = "he"}, input = [2, 8]}
    """))
    (project / "rtpkg").symlink_to(RUNTIME / "rtpkg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(str(project / "rtpkg" / "models.py"), "--runtime", cwd=elsewhere)
    assert "Runtime: rtpkg.models:build_mlp: input (2, 8) float32" in result.stdout
    assert "rtpkg.models.Tower" not in result.stdout  # only the named model


def test_runtime_only_named_flag_builds_only_the_named_factory(tmp_path):
    """--runtime-only-named does on the command line what `only-named = true` does in config."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.initlint]\n")
    (project / "rtpkg").symlink_to(RUNTIME / "rtpkg")
    result = run(str(project / "rtpkg" / "models.py"), "--runtime-only-named",
                 "--runtime-model", "rtpkg.models:build_mlp@2x16", cwd=project)
    assert "Runtime: rtpkg.models:build_mlp: input (2, 16) float32" in result.stdout
    assert "rtpkg.models.Tower" not in result.stdout


def test_bad_runtime_settings_exit_2(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.initlint.runtime]\nbatchsize = 3\n")
    result = run(str(RUNTIME / "deep_relu.py"), "--runtime", "--config", str(config))
    assert result.exit_code == 2
    assert "unknown key(s) in [tool.initlint.runtime]: batchsize" in result.stderr


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "std.png"
    result = run(str(RUNTIME / "deep_relu.py"), str(RUNTIME / "clean_twins.py"), "--runtime",
                 "--runtime-plot", str(target), "--exit-zero")
    assert result.exit_code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 10_000


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = run(str(RUNTIME / "deep_relu.py"), "--runtime", "--runtime-plot",
                 str(tmp_path / "x.png"))
    assert result.exit_code == 2
    assert "--runtime-plot needs matplotlib: pip install 'initlint[plot]'" in result.stderr
    assert not (tmp_path / "x.png").exists()


# --- settings parsing (no torch needed, but kept beside the CLI it serves) ----------------


def test_runtime_inputs_from_the_config():
    config = Config(runtime=(("timeout", 30), ("memory-gb", 2), ("only-named", True),
                             ("models", {
        "pkg.nlp:Encoder": {"inputs": {"input_ids": {"shape": [2, 16], "dtype": "long",
                                                     "high": 100},
                                       "attention_mask": [2, 16]}},
        "pkg.two:Siamese": {"inputs": [[2, 8], {"shape": [2, 8], "dtype": "half"}]}})))
    options = runtime_options(config)
    assert options.timeout == 30 and options.memory == 2e9 and options.only_named
    encoder, siamese = options.models
    assert encoder.tensors() == (("input_ids", TensorSpec((2, 16), "long", 100)),
                                 ("attention_mask", TensorSpec((2, 16))))
    assert siamese.tensors() == (("", TensorSpec((2, 8))), ("", TensorSpec((2, 8), "half")))


def test_runtime_options_merge_config_and_command_line():
    config = Config(runtime=(("device", "cpu"), ("batch", 4), ("seed", 7), ("models", {
        "pkg.mod:build": {"kwargs": {"depth": 3}, "input": [2, 8], "dtype": "float"}})))
    options = runtime_options(config, device="cuda:1", models=("pkg.other:make@2x3x8x8",))
    assert options.device == "cuda:1" and options.batch == 4 and options.seed == 7
    assert options.models == (ModelSpec("pkg.mod:build", (("depth", 3),), (2, 8), "float"),
                              ModelSpec("pkg.other:make", (), (2, 3, 8, 8)))


@pytest.mark.parametrize("runtime, message", [
    ({"device": "gpu"}, "unknown device `gpu`"),
    ({"batch": 1}, "`batch` must be an integer ≥ 2"),
    ({"models": {"nocolon": {}}}, "`nocolon` is not `package.module:factory`"),
    ({"models": {"a.b:c": {"input": [8, 0]}}}, "`input` must be a list of positive integers"),
    ({"models": {"a.b:c": {"shape": [8]}}}, "unknown key(s) in models.\"a.b:c\": shape"),
    ({"models": {"a.b:c": {"dtype": "int8"}}}, "dtype must be one of float, float32"),
    ({"models": {"a.b:c": {"inputs": 3}}}, "`inputs` must be a list of inputs"),
    ({"models": {"a.b:c": {"inputs": [{"shape": [2], "kind": 1}]}}}, "unknown key(s) in an "
                                                                       "input: kind"),
    ({"models": {"a.b:c": {"input": [2, 3], "inputs": [[2, 3]]}}}, "not both"),
    ({"only-named": True}, "none is named"),
    ({"timeout": 0}, "`timeout` must be a positive number"),
])
def test_runtime_settings_errors(runtime, message):
    with pytest.raises(RuntimeSetupError, match=None) as info:
        runtime_options(Config(runtime=tuple(runtime.items())))
    assert message in str(info.value)


def test_model_option_parsing():
    assert parse_model_option("a.b:c") == ModelSpec("a.b:c")
    assert parse_model_option("a.b:c@8,3,32,32").input == (8, 3, 32, 32)
    spec = parse_model_option("a.b:c(depth=50, act=relu, dims=(64, 128))@4x16:long")
    assert spec.kwargs == (("act", "relu"), ("depth", 50), ("dims", (64, 128)))
    assert spec.tensors() == (("", TensorSpec((4, 16), "long")),)
    spec = parse_model_option("a.b:c@input_ids=2x16:long+attention_mask=2x16:long")
    assert spec.inputs == (("input_ids", TensorSpec((2, 16), "long")),
                           ("attention_mask", TensorSpec((2, 16), "long")))
    assert parse_model_option("a.b:c@4x8+4x8:half").inputs == (
        ("", TensorSpec((4, 8))), ("", TensorSpec((4, 8), "half")))
    for bad in ("a.b:c(1)", "a.b:c(depth=", "a.b:c@4x8:int8", "a.b:c@x=4x0"):
        with pytest.raises(RuntimeSetupError):
            parse_model_option(bad)
    with pytest.raises(RuntimeSetupError):
        parse_model_option("a.b:c@8xx")
    with pytest.raises(RuntimeSetupError):
        parse_model_option("a.b")


def test_progress_goes_to_stderr_only_when_it_is_a_terminal():
    """One line per model on a TTY; nothing when stderr is a pipe (the other tests)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "initlint", "check", str(RUNTIME / "deep_relu.py"),
             str(RUNTIME / "residual_he.py"), "--runtime", "--output-format", "json"],
            stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    err = b"".join(chunks).decode()
    assert "initlint: runtime [1/5] deep_relu.DeepReLU" in err
    assert "initlint: runtime [5/5] residual_he.ResidualHeDynamic" in err
    assert json.loads(process.stdout)  # stdout stays clean JSON
    quiet = run(str(RUNTIME / "deep_relu.py"), "--runtime")
    assert "initlint: runtime [" not in quiet.stderr
