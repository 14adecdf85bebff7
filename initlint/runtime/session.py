"""The runtime mode from start to end: list, build, measure, confirm. Never raises for a
model's own failure (that model is skipped with a one-line reason); raises
RuntimeSetupError for what stops the whole run (no torch, no such device).

Every step that runs the project's code (importing a file to list its models, building and
measuring one model) runs in a child process of its own (``isolate.py``): a model that
exits, hangs, crashes, forks or prints is one ``not-run`` line, and this process, its
output and the static findings are untouched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.runtime.options import RuntimeOptions, RuntimeSetupError
from initlint.runtime.results import ModelRun, RuntimeReport, Skipped, from_json
from initlint.runtime.static_view import static_view

Progress = Callable[[str], None]
#: Listing a file only imports it: this long at most.
LIST_TIMEOUT = 120.0


def _require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise RuntimeSetupError("runtime mode needs torch: pip install 'initlint[runtime]'")


class Runner:
    """Runs the jobs of ``child.py``: each in a child process, or here (tests, no isolation)."""

    def __init__(self, options: RuntimeOptions):
        self.options = options

    def __call__(self, job: str, payload: dict[str, Any], timeout: float,
                 label: str) -> tuple[dict[str, Any] | None, str, str]:
        """(result, why there is none, captured output)."""
        if not self.options.isolate:
            return self._here(job, payload), "", ""
        from initlint.runtime.isolate import run_job

        outcome = run_job(job, payload, timeout, self.options.memory)
        result = outcome.result
        if isinstance(result, dict) and "setup_error" in result:
            raise RuntimeSetupError(str(result["setup_error"]))
        if isinstance(result, dict) and "error" in result:
            return None, f"initlint's runtime failed on it: {result['error']}", outcome.output
        return result, outcome.reason, outcome.output

    def _here(self, job: str, payload: dict[str, Any]) -> dict[str, Any]:
        from initlint.runtime import child

        saved = list(sys.path), list(sys.meta_path)
        try:  # through JSON, as from a child: the same checks on the way back
            return json.loads(json.dumps(child.JOBS[job](payload, lambda name: None)))
        finally:
            sys.path[:], sys.meta_path[:] = saved


def run_runtime(files: list[str], findings: list[Finding], config: Config,
                options: RuntimeOptions, progress: Progress | None = None) -> RuntimeReport:
    """Measure every model in ``files`` (and the named factories); attach the evidence."""
    _require_torch()
    from initlint.runtime.confirm import attach_evidence
    from initlint.runtime.unseen import discovered_findings, used_noqa_dropped

    runner = Runner(options)
    roots = [r for r in (options.root, os.getcwd()) if r]
    probe, reason, _ = runner("probe", {"device": options.device, "roots": roots}, LIST_TIMEOUT,
                              "probe")
    if probe is None:
        raise RuntimeSetupError(f"the runtime mode could not start: {reason}")
    view = static_view(files)
    report = RuntimeReport()
    jobs: list[tuple[str, dict[str, Any]]] = [
        (spec.target, {"spec": spec, "label": spec.target}) for spec in options.models]
    if not options.only_named:
        for listed, skipped in _list(runner, view.classes, roots).values():
            report.skipped += skipped
            jobs += [(c["label"], {"candidate": c, "label": c["label"]}) for c in listed]
    built: set[str] = set()
    for index, (label, job) in enumerate(jobs, 1):
        key = job.get("candidate", {}).get("key", "")
        if key and key in built:
            continue  # a factory from the settings already built this class
        if progress is not None:
            progress(f"[{index}/{len(jobs)}] {label}")
        outcome = _measure(runner, label, key, {**job, "options": options, "roots": roots})
        if isinstance(outcome, Skipped):
            report.skipped.append(outcome)
        else:
            built.add(outcome.key)
            report.models.append(outcome)
    _keep_in_context(report)
    report.findings = attach_evidence(findings, report.models, report.skipped)
    silenced: list[Finding] = []
    report.findings += discovered_findings(report.models, report.findings, view, config, files,
                                           silenced)
    if silenced:
        report.findings = used_noqa_dropped(report.findings, silenced)
    report.findings.sort(key=Finding.sort_key)
    return report


Listing = tuple[list[dict[str, Any]], list[Skipped]]


def _list(runner: Runner, files: dict[str, dict[str, int]],
          roots: list[str]) -> dict[str, Listing]:
    """The models of every file: all files in one child; when that child fails (a file
    exits or hangs on import), one child per file, so only the culprit is lost."""
    if not files:
        return {}
    result, reason, output = runner("list", {"files": files, "roots": roots}, LIST_TIMEOUT,
                                    "listing")
    if result is not None and set(result) == set(files):
        return {path: _listing(path, result[path], "") for path in files}
    if len(files) == 1:
        [path] = files
        return {path: ([], [Skipped(path, f"importing it failed: {reason}", output=output)])}
    out: dict[str, Listing] = {}
    for path, classes in files.items():
        out.update(_list(runner, {path: classes}, roots))
    return out


def _listing(path: str, result: Any, output: str) -> Listing:
    try:
        listed = [c for c in result["candidates"] if _descriptor_ok(c)]
        skipped = [s for s in map(from_json, result["skipped"]) if isinstance(s, Skipped)]
    except (KeyError, TypeError, ValueError) as exc:
        return [], [Skipped(path, f"its listing could not be read: {exc}", output=output)]
    return listed, skipped


def _descriptor_ok(found: Any) -> bool:
    types = {"label": str, "key": str, "path": str, "row": int, "forward": bool}
    return isinstance(found, dict) and set(found) == set(types) and all(
        isinstance(found[k], t) for k, t in types.items())


def _measure(runner: Runner, label: str, key: str, job: dict[str, Any]) -> ModelRun | Skipped:
    options: RuntimeOptions = job["options"]
    result, reason, output = runner("measure", job, options.timeout, label)
    if result is None:
        return Skipped(label, reason, key, output=output)
    try:
        outcome = from_json(result)
    except (TypeError, ValueError) as exc:
        return Skipped(label, f"its result could not be read: {exc}", key, output=output)
    return replace(outcome, output=output)


def _keep_in_context(report: RuntimeReport) -> None:
    """A block that some other model holds is judged there, in context (its container may
    initialize it); built alone it would run on an input and an init it never sees."""
    inside = {key for run in report.models for key, path in run.instances if path}
    bases = {key for run in report.models for key, path in run.instances
             if not path and key != run.key}
    report.models = [run for run in report.models if run.factory or (
        run.key not in inside and (run.ran or run.key not in bases))]
    report.skipped = [s for s in report.skipped if not s.key or s.key not in inside]
