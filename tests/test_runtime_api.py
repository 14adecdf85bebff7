"""``initlint.inspect(model, example_inputs)``: the notebook API, on real torch (CPU).

The README's example is executed here as written.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from conftest import REPO  # noqa: E402

import initlint  # noqa: E402


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### In a notebook or a training script"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_and_finds_the_collapse(capsys):
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    report = namespace["report"]
    [finding] = report.findings
    assert finding.code == "INI101" and finding.runtime.status == "confirmed"
    assert finding.runtime.summary.startswith("input-driven std ")
    evidence = dict(finding.runtime.evidence)
    assert 1 / evidence["per_layer"] == pytest.approx(2.45, rel=0.2)  # default init + ReLU
    assert evidence["activation"] == "relu"  # torch.relu: told from what the layers read
    out = capsys.readouterr().out
    assert "Runtime: MLP: input (16, 64) float32 on cpu" in out
    assert "INI101 input-driven std" in out
    assert "<table>" in report._repr_html_()


class Tagged(nn.Module):
    """Keyword inputs, a submodule whose name would be markup, BatchNorm (mode matters)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.add_module("<b>x</b>", nn.Linear(16, 16))
        self.norm = nn.BatchNorm1d(16)

    def forward(self, input_ids, mask=None):
        h = self.embed(input_ids).mean(1)
        h = getattr(self, "<b>x</b>")(h)
        return self.norm(h) * (1 if mask is None else mask.float().mean())


def test_dict_inputs_and_the_model_is_put_back_as_it_was():
    model = Tagged().eval()
    model.embed.weight.grad = torch.ones_like(model.embed.weight)
    inputs = {"input_ids": torch.randint(0, 50, (4, 7)), "mask": torch.ones(4, 7)}
    before = torch.random.get_rng_state()
    running = model.norm.running_mean.clone()
    report = initlint.inspect(model, inputs)
    assert not model.training
    assert torch.equal(model.embed.weight.grad, torch.ones_like(model.embed.weight))
    assert getattr(model, "<b>x</b>").weight.grad is None
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(model.norm.running_mean, running)  # buffers restored too
    assert report.run.inputs == "input_ids=(4, 7) token ids, mask=(4, 7) float32"
    assert [layer.path for layer in report.layers] == ["embed", "<b>x</b>", "norm"]
    html = report._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_inputs_synthesized_when_none_are_given():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, padding=1))
    report = initlint.inspect(model)
    assert report.run.input_shape == (8, 3, 32, 32)
    assert report.findings == ()


class DeadAfterFour(nn.Module):
    """Eight Linear+relu layers; a bias of -100 kills every unit of the fourth, so what
    reaches the end is the bias alone: an input-driven std of exactly 0."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(32, 32) for _ in range(8))
        with torch.no_grad():
            self.layers[3].bias.fill_(-100.0)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


def test_a_signal_that_dies_to_zero_is_a_discovered_collapse():
    torch.manual_seed(0)
    report = initlint.inspect(DeadAfterFour(), torch.randn(16, 32))  # was ZeroDivisionError
    assert report.run.weight_layers()[-1].driven_std == 0
    [finding] = report.findings
    assert finding.code == "INI101" and "collapses ×0 through 8 weight layers" in finding.message
    assert dict(finding.runtime.evidence)["ratio"] == 0


def test_plot_on_request(tmp_path):
    pytest.importorskip("matplotlib")
    report = initlint.inspect(nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)),
                              torch.randn(4, 8))
    figure = report.plot(str(tmp_path / "model.png"))
    assert (tmp_path / "model.png").read_bytes()[:4] == b"\x89PNG"
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_importing_initlint_does_not_import_torch():
    code = "import sys, initlint; assert callable(initlint.inspect); " \
           "assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
