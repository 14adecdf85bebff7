"""INI005's query: optional parameters (bias, affine weight/bias) written without a None guard.

Kept apart from the other api rules because it needs to find where layers are *built*:
an unguarded ``m.bias`` is only a crash where a layer of that type is built without one.
"""

from __future__ import annotations

from collections.abc import Iterator

from initlint import torch_api as api
from initlint.checks.base import FileContext, Rule
from initlint.facts import Construction, InitSite, LayerFact
from initlint.findings import Edit, Finding, Fix, Span
from initlint.text import split_lines

_GUARD_KINDS = ("not_none", "isinstance")


def missing_param(cls: str, args: LayerFact | Construction, attr: str) -> str:
    """Why ``<layer>.<attr>`` is None for this construction, or "" when it exists (or may)."""
    kind = api.LAYERS.get(cls)
    if kind is None:
        return ""
    if kind.family in api.WEIGHT_LAYER_FAMILIES and attr == "bias":
        value = args.literal("bias", api.POSITIONAL_BIAS_INDEX.get(kind.family), True)
        return "bias=False" if value is False else ""
    if kind.family == "norm" and kind.affine_param and attr in ("weight", "bias"):
        value = args.literal(kind.affine_param, api.POSITIONAL_AFFINE_INDEX.get(cls),
                             kind.affine_default)
        if value is False:
            explicit = any(k == kind.affine_param for k, _ in args.kwargs)
            return f"{kind.affine_param}=False" + ("" if explicit else " (its default)")
    return ""


def _guarded(site: InitSite) -> bool:
    owner = site.target.owner
    for cond in site.conditions:
        if cond.kind in _GUARD_KINDS and cond.positive and (
                cond.subject.startswith(owner + ".") and cond.subject != owner + ".__class__"):
            return True
        if cond.kind not in ("isinstance", "classname", "not_none", "has_attr"):
            return True  # a test we do not understand may be the guard, or pick other modules
    return False


def unguarded_optional_params(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for site in ctx.facts.sites:
        target = site.target
        if target.attr not in ("bias", "weight") or target.index or not target.base \
                or target.copy or site.style in ("assign", "helper") or _guarded(site):
            continue
        found = _offending_layer(ctx, site)
        if found is None:
            continue
        cls, reason, where = found
        name = cls.rsplit(".", 1)[-1]
        subject = f"{target.owner}.{target.attr}"
        yield rule.finding(
            ctx, site.span,
            f"`{subject}` is initialized without an `is not None` guard, but a `{name}` is "
            f"built with {reason} ({where})",
            f"A {name} built with {reason.split(' (')[0]} has `{target.attr} = None`; "
            f"`{site.func}` on None raises (AttributeError: 'NoneType' object has no attribute "
            f"...) when this init runs. Guard it with `if {subject} is not None:`.",
            _guard_fix(ctx, site, subject))


def _offending_layer(ctx: FileContext, site: InitSite) -> tuple[str, str, str] | None:
    """(class, why the param is None, where it is built) for a layer this site reaches."""
    target = site.target
    project = ctx.project
    function = project.functions.get(site.function)
    if target.base == "self" and target.path and function is not None and function.cls:
        cls = project.classes.get(function.cls)
        if cls is None:
            return None
        for layer in project.all_layers(cls):
            if layer.name == target.path:
                reason = missing_param(layer.cls, layer, target.attr)
                if reason:
                    return layer.cls, reason, f"line {layer.span.row}"
        return None
    types = _dispatched_types(site)
    if not types:
        return None
    models = _models_running(ctx, site)
    parts = set().union(*(project.composed_of(m) for m in models)) if models else None
    for cons in ctx.facts.constructions:
        if cons.cls in types and (parts is None or not cons.owner or cons.owner in parts):
            reason = missing_param(cons.cls, cons, target.attr)
            if reason:
                return cons.cls, reason, f"line {cons.span.row}"
    for model in models:
        for placed in project.placed_layers(model):
            if placed.layer.cls in types:
                reason = missing_param(placed.layer.cls, placed.layer, target.attr)
                if reason:
                    return placed.layer.cls, reason, f"`{model.name}.{placed.path}`"
    # Types whose default has no such parameter (InstanceNorm): a construction anywhere in
    # the same package that does not pass ``affine=`` keeps the default, **kwargs or not.
    package = ctx.facts.module.split(".")[0]
    for cls in types:
        kind = api.LAYERS.get(cls)
        if kind is None or kind.affine_default or target.attr not in ("weight", "bias"):
            continue
        for facts in project.files:
            if facts.module.split(".")[0] != package or (not package and facts is not ctx.facts):
                continue
            for cons in facts.constructions:
                if cons.cls == cls and not _passes_affine(cons, kind):
                    return cls, f"{kind.affine_param}=False (its default)", \
                        f"{facts.path}:{cons.span.row}"
    return None


def _passes_affine(cons: Construction, kind: api.LayerKind) -> bool:
    index = api.POSITIONAL_AFFINE_INDEX.get(cons.cls)
    return any(k == kind.affine_param for k, _ in cons.kwargs) or (
        index is not None and index < len(cons.args))


def _dispatched_types(site: InitSite) -> frozenset[str]:
    var = site.target.base
    for cond in reversed(site.conditions):
        if cond.kind == "isinstance" and cond.subject == var and cond.positive:
            return frozenset(t for t in cond.values if t in api.LAYERS)
    return frozenset()


def _models_running(ctx: FileContext, site: InitSite):
    return ctx.project.models_running(site)


def _guard_fix(ctx: FileContext, site: InitSite, subject: str) -> Fix | None:
    span = site.statement_span
    if span.row != span.end_row or span.column != len(site.indent) + 1 or not site.discarded:
        return None
    line = split_lines(ctx.text)[span.row - 1]
    if line[span.end_column - 1:].strip() and not line[span.end_column - 1:].lstrip() \
            .startswith("#"):
        return None  # more code on the line (``a(); b()``)
    edit = Edit(Span(span.row, span.column, span.row, span.column),
                f"if {subject} is not None:\n{site.indent}    ")
    return Fix("safe", f"Guard with `if {subject} is not None:`", (edit,))
