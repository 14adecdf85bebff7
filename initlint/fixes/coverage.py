"""Fixes for INI2xx (coverage): the init reaches what its author meant it to.

All unsafe: each changes initial values (a bias zeroed, a γ drawn around 1, a padding row
zeroed, an init that now runs), which is the point, but never "the same program".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from initlint import torch_api as api
from initlint.facts import ClassFacts, FunctionFacts, InitSite
from initlint.findings import Fix, Span
from initlint.fixes.common import (
    attribute_path,
    call,
    init_spelling,
    loop_var,
    quoted,
    statement,
)
from initlint.fixes.plan import Append, Insert, Move, Node, Rename, Replace, SetArg, Wrap

if TYPE_CHECKING:
    from initlint.checks.base import FileContext


def _dispatched(ctx: FileContext, site: InitSite, var: str) -> list[str]:
    """The torch layer classes the site's tests on ``var`` certainly let through ([] when
    it tests nothing about ``var``)."""
    from initlint.evaluate import dispatched_types

    return dispatched_types(ctx.project, site, var)


def _param_loop(ctx: FileContext, site: InitSite) -> bool:
    binding = loop_var(site, ctx.project.functions)
    return binding is not None and "parameters" in binding.source


def zero_bias(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI206: zero the bias right after the weight init. Only where ``<m>.bias`` means the
    layer's bias: never in a parameter loop (``p`` is a tensor), and behind
    ``getattr(m, 'bias', None)`` where the module may be a type without one (Embedding)."""
    init = init_spelling(ctx.facts, site, ctx.text)
    target = site.target
    if init is None or not site.discarded or target.attr != "weight" or target.index \
            or not target.base or _param_loop(ctx, site):
        return None
    if target.base == "self":
        owner = attribute_path("self", target.path) if target.path else None
        if owner is None:
            return None
        code = f"{init.text}.zeros_({owner}.bias)"  # the check saw this layer built with one
    else:
        if target.path:
            return None
        owner = target.base
        types = _dispatched(ctx, site, owner)
        with_bias = bool(types) and all(
            (kind := api.LAYERS.get(t)) is not None and kind.has_bias_param for t in types)
        test = f"{owner}.bias is not None" if with_bias else \
            f"getattr({owner}, {quoted(ctx.text, 'bias')}, None) is not None"
        code = f"if {test}:\n    {init.text}.zeros_({owner}.bias)"
    return Fix("unsafe", f"Insert `{init.text}.zeros_({owner}.bias)` after the weight init "
               "(changes the initial bias)",
               changes=(Insert(statement(site), code), *init.imports))


def dim_filter(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI204: keep the loop's draw off 1-D parameters (norm γ and β, biases) with
    ``if p.dim() > 1:`` — the idiom of transformer codebases."""
    binding = loop_var(site, ctx.project.functions)
    if binding is None or "parameters" not in binding.source or site.target.attr \
            or site.target.path or not site.discarded:
        return None
    var = binding.var
    return Fix("unsafe", f"Wrap in `if {var}.dim() > 1:` (norm scales and biases keep their "
               "defaults)", changes=(Wrap(statement(site), f"if {var}.dim() > 1"),))


def rezero_padding(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI205: re-zero the padding row after the draw (transformers' idiom)."""
    target = site.target
    if not site.discarded or target.attr != "weight" or target.index or not target.base \
            or _param_loop(ctx, site):
        return None
    if target.base == "self":
        owner = attribute_path("self", target.path) if target.path else None
        if owner is None:
            return None
        code = f"{owner}.weight.data[{owner}.padding_idx].zero_()"
    else:
        if target.path:
            return None
        owner = target.base
        types = _dispatched(ctx, site, owner)
        test = f"{owner}.padding_idx is not None" if types and all(
            t == api.NN + "Embedding" for t in types) else \
            f"getattr({owner}, {quoted(ctx.text, 'padding_idx')}, None) is not None"
        code = f"if {test}:\n    {owner}.weight.data[{owner}.padding_idx].zero_()"
    return Fix("unsafe", f"Insert `{owner}.weight.data[{owner}.padding_idx].zero_()` after "
               "the draw", changes=(Insert(statement(site), code),))


def gamma_around_one(ctx: FileContext, site: InitSite, kind: str) -> Fix | None:
    """INI207: draw γ around 1 (``normal_(w, 1.0, std)``, DCGAN's recipe) or set it to 1."""
    base = site.target.base
    types = _dispatched(ctx, site, base)
    if not types or not all(
            (k := api.LAYERS.get(t)) is not None and k.family == "norm" for t in types):
        return None  # the same line also draws conv/linear weights: leave them alone
    init = init_spelling(ctx.facts, site, ctx.text)
    if kind == "normal" and site.style in ("init", "alias"):
        return Fix("unsafe", "Draw γ around 1: `mean=1.0`",
                   changes=(SetArg(call(site), "mean", "1.0", 1),))
    if kind == "zeros" and site.style in ("init", "alias"):
        return Fix("unsafe", "Use `ones_` (γ = 1, PyTorch's own start)",
                   changes=(Rename(call(site), "ones_"),))
    if kind == "uniform" and init is not None and site.target.text:
        tensor = site.target.text
        return Fix("unsafe", f"Use `{init.text}.ones_({tensor})` (γ = 1)",
                   changes=(Replace(call(site), f"{init.text}.ones_({tensor})"),
                            *init.imports))
    return None


def call_init(ctx: FileContext, cls: ClassFacts, fn: FunctionFacts) -> Fix | None:
    """INI201: call the method at the end of ``__init__``: ``self.apply(self.fn)`` for a
    per-module callback, ``self.fn()`` otherwise."""
    init = ctx.project.functions.get(f"{cls.qualname}.__init__")
    if init is None or ctx.project.function_file.get(init.qualname) not in (None, ctx.facts):
        return None
    params = [p for p in fn.params if p not in ("self", "cls")]
    if fn.static:
        params = list(fn.params)
    if len(params) == 0:
        code = f"self.{fn.name}()"
    elif len(params) == 1:
        code = f"self.apply(self.{fn.name})"
    else:
        return None
    return Fix("unsafe", f"Call `{code}` at the end of `{cls.name}.__init__`",
               changes=(Append(Node(init.span, "def"), code),))


def move_after_layers(ctx: FileContext, cls: ClassFacts, call_span: Span,
                      last_layer: Span) -> Fix | None:
    """INI202: move the init call to just after the statement that builds the last layer."""
    init = ctx.project.functions.get(f"{cls.qualname}.__init__")
    if init is None:
        return None
    return Fix("unsafe", "Move the init call after the last layer is built",
               changes=(Move(Node(call_span, "stmt"), last_layer, Node(init.span, "def")),))
