"""Fixes for INI0xx (api misuse): each stops a crash or a silent no-op.

Safe where a working program computes the same and only the crash goes (an underscore, a
None guard, a lower-case name, ``nn.Parameter(...)`` around an assigned tensor,
``torch.no_grad()``, a ``dim() > 1`` guard); unsafe where the fix has to choose values
the author did not write (an init that now reaches the parameter, zeros for a bias).
"""

from __future__ import annotations

from initlint.core import torch_api as api
from initlint.core.findings import Fix, Span
from initlint.extract.facts import PARAM_WALKS, InitSite
from initlint.fixes.common import (
    call,
    init_spelling,
    loop_var,
    nn_spelling,
    statement,
    torch_spelling,
)
from initlint.fixes.plan import Decorate, Node, Rename, Replace, SetArg, Wrap
from initlint.semantic.context import FileContext


def deprecated_alias(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI001: ``nn.init.xavier_uniform(w)`` → ``nn.init.xavier_uniform_(w)``."""
    new = api.DEPRECATED_ALIASES[site.func]
    span = site.name_span
    if (ctx.source(span) != site.func or
            ctx.source(Span(span.row, span.column - 1, span.row, span.column)) != "."):
        return None  # a bare imported name: renaming the call would leave it unbound
    return Fix("safe", f"Use `{new}` (same init, no deprecation warning)",
               changes=(Rename(call(site), new),))


def bad_name(ctx: FileContext, span: Span, accepted: str) -> Fix | None:
    """INI006: ``calculate_gain('ReLU')`` → ``'relu'`` (the string the function accepts)."""
    literal = ctx.source(span)
    quote = literal[:1]
    if not quote or quote not in "'\"" or literal[-1:] != quote or len(literal) < 2:
        return None
    return Fix("safe", f"Write {quote}{accepted}{quote} (the spelling torch accepts)",
               changes=(Replace(Node(span, "expr"), f"{quote}{accepted}{quote}"),))


def guard(site: InitSite, subject: str) -> Fix | None:
    """INI005: put the init under ``if <subject> is not None:``."""
    if not site.discarded:
        return None
    return Fix("safe", f"Wrap in `if {subject} is not None:`",
               changes=(Wrap(statement(site), f"if {subject} is not None"),))


def parameter_assignment(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI002, ``m.weight = init.normal_(torch.empty(...))`` (a TypeError): wrap the tensor
    in ``nn.Parameter(...)``, which is what the assignment needs."""
    nn = nn_spelling(ctx.facts)
    text = _call_text(ctx, site.span)
    if nn is None or text is None:
        return None
    return Fix("safe", f"Wrap the tensor in `{nn.text}.Parameter(...)`",
               changes=(Replace(call(site), f"{nn.text}.Parameter({text})"), *nn.imports))


def write_through(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI002, ``init.normal_(m.weight.clone())``: pass the parameter itself (its values
    change where they did not: unsafe)."""
    target = site.target
    if site.style != "init" or not target.base or not target.attr:
        return None
    owner = ".".join(p for p in (target.base, target.path) if p)
    data = ".data" if target.via_data else ""
    tensor = f"{owner}.{target.attr}{data}"
    return Fix("unsafe", f"Initialize `{tensor}` itself, not a copy",
               changes=(SetArg(call(site), "tensor", tensor, 0),))


def no_grad(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI003: run the in-place write under ``torch.no_grad()`` (the decorator on a function
    that only initializes, else a ``with`` block around the statement)."""
    torch = torch_spelling(ctx.facts)
    if torch is None:
        return None
    fn = ctx.project.functions.get(site.function)
    if (fn is not None and fn.inits_only and fn.name != "__init__" and
            ctx.project.function_file.get(fn.qualname) in (None, ctx.facts)):
        return Fix("safe", f"Decorate `{fn.name}` with `@{torch.text}.no_grad()`",
                   changes=(Decorate(Node(fn.span, "def"), f"{torch.text}.no_grad()"),
                            *torch.imports))
    first, last = _adjacent_inplace(ctx, site)
    return Fix("safe", f"Wrap in `with {torch.text}.no_grad():`",
               changes=(Wrap(statement(first), f"with {torch.text}.no_grad()",
                             last.statement_span if last is not first else None),
                        *torch.imports))


def _adjacent_inplace(ctx: FileContext, site: InitSite) -> tuple[InitSite, InitSite]:
    """The first and last of the run of in-place writes on consecutive lines around
    ``site`` (same function, same indentation): one ``with`` block for all of them."""
    def candidate(other: InitSite) -> bool:
        return (other.style == "inplace" and not other.no_grad and
            not other.target.via_data and other.function == site.function and
            other.indent == site.indent and other.discarded == site.discarded)

    rows = {s.statement_span.row: s for s in ctx.facts.sites if candidate(s)}
    ends = {s.statement_span.end_row: s for s in rows.values()}
    first = last = site
    while first.statement_span.row - 1 in ends:
        first = ends[first.statement_span.row - 1]
    while last.statement_span.end_row + 1 in rows:
        last = rows[last.statement_span.end_row + 1]
    return first, last


def fan_of_1d(ctx: FileContext, site: InitSite, what: str, ndim: int) -> Fix | None:
    """INI004 (``what``/``ndim``: the check's description of the tensor). A loop or
    dispatch that also reaches ≥2-D tensors gets a ``dim() > 1`` guard (safe: those get
    what they got, the crash goes); an init aimed only at biases or at a norm scale becomes
    ``zeros_``/``ones_`` (unsafe: values the author did not write)."""
    target = site.target
    init = init_spelling(ctx.facts, site, ctx.text)
    tensor = _first_arg_text(ctx, site)
    if init is None or tensor is None or not site.discarded or ndim != 1:
        return None
    binding = loop_var(site, ctx.project.functions)
    in_param_loop = binding is not None and binding.source in PARAM_WALKS and not target.attr
    only_biases = "bias" in what and (in_param_loop or target.attr == "bias")
    only_scales = False
    if target.attr == "weight" and not target.path and target.base != "self":
        types = ctx.project.tests.dispatched_types(site, target.base)
        only_scales = bool(types) and all(
            (kind := api.LAYERS.get(t)) is not None and kind.weight_ndim == 1 for t in types)
        if not only_scales:
            return _dim_guard(site, tensor)
    if in_param_loop and not only_biases:
        return _dim_guard(site, tensor)
    fill = "zeros_" if only_biases else "ones_" if target.attr == "weight" else None
    if fill is None:
        return None
    return Fix("unsafe", f"Use `{init.text}.{fill}({tensor})`",
               changes=(Replace(call(site), f"{init.text}.{fill}({tensor})"), *init.imports))


def _dim_guard(site: InitSite, tensor: str) -> Fix:
    return Fix("safe", f"Wrap in `if {tensor}.dim() > 1:` (1-D tensors keep their default)",
               changes=(Wrap(statement(site), f"if {tensor}.dim() > 1"),))


def _call_text(ctx: FileContext, span: Span) -> str | None:
    """The source of a one-line call (multi-line calls are left alone)."""
    text = ctx.source(span)
    return text or None


def _first_arg_text(ctx: FileContext, site: InitSite) -> str | None:
    spans = dict(site.arg_spans)
    for name in ("tensor", "w", "input"):
        if name in spans:
            return ctx.source(spans[name]) or None
    return site.target.text or None

