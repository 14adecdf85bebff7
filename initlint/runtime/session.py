"""The runtime mode from start to end: load, build, measure, confirm. Never raises for a
model's own failure (that model is skipped with a one-line reason); raises
RuntimeSetupError for what stops the whole run (no torch, no such device)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from initlint.config import Config
from initlint.engine import parse_path
from initlint.facts import FileFacts
from initlint.findings import Finding
from initlint.project import ProjectFacts
from initlint.runtime.loader import Candidate, Loader, one_line, user_code
from initlint.runtime.options import RuntimeOptions, RuntimeSetupError
from initlint.runtime.results import ModelRun, RuntimeReport, Skipped

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StaticView:
    """What the static analysis knows that the runtime mode needs: classes and noqa."""

    facts: dict[str, FileFacts]  # path → facts
    classes: dict[str, dict[str, int]]  # path → {class qualname: row} for nn.Module classes


def static_view(files: list[str]) -> StaticView:
    parsed = [parse_path(path) for path in files]
    facts = {p.path: p.facts for p in parsed if p.facts is not None}
    project = ProjectFacts(facts.values())
    classes = {path: {cls.qualname: cls.span.row for cls in f.classes if project.is_module(cls)}
               for path, f in facts.items()}
    return StaticView(facts, {path: names for path, names in classes.items() if names})


def _import_torch():
    try:
        import torch
    except ImportError:
        raise RuntimeSetupError("runtime mode needs torch: pip install 'initlint[runtime]'") \
            from None
    return torch


def run_runtime(files: list[str], findings: list[Finding], config: Config,
                options: RuntimeOptions, progress: Progress | None = None) -> RuntimeReport:
    """Measure every model in ``files`` (and the named factories); attach the evidence."""
    _import_torch()
    from initlint.runtime.confirm import attach_evidence
    from initlint.runtime.device import resolve_device
    from initlint.runtime.unseen import discovered_findings

    device = resolve_device(options.device)
    view = static_view(files)
    loader = Loader()
    report = RuntimeReport()
    try:
        candidates = _candidates(loader, view, options)
        built: set[str] = set()
        for index, candidate in enumerate(candidates, 1):
            if candidate.key and candidate.key in built:
                continue  # a factory from the settings already built this class
            if progress is not None:
                progress(f"[{index}/{len(candidates)}] {candidate.label}")
            outcome = build_and_measure(candidate, loader, options, device)
            if isinstance(outcome, Skipped):
                report.skipped.append(outcome)
            else:
                built.add(outcome.key)
                report.models.append(outcome)
    finally:
        loader.restore_path()
    # A block that some other model holds is judged there, in context (its container may
    # initialize it); built alone it would run on an input and an init it never sees.
    inside = {key for run in report.models for key, path in run.instances if path}
    bases = {key for run in report.models for key, path in run.instances
             if not path and key != run.key}
    report.models = [run for run in report.models if run.factory or (
        run.key not in inside and (run.ran or run.key not in bases))]
    report.skipped = [s for s in [*loader.skipped, *report.skipped]
                      if not s.key or s.key not in inside]
    report.findings = attach_evidence(findings, report.models, report.skipped)
    report.findings += discovered_findings(report.models, report.findings, view, config, files)
    report.findings.sort(key=Finding.sort_key)
    return report


def _candidates(loader: Loader, view: StaticView, options: RuntimeOptions) -> list[Candidate]:
    roots = [r for r in (options.root, os.getcwd()) if r]
    out = [c for spec in options.models
           if (c := loader.candidate_from_spec(spec, roots)) is not None]
    for root in roots:  # namespace packages and absolute imports inside the linted files
        loader.add_path(root)
    for path, classes in view.classes.items():
        out += loader.candidates_from_file(path, classes)
    return out


def build_and_measure(candidate: Candidate, loader: Loader, options: RuntimeOptions,
                      device) -> ModelRun | Skipped:
    """Build one model with its real constructor, find an input, measure it."""
    import torch
    import torch.nn as nn

    from initlint.runtime.confirm_params import after_forward, param_report, tracing_inits
    from initlint.runtime.inputs import NoInputError, find_input
    from initlint.runtime.measure import inspect_weights, measure

    label = candidate.label
    begun = time.perf_counter()
    with user_code():
        try:
            torch.manual_seed(options.seed)
            with tracing_inits() as trace:
                model = candidate.build()
        except (Exception, SystemExit) as exc:  # user code: anything can happen
            return Skipped(label, f"constructor raised {one_line(exc)}", candidate.key)
        if not isinstance(model, nn.Module):
            return Skipped(label, f"the factory returned {type(model).__name__}, not an "
                                  "nn.Module", candidate.key)
        key = loader.class_key(type(model))
        if next(model.parameters(), None) is None:
            return Skipped(label, "no parameters: nothing to initialize", key, quiet=True)
        instances = _instances(loader, model)
        params = param_report(model, trace)
        if not candidate.forward:
            run = inspect_weights(model, key, label, instances, candidate.path, candidate.row)
            return replace(run, seconds=time.perf_counter() - begun, params=params)
        try:
            model.to(device)
        except Exception as exc:
            return Skipped(label, f"could not move it to {device}: {one_line(exc)}", key)
        try:
            plan = find_input(model, options.batch, candidate.spec, device)
        except NoInputError as exc:
            return Skipped(label, str(exc), key)
        try:
            run = measure(model, plan, device, options.seed, key, label, instances,
                          candidate.path, candidate.row)
            run = replace(run, params=after_forward(model, params))
        except (Exception, SystemExit) as exc:
            return Skipped(label, f"forward/backward failed on input {plan.describe()}: "
                                  f"{one_line(exc)}", key)
        finally:
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return replace(run, seconds=time.perf_counter() - begun, factory=candidate.spec is not None)


def _instances(loader: Loader, model) -> tuple[tuple[str, str], ...]:
    """(class key, path) of every submodule, for its class and its user-defined bases, so a
    finding about a base class finds the subclasses built from it."""
    import torch.nn as nn

    out = []
    for name, module in model.named_modules():
        for cls in type(module).__mro__:
            if cls is nn.Module or not issubclass(cls, nn.Module):
                break
            if cls.__module__.split(".")[0] != "torch" or cls is type(module):
                out.append((loader.class_key(cls), name))
    return tuple(out)
