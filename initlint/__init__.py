"""initlint: find weight-initialization mistakes in PyTorch model code."""

__version__ = "0.1.0"
