"""Runtime mode on models that attack the process measuring them (issue 11): each model is
built and measured in a child process, so one that exits, hangs, forks, crashes, writes to
fd 1 or replaces the reporter is one `not-run` line, and the static findings are reported.

Real torch, real processes, short timeouts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import ALL_SELECTED, FIXTURES, REPO, lint_files  # noqa: E402

from initlint.runtime.options import RuntimeOptions  # noqa: E402
from initlint.runtime.session import run_runtime  # noqa: E402

HOSTILE = FIXTURES / "runtime" / "hostile" / "hostile_models.py"
TIMEOUT = 4.0


@pytest.fixture(scope="module")
def hostile(processes_before):
    options = RuntimeOptions(timeout=TIMEOUT)
    static = lint_files([HOSTILE], ALL_SELECTED)
    begun = time.monotonic()
    report = run_runtime([str(HOSTILE)], static, ALL_SELECTED, options)
    return report, time.monotonic() - begun


@pytest.fixture(scope="module")
def processes_before():
    """The descendants this pytest process had before the hostile run (other tests' servers
    and helpers are not the run's to kill)."""
    return set(_descendants())


def reasons(report) -> dict[str, str]:
    return {s.label.rsplit(".", 1)[-1]: s.reason for s in report.skipped}


def test_a_model_that_exits_is_not_run(hostile):
    report, _ = hostile
    assert "exit status 0" in reasons(report)["Exits"]
    assert "in its constructor" in reasons(report)["Exits"]


def test_hangs_are_cut_at_the_timeout_and_say_where(hostile):
    report, seconds = hostile
    found = reasons(report)
    assert found["HangsInInit"].startswith(f"it did not finish within {TIMEOUT:g} s (stuck "
                                           "in its constructor")
    # a small model's input guesses run for real: its forward hangs on the first one
    assert found["HangsInForward"].endswith("(stuck while trying inputs?)")
    assert seconds < 6 * TIMEOUT + 60  # two timeouts, the rest quick


def test_a_model_that_forks_is_not_run_and_its_processes_are_gone(hostile):
    report, _ = hostile
    assert "(os.fork)" in reasons(report)["Forks"] or \
        "it forks or starts subprocesses" in reasons(report)["Forks"]


def test_a_crash_in_native_code_is_not_run(hostile):
    report, _ = hostile
    assert reasons(report)["Crashes"].startswith("it was killed by SIGSEGV ")


def test_a_background_writer_is_measured_and_its_writes_captured(hostile):
    report, _ = hostile
    [run] = [r for r in report.models if r.label.endswith("WritesToFd1")]
    assert run.ran and '[{"not": "json"' in run.output


def test_the_static_finding_of_a_model_that_exits_stays(hostile):
    report, _ = hostile
    assert {f.code for f in report.findings} == {"INI001", "INI206"}


def test_no_process_of_the_run_survives(processes_before, hostile):
    """Everything a model started was killed with its process group."""
    deadline = time.monotonic() + 5.0  # a process sent SIGKILL takes a moment to vanish
    while True:
        leftovers = {pid: cmd for pid, cmd in _descendants().items()
                     if pid not in processes_before}
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert leftovers == {}


def _descendants() -> dict[str, bytes]:
    """Live processes below this one that are not process-group leaders, with their command
    lines, less multiprocessing's own long-lived helpers."""
    mine = os.getpid()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        # multiprocessing's own long-lived helpers (the forkserver and the resource tracker
        # it starts) outlive a run by design; the models' processes must not
        helper = b"forkserver" in cmdline or b"resource_tracker" in cmdline
        if stat[0] != "Z" and int(stat[1]) != mine and not helper and \
                int(stat[2]) != int(stat[1]) and _ancestor(int(entry), mine):
            found[entry] = cmdline[:200]
    return found


def _ancestor(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def test_the_cli_output_stays_intact(tmp_path):
    """A real `initlint --runtime` process: JSON on stdout parses, the reporters the model
    replaced are not ours, the static finding is there, exit 1, one line per model."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"[tool.initlint.runtime]\ntimeout = {TIMEOUT}\n")
    target = project / "hostile_models.py"
    target.write_text(HOSTILE.read_text())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "initlint", "check", str(target),
                             "--runtime", "--output-format", "json", "--no-cache"],
                            capture_output=True, text=True, timeout=300, cwd=project, env=env)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [item["code"] for item in data] == ["INI001"]  # INI206 is off by default
    assert "HACKED" not in result.stdout and "not" not in result.stdout.replace(
        "not-run", "").replace("not-confirmed", "").lower().split("message")[0]
    err = result.stderr
    for name in ("Exits", "HangsInInit", "HangsInForward", "Forks", "Crashes"):
        assert f"Runtime: skipped hostile_models.{name}: " in err
    assert "Traceback" not in err


def test_weights_too_big_for_memory_are_refused_on_meta(tmp_path):
    """40 GB of weights: counted on meta, refused before a byte is allocated."""
    path = tmp_path / "huge_model.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Huge(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(100_000, 100_000)

            def forward(self, x):
                return self.fc(x)
    """))
    begun = time.monotonic()
    report = run_runtime([str(path)], [], ALL_SELECTED, RuntimeOptions(memory=2e9))
    [skipped] = report.skipped
    assert skipped.reason.startswith("its weights alone would need 40.0 GB, more than the "
                                     "2.0 GB this run allows")
    assert time.monotonic() - begun < 60


def test_a_shared_submodule_in_a_large_model_is_measured(tmp_path):
    """Over 1M parameters and one block registered twice: the memory estimate runs on a meta
    copy, the real weights stay real (the old estimate left them on meta, and the model
    was skipped with 'Tensor on device meta is not on the expected device')."""
    path = tmp_path / "shared_model.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Shared(nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU())
                self.again = self.encoder
                self.head = nn.Linear(1024, 10)

            def forward(self, x):
                return self.head(self.again(self.encoder(x)))
    """))
    for isolate in (True, False):
        report = run_runtime([str(path)], [], ALL_SELECTED, RuntimeOptions(isolate=isolate))
        assert report.skipped == []
        [run] = report.models
        assert run.ran and run.input_shape == (8, 1024)
        assert [w.path for w in run.weight_layers()] == ["encoder.0", "head"]
        assert all(w.grad_norm for w in run.weight_layers())


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_zombie_in_the_group_is_not_a_process_left_running():
    """A model's child that exited but was never waited for is a zombie: nothing runs, so
    it is not "another process left running" (/proc's state field, not the parent pid)."""
    from initlint.runtime.isolate import _group_members

    leader = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, time; subprocess.Popen(['true']); "
                               "time.sleep(60)"], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        zombie = None
        while zombie is None and time.monotonic() < deadline:
            for entry in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                        fields = handle.read().rpartition(")")[2].split()
                except OSError:
                    continue
                if fields[0] == "Z" and int(fields[1]) == leader.pid:
                    zombie = int(entry)
            time.sleep(0.05)
        assert zombie is not None, "the child never became a zombie"
        assert _group_members(leader.pid) == []
    finally:
        leader.kill()
        leader.wait()
