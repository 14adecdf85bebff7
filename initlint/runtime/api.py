"""``initlint.inspect(model, example_inputs)``: the runtime measurement of an already-built
model, on its own device, in this process (a notebook, a training script).

The model is put back as it was: its train/eval mode, its parameters' gradients and the
global RNG state. What it returns renders as a table in Jupyter (``_repr_html_``), as text
with ``print``, and plots on request.
"""

from __future__ import annotations

import html
import inspect as _inspect
import os
from dataclasses import dataclass, field, replace
from typing import Any

from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.runtime.results import ModelRun

MAX_HTML_ROWS = 400
INTERACTIVE = "<interactive>"


@dataclass(frozen=True)
class Inspection:
    """The per-layer measurements of one model and the findings they support."""

    run: ModelRun
    findings: tuple[Finding, ...] = field(default=())

    @property
    def layers(self):
        """One LayerStats per module call, in call order."""
        return self.run.leaves

    def table(self) -> str:
        from initlint.runtime.table import model_table

        return model_table(self.run)

    def __str__(self) -> str:
        from initlint.runtime.table import printable

        lines = [f"{f.code} {printable(f.message)}\n  why: {printable(f.why)}"
                 + (f"\n  measured ({f.runtime.status}): {printable(f.runtime.summary)}"
                    if f.runtime else "") for f in self.findings]
        return "\n".join([*lines, self.table()]) + "\n"

    def _repr_html_(self) -> str:
        from initlint.runtime.table import COLUMNS, _labels, _row

        leaves = self.run.leaves if self.run.ran else self.run.uncalled
        rows = [_row(layer, label, self.run.reference_std)
                for layer, label in zip(leaves, _labels(leaves), strict=True)][:MAX_HTML_ROWS]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
                       + "</tr>" for row in rows)
        found = "".join(f"<li><b>{html.escape(f.code)}</b> {html.escape(f.message)}</li>"
                        for f in self.findings)
        return (f"<div><p>initlint: {html.escape(self.run.label)}, input "
                f"{html.escape(self.run.inputs)} on {html.escape(self.run.device)}; "
                f"reference {html.escape(self.run.reference_at)}</p>"
                + (f"<ul>{found}</ul>" if found else "<p>no findings</p>")
                + f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

    def plot(self, path: str | None = None):
        """A matplotlib figure of the input-driven std per layer (saved when ``path``)."""
        from initlint.runtime.plot import figure_for

        return figure_for([self.run], list(self.findings), path)


def _device(model: Any):
    import torch

    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _given(example_inputs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(example_inputs, dict):
        return (), dict(example_inputs)
    if isinstance(example_inputs, (tuple, list)):
        return tuple(example_inputs), {}
    return (example_inputs,), {}


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]):
    """The Feed that describes the caller's own tensors (shapes and dtypes)."""
    import torch

    from initlint.runtime.inputs import Feed, InputPlan

    def plan(t: Any) -> InputPlan:
        if isinstance(t, torch.Tensor):
            return InputPlan(tuple(t.shape), str(t.dtype).removeprefix("torch."))
        return InputPlan((), type(t).__name__)

    return Feed(tuple(plan(a) for a in args), tuple((k, plan(v)) for k, v in kwargs.items()))


def _source(model: Any) -> tuple[str, int]:
    try:
        path = _inspect.getsourcefile(type(model)) or ""
        row = _inspect.getsourcelines(type(model))[1]
    except (OSError, TypeError):
        return "", 1
    return (path, row) if path.endswith(".py") and os.path.isfile(path) else ("", 1)


def inspect_model(model: Any, example_inputs: Any = None, *, seed: int = 0,
                  batch: int = 8, config: Config | None = None) -> Inspection:
    """Measure ``model`` as it is (its init, its device) on ``example_inputs`` (a tensor, a
    tuple of them, or a dict of keyword inputs; None: synthesized from its first layer)."""
    import torch

    from initlint.runtime.build import instances_of
    from initlint.runtime.inputs import find_input, make_feed
    from initlint.runtime.loader import Loader
    from initlint.runtime.measure import measure

    device = _device(model)
    loader = Loader()
    key = loader.class_key(type(model))
    path, row = _source(model)
    was_training = model.training
    grads = {name: p.grad for name, p in model.named_parameters()}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    for p in model.parameters():
        p.grad = None  # backward accumulates in place: the caller's gradients stay apart
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if example_inputs is None:
            feed = find_input(model, batch, None, device)
            given = make_feed(feed, device)
        else:
            given = _given(example_inputs)
            feed = _describe(*given)
        try:
            run = measure(model, feed, device, seed, key, type(model).__name__,
                          instances_of(loader, model), path, row, given=given)
        finally:
            model.train(was_training)
            for name, p in model.named_parameters():
                p.grad = grads.get(name)
            with torch.no_grad():  # BatchNorm's running statistics moved in train mode
                for name, b in model.named_buffers():
                    if name in buffers:
                        b.copy_(buffers[name])
    if not path:  # defined in a notebook cell: findings point at the class by name
        run = replace(run, path=INTERACTIVE)
    return Inspection(run, tuple(_findings(run, path, config)))


def _findings(run: ModelRun, path: str, config: Config | None) -> list[Finding]:
    """The static findings of the model's own file, confirmed or refuted on this run, and
    what only the runtime sees."""
    from initlint.runtime.confirm import attach_evidence
    from initlint.runtime.static_view import StaticView, static_view
    from initlint.runtime.unseen import discovered_findings

    config = config or _config_for(path)
    static: list[Finding] = []
    view = StaticView({}, {})
    if path:
        from initlint.engine.lint import lint_paths

        try:
            static = [f for f in lint_paths([path], config, jobs=1).findings
                      if f.subject and f.subject.partition("::")[0] in
                      {k for k, _ in run.instances}]
            view = static_view([path])
        except Exception:  # the static pass must not cost the measurement
            static = []
    found = attach_evidence(static, [run], [])
    found += discovered_findings([run], found, view, config, [path] if path else [])
    return sorted(found, key=Finding.sort_key)


def _config_for(path: str) -> Config:
    from pathlib import Path

    from initlint.core.config import ConfigError, find_pyproject, load_config

    if not path:
        return Config()
    try:
        return load_config(find_pyproject(Path(path).parent))
    except ConfigError:
        return Config()
