"""Inits that ignore the value the model was built to start from: INI107 (a constant written
over a parameter whose starting value a constructor argument sets, or γ = 1 where
``forward`` scales by 1 + γ)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from initlint.checks.base import FileContext, Rule, rule
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Severity, Span
from initlint.extract.facts import UNKNOWN, ClassFacts, InitSite, LayerFact, ParamFact
from initlint.semantic.loads import call_binding, project_init
from initlint.semantic.project import ProjectFacts
from initlint.semantic.records import Placed

W = Severity.WARNING


def constant_written(site: InitSite) -> float | None:
    """The one value a constant init writes into every element (``ones_`` → 1.0,
    ``fill_(0.5)``), when the code spells it as a constant; None otherwise."""
    if site.style not in ("init", "inplace", "alias") or site.target.index or site.target.copy:
        return None
    value: Any = api.CONSTANT_WRITES.get(site.func)
    if isinstance(value, str):
        value = site.arg(value) if value in site.literal_args else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _number(value: Any) -> float | None:
    if value is UNKNOWN or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _end_value(project: ProjectFacts, cls: ClassFacts,
               param: ParamFact) -> tuple[float, tuple[InitSite, ...]] | None:
    """The constant ``param`` holds once a ``cls`` model is built: the one value every init
    that certainly writes it writes (those sites), else the value it was made with; None
    when some writer is not a constant, writers disagree, or code we cannot follow may
    write it."""
    own = Placed("", LayerFact("", cls.qualname, (), (), param.span), cls.qualname)
    writes = project.effective(cls).writes(own, param.name)
    if writes.possible:
        return None
    values = {constant_written(site) for site in writes.sites}
    if None in values or len(values) > 1:
        return None
    if values:
        (value,) = values
        return value, writes.sites  # type: ignore[return-value]
    start = _number(param.fill)
    return (start, ()) if start is not None else None


def _argument_values(project: ProjectFacts, cls: ClassFacts,
                     param: ParamFact) -> list[tuple[str, float]]:
    """The value ``param`` is made with in each construction the project performs: the
    defaults ("") and each container's arguments (its name)."""
    out: list[tuple[str, float]] = []
    default = _number(param.fill)
    if default is not None:
        out.append(("", default))
    init = project_init(project, cls)
    if init is None or param.fill_expr is None:
        return out
    defaults = dict(init.defaults)
    for container, path in project.containers.get(cls.qualname, []):
        holder = project.classes.get(container)
        placed = project.placed_by_path(holder).get(path) if holder is not None else None
        if placed is None:
            continue
        bound = call_binding(init, placed.layer)
        if not bound:
            continue
        value = _number(project.evaluator.value(param.fill_expr, {**defaults, **bound}))
        if value is not None:
            out.append((holder.name if holder is not None else container, value))
    return out


def _span(ctx: FileContext, sites: tuple[InitSite, ...], param: ParamFact) -> Span:
    """The first writer in this file, else the parameter's construction."""
    here = [s for s in sites if (f := ctx.project.function_file.get(s.function)) is not None
            and f.path == ctx.facts.path]
    return min(here, key=lambda s: (s.span.row, s.span.column)).span if here else param.span


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@rule("INI107", "init-ignores-argument", W,
      "An init that writes a constant over a parameter whose starting value a constructor "
      "argument sets (init_values, a temperature), or γ = 1 on a norm whose forward scales "
      "by 1 + γ.")
def init_ignores_argument(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    project = ctx.project
    for cls in ctx.facts.classes:
        if not project.is_module(cls):
            continue
        for param in (*cls.params, *_inherited_scales(project, cls)):
            if param.branched:
                continue
            end = _end_value(project, cls, param)
            if end is None:
                continue
            value, sites = end
            if param.fill_params and sites:
                yield from _ignored(rule, ctx, cls, param, value, sites)
            elif param.name in cls.unit_offset and _same(value, 1.0):
                yield _offset(rule, ctx, cls, param, sites)


def _inherited_scales(project: ProjectFacts, cls: ClassFacts) -> tuple[ParamFact, ...]:
    """``class LayerNorm1P(nn.LayerNorm)`` whose forward adds 1 to ``self.weight``: the
    weight its torch base builds, which starts at 1 (no fill from arguments)."""
    if "weight" not in cls.unit_offset or any(p.name == "weight" for p in cls.params):
        return ()
    for base in (b for klass in project.mro(cls) for b in klass.bases):
        kind = api.LAYERS.get(api.canonical(base))
        if kind is not None and kind.family == "norm" and kind.weight_ndim:
            return (ParamFact("weight", kind.weight_ndim, cls.span,
                              fill=api.NORM_WEIGHT_START),)
    return ()


def _ignored(rule: Rule, ctx: FileContext, cls: ClassFacts, param: ParamFact, value: float,
             sites: tuple[InitSite, ...]) -> Iterator[Finding]:
    wanted = [(who, v) for who, v in _argument_values(ctx.project, cls, param)
              if not _same(v, value)]
    if not wanted:
        return  # the constant is what every construction asks for: nothing is lost
    who, argument = wanted[0]
    source = ", ".join(f"`{p}`" for p in param.fill_params)
    built = f" (as `{who}` builds it)" if who else ""
    yield rule.finding(
        ctx, _span(ctx, sites, param),
        f"`{sites[0].func}` sets `{cls.name}.{param.name}` to {_fmt(value)}, ignoring "
        f"{source}, which asks for {_fmt(argument)}{built}",
        f"`__init__` makes `{param.name}` from {source} ({_fmt(argument)}{built}), and then "
        f"this init overwrites every element with {_fmt(value)}: the argument has no effect "
        "and the model starts somewhere the author did not choose. Measured with torch 2.13 "
        "on a cut-down ViT: a LayerScale γ meant to start at 1e-5 starts at 1.0, so each "
        "residual branch adds its full output instead of 1e-5 of it; a CLIP temperature "
        "meant to start at log(1/0.07) (scale 14.29) filled with 1 starts at scale 2.72. "
        f"Write the argument instead (`nn.init.constant_(..., {param.fill_params[0]})`).",
        subject=f"{cls.qualname}::{param.name}@{argument!r}")


def _offset(rule: Rule, ctx: FileContext, cls: ClassFacts, param: ParamFact,
            sites: tuple[InitSite, ...]) -> Finding:
    how = f"`{sites[0].func}`" if sites else "its construction"
    return rule.finding(
        ctx, _span(ctx, sites, param),
        f"{how} sets `{cls.name}.{param.name}` to 1, but `forward` scales by "
        f"`1 + {param.name}`: the layer starts at scale 2",
        f"`forward` uses `(1 + self.{param.name})`, so {param.name} = 0 is the identity "
        f"scale and {param.name} = 1 doubles the normalized output (measured with torch "
        "2.13 on a Gemma-style RMSNorm: output rms 2.0 instead of 1.0, and a residual "
        "stream that grows ×2 per norm instead of staying level). Start it at 0 "
        "(`torch.zeros`, `nn.init.zeros_`).",
        subject=f"{cls.qualname}::{param.name}@offset")


RULES = (init_ignores_argument,)
