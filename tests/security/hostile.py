"""A hostile repository, built on demand: what an attacker can commit (or make a checkout
contain) to turn a plain ``initlint .`` against the person or CI running it.

Every piece is a small function so a test builds exactly what it attacks; ``build_repo``
makes the whole thing. Paths that a platform cannot create (FIFOs, /proc) are skipped by the
tests that need them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

#: A model with one INI001 finding (and a safe fix): proof the rest of the tree is checked.
MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.xavier_uniform(self.fc.weight)
"""
FIXED = MODEL.replace("xavier_uniform(", "xavier_uniform_(")
#: Output that would become a GitHub Actions command or a terminal escape if printed raw.
INJECTION = "\n::error file=pwned.py,line=1::injected\n##[error]legacy\x1b]52;c;cHduZWQ=\x07\x1b[2J"
SECRET_ENV = "INITLINT_TEST_SECRET"
SECRET = "s3cr3t-token-value"


def model(directory: Path, name: str = "model.py", text: str = MODEL) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def escaping_symlinks(root: Path, outside: Path) -> dict[str, Path]:
    """Links that leave the tree: to a file, a directory, /proc and /dev (read, they leak
    the environment or never end)."""
    outside.mkdir(parents=True, exist_ok=True)
    secret = model(outside, "secret_model.py", MODEL.replace("Net", "Outside"))
    links = {"out_file.py": secret, "out_dir": outside, "env.py": Path("/proc/self/environ"),
             "zero.py": Path("/dev/zero"), "random.py": Path("/dev/urandom")}
    for name, target in links.items():
        (root / name).symlink_to(target)
    return links


def fifo(root: Path, name: str = "fifo.py") -> Path | None:
    if not hasattr(os, "mkfifo"):
        return None
    path = root / name
    os.mkfifo(path)
    return path


def symlink_loops(root: Path) -> None:
    (root / "loop_a.py").symlink_to("loop_b.py")
    (root / "loop_b.py").symlink_to("loop_a.py")
    (root / "self.py").symlink_to("self.py")
    (root / "cycle").mkdir()
    (root / "cycle" / "up").symlink_to("..")


def deep_tree(root: Path, depth: int = 1100) -> Path:
    """``d/d/.../d/deep.py`` ``depth`` directories down, made with directory fds (the path is
    longer than what some path APIs take at once)."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            with _suppress_exists():
                os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        out = os.open("deep.py", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
        os.write(out, MODEL.encode())
        os.close(out)
    finally:
        os.close(fd)
    return root.joinpath(*["d"] * depth, "deep.py")


class _suppress_exists:  # noqa: N801  (a tiny context manager)
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, tb) -> bool:
        return kind is FileExistsError


def odd_names(root: Path) -> list[Path]:
    """File names an attacker picks: a newline and a workflow command, terminal escapes,
    bytes that are not UTF-8, a name that is itself a workflow command."""
    made = []
    for raw in (b"nl\n::error file=x.py::pwned.py", b"esc\x1b]52;c;cHduZWQ=\x07.py",
                b"csi\x1b[2J.py", b"bad\xff\xfe.py", b"::warning::w.py", b"##[error]e.py"):
        path = os.path.join(os.fsencode(root), raw)
        with open(path, "wb") as handle:
            handle.write(MODEL.encode())
        made.append(Path(os.fsdecode(path)))
    return made


def injecting_source(root: Path) -> Path:
    """A model whose comment and string literal carry workflow commands and escapes."""
    text = MODEL.replace("nn.init.xavier_uniform(self.fc.weight)",
                         f"nn.init.xavier_uniform(self.fc.weight)  # {INJECTION!r}\n"
                         f"        self.note = {INJECTION!r}")
    text += "# \x1b]52;c;cHduZWQ=\x07 \x1b[2J ::error::raw\n"
    return model(root, "inject.py", text)


def huge_file(root: Path, size: int) -> Path:
    path = root / "huge.py"
    with open(path, "wb") as handle:
        handle.write(b"import torch\n")
        handle.write(b"#" * (size - 13) + b"\n")
    return path


def build_repo(root: Path, outside: Path) -> Path:
    """Everything at once (the CLI must survive the lot and still check ``model.py``)."""
    model(root)
    escaping_symlinks(root, outside)
    fifo(root)
    symlink_loops(root)
    odd_names(root)
    injecting_source(root)
    return root


#: prctl(2) and the capabilities that let root ignore permission bits (linux/capability.h).
_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


def drop_root_bypass() -> None:
    """In a child before exec: give up root's power to read any file, so mode 0000 binds as
    it does for every normal user (tests run as root in CI containers). A no-op when not root;
    raises OSError where the kernel refuses (then ``permissions_bind`` says so)."""
    if os.name != "posix" or os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permissions_bind(path: Path) -> bool:
    """Does a child started with ``drop_root_bypass`` really fail to read ``path``?"""
    probe = subprocess.run([sys.executable, "-c", f"open({str(path)!r}, 'rb')"],
                           capture_output=True, preexec_fn=_quiet_drop)
    return probe.returncode != 0 and b"PermissionError" in probe.stderr


def _quiet_drop() -> None:
    with contextlib.suppress(OSError):
        drop_root_bypass()


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120, unprivileged: bool = False) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess (bytes: names in the output may be anything);
    ``unprivileged``: with permission bits binding even under root."""
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, env=full,
                          capture_output=True, timeout=timeout,
                          preexec_fn=_quiet_drop if unprivileged else None)
