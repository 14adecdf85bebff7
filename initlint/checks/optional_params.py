"""INI005's query: optional parameters (bias, affine weight/bias) written without a None guard.

Kept apart from the other api rules because it needs to find where layers are *built*:
an unguarded ``m.bias`` is only a crash where a layer of that type is built without one.
"""

from __future__ import annotations

from collections.abc import Iterator

from initlint.checks.base import FileContext, Rule
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Fix
from initlint.extract.facts import Construction, InitSite
from initlint.fixes.api import guard
from initlint.semantic.evaluate import missing_param
from initlint.semantic.paths import absent, existence_test
from initlint.semantic.records import Placed


def _guarded(ctx: FileContext, site: InitSite, cls: str, layer) -> bool:
    """Does the site's path exclude a ``cls`` layer built as ``layer`` (whose target is
    None)? Evaluated: ``if m.bias is not None``, ``getattr(m, 'bias', None)``, ``if
    m.affine``, an isinstance ladder that picks other types... A test we cannot decide on
    that module counts as a guard (we only report what certainly runs)."""
    target = site.target
    var = target.base
    if var == "self":
        owner = ctx.project.classes.get(_function_class(ctx, site))
        if owner is None:
            return True
        env_cls, env_layer = owner.qualname, None
    else:
        env_cls, env_layer = cls, layer
    if ctx.project.tests.on_module(site, var, env_cls, env_layer,
                                   _free_loop_names(ctx, site)) is not True:
        return True
    return _callers_exclude(ctx, site, var, cls, layer)


def _callers_exclude(ctx: FileContext, site: InitSite, var: str, cls: str, layer) -> bool:
    """Every way a model runs the site passes through tests that reject this layer
    (``for m in self.modules(): if isinstance(m, nn.BatchNorm2d): self._init_norm(m)``)."""
    project = ctx.project
    items = [a for model in project.models_running(site)
             for a in project.construction(model)[0] if a.site is site]
    if not items or not all(a.extra for a in items):
        return False
    return all(project.tests.on_module(site, a.binding.var if a.binding else var, cls,
                                       layer, _free_loop_names(ctx, site), a.extra, a.alias)
               is False for a in items)


def _spelled(ctx: FileContext, site: InitSite, text: str) -> str:
    """``text`` with ``self`` spelled as the source spells the method's instance parameter."""
    fn = ctx.project.functions.get(site.function)
    if fn is not None and fn.self_name != "self" and (text == "self" or
                                                        text.startswith("self.")):
        return fn.self_name + text[len("self"):]
    return text


def _function_class(ctx: FileContext, site: InitSite) -> str:
    fn = ctx.project.functions.get(site.function)
    return fn.cls if fn is not None else ""


def _free_loop_names(ctx: FileContext, site: InitSite) -> frozenset[str]:
    fn = ctx.project.functions.get(site.function)
    return (frozenset(n for b in fn.loops for n in (b.var, b.name_var) if n) if fn else
        frozenset())


def unguarded_optional_params(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for site in ctx.facts.sites:
        target = site.target
        if (target.attr not in ("bias", "weight") or target.index or not target.base
                or target.copy or site.style in ("assign", "helper")):
            continue
        found = _offending_layer(ctx, site)
        if found is None:
            continue
        cls, reason, where = found
        name = cls.rsplit(".", 1)[-1]
        subject = _spelled(ctx, site, f"{target.owner}.{target.attr}")
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
    if target.base == "self" and function is not None and function.cls:
        # ``self`` in a method is a module of the method's class, never a dispatch variable
        cls = project.classes.get(function.cls)
        if cls is None:
            return None
        if not target.path:
            return None  # the module's own attribute (``self.bias``): no layer's argument
        placed = project.placed_by_path(cls).get(target.path)  # built with the defaults
        if placed is not None:
            layer = placed.layer
            reason = missing_param(layer.cls, layer, target.attr)
            if (reason and not _guarded(ctx, site, layer.cls, layer)
                    and _may_run_without(ctx, site, placed, target.attr)):
                return layer.cls, reason, f"line {layer.span.row}"
        return _built_without_by_container(ctx, site, cls)
    types = frozenset(project.tests.dispatched_types(site, target.base))
    if not types:
        return None
    models = _models_running(ctx, site)
    parts = set().union(*(project.composed_of(m) for m in models)) if models else None
    for cons in ctx.facts.constructions:
        if cons.cls in types and (parts is None or not cons.owner or cons.owner in parts):
            reason = missing_param(cons.cls, cons, target.attr)
            if reason and not _guarded(ctx, site, cons.cls, cons):
                return cons.cls, reason, f"line {cons.span.row}"
    for model in models:
        for placed in project.placed_layers(model):
            if placed.layer.cls in types:
                reason = missing_param(placed.layer.cls, placed.layer, target.attr)
                if reason and not _guarded(ctx, site, placed.layer.cls, placed.layer):
                    return placed.layer.cls, reason, f"`{model.name}.{placed.path}`"
    # Types whose default has no such parameter (InstanceNorm): a construction anywhere in
    # the same package that does not pass ``affine=`` keeps the default, **kwargs or not.
    package = ctx.facts.module.split(".")[0]
    for layer_cls in types:
        kind = api.LAYERS.get(layer_cls)
        if kind is None or kind.affine_default or target.attr not in ("weight", "bias"):
            continue
        for facts in project.files:
            if facts.module.split(".")[0] != package or (not package and facts is not ctx.facts):
                continue
            for cons in facts.constructions:
                if (cons.cls == layer_cls and not _passes_affine(cons, kind)
                        and not _guarded(ctx, site, cons.cls, cons)):
                    return (layer_cls, f"{kind.affine_param}=False (its default)",
                            f"{facts.path}:{cons.span.row}")
    return None


def _may_run_without(ctx: FileContext, site: InitSite, placed: Placed, attr: str) -> bool:
    """Can the site run in a construction that builds the layer without ``attr``? In the
    ``__init__`` that builds it, the site's tests, the tests around the layer's statement and
    the parameter that decides whether ``attr`` exists (``nn.Linear(a, b, bias)``) are
    evaluated under one binding of the constructor's parameters: ``if bias:`` never meets
    ``bias`` false."""
    if site.function != f"{placed.owner}.__init__":
        return True
    groups = [site.conditions, placed.layer.conditions]
    test = existence_test(placed.layer, attr)
    if test is not None:
        groups.append((absent(test),))
    return ctx.project.may_meet(site.function, *groups)


def _built_without_by_container(ctx: FileContext, site: InitSite,
                                cls) -> tuple[str, str, str] | None:
    """``self.linear.bias`` in a class built with ``bias=bias``: a model that builds the
    class with ``bias=False`` (Tacotron 2's ``Prenet`` of ``LinearNorm``) makes it None."""
    project = ctx.project
    if site.conditions:
        return None  # evaluated in the class's default construction only: any test may guard
    for container, path in project.containers.get(cls.qualname, ()):
        owner = project.classes.get(container)
        if owner is None:
            continue
        for full in (f"{path}.{site.target.path}", f"{path}.*.{site.target.path}"):
            placed = project.placed_by_path(owner).get(full)
            if placed is None:
                continue
            reason = missing_param(placed.layer.cls, placed.layer, site.target.attr)
            if reason:
                return placed.layer.cls, reason, f"`{owner.name}.{placed.path}`"
    return None


def _passes_affine(cons: Construction, kind: api.LayerKind) -> bool:
    index = api.POSITIONAL_AFFINE_INDEX.get(cons.cls)
    return any(k == kind.affine_param for k, _ in cons.kwargs) or (
        index is not None and index < len(cons.args))


def _models_running(ctx: FileContext, site: InitSite):
    return ctx.project.models_running(site)


def _guard_fix(ctx: FileContext, site: InitSite, subject: str) -> Fix | None:
    return guard(site, subject)
