"""Check that the requested device exists before building anything."""

from __future__ import annotations

from initlint.runtime.options import RuntimeSetupError


def resolve_device(name: str):
    """``torch.device`` for ``name``, or a RuntimeSetupError saying why it is not there."""
    import torch

    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeSetupError(f"device `{name}` is not available: torch "
                                    f"{torch.__version__} sees no CUDA GPU "
                                    "(torch.cuda.is_available() is False)")
        index = int(name.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise RuntimeSetupError(f"device `{name}` is not available: there "
                                    f"{'is' if count == 1 else 'are'} {count} CUDA "
                                    f"device{'s' if count != 1 else ''} (cuda:0"
                                    f"{f'..cuda:{count - 1}' if count > 1 else ''})")
        return torch.device("cuda", index)
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise RuntimeSetupError("device `mps` is not available "
                                    "(torch.backends.mps.is_available() is False)")
        return torch.device("mps")
    raise RuntimeSetupError(f"unknown device `{name}` (use cpu, cuda, cuda:N or mps)")
