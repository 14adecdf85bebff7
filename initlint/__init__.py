"""initlint: find weight-initialization mistakes in PyTorch model code."""

__version__ = "0.1.0"


def inspect(model, example_inputs=None, **options):
    """Measure an already-built model on its own device: per-layer std (input-driven and
    raw), residual stream, gradients, and the findings they support. Renders as a table in
    Jupyter; ``.plot()`` draws it. Needs torch (imported here, not by ``import initlint``).

    >>> report = initlint.inspect(model, torch.randn(8, 3, 224, 224))  # doctest: +SKIP
    """
    from initlint.runtime.api import inspect_model

    return inspect_model(model, example_inputs, **options)
