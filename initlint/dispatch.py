"""Does an init site write a given layer parameter? Evaluating the conditions it runs under.

An ``Applied`` site walks modules (``self.modules()``, an ``apply`` callback), parameters
(``named_parameters()``) or chosen members; its ``isinstance``/class-name dispatch, name and
``dim()`` filters decide, for one layer at one path, "yes", "no" or "maybe" (a test we cannot
evaluate). Kept apart from :mod:`initlint.project`, which decides *which* sites run.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from initlint import torch_api as api
from initlint.facts import UNKNOWN, Condition, LayerFact

if TYPE_CHECKING:
    from initlint.project import Applied, ProjectFacts


def hits(project: ProjectFacts, item: Applied, path: str, layer: LayerFact, attr: str,
          classes_at: dict[str, str]) -> str:
    """Does ``item`` write ``<path>.<attr>``? "yes", "no" or "maybe"."""
    site = item.site
    scope = item.scope
    if item.how == "unknown":
        return "maybe"
    if scope and not (path == scope or path.startswith(scope + ".")):
        return "no"
    if item.how == "direct":
        return "yes" if item.scope == path and site.target.attr == attr else "no"
    if item.how == "members":
        binding = item.binding
        members = binding.members if binding else ()
        rel = path[len(scope) + 1:] if scope else path
        if rel in members and site.target.attr == attr and not site.target.path:
            return "yes"
        return "no"
    binding = item.binding
    var = binding.var if binding else site.target.base
    if item.how == "each_child":
        # ``for block in self.blocks: init(block.fc2.weight)``: direct children only
        rel = path[len(scope) + 1:] if scope else path
        child, _, inner = rel.partition(".")
        if inner != site.target.path or site.target.attr != attr:
            return "no"
        owner_cls = classes_at.get(f"{scope}.{child}" if scope else child) if inner else \
            layer.cls
        return match_module(project, site.conditions, var, owner_cls) if owner_cls else "maybe"
    if item.how == "each_param":
        if site.target.attr or site.target.path:
            return "maybe"
        name_var = binding.name_var if binding else ""
        return match_param(site.conditions, var, name_var, path, layer, attr)
    # each_module: the site writes <var>.<path>.<attr>
    if site.target.path:
        # m.bn3.weight under isinstance(m, Bottleneck): the layer is bn3 of a matching module
        if not path.endswith("." + site.target.path) and path != site.target.path:
            return "no"
        if site.target.attr != attr:
            return "no"
        owner_path = path[: -len(site.target.path)].rstrip(".")
        owner_cls = classes_at.get(owner_path)
        if owner_cls is None:
            return "maybe"
        return match_module(project, site.conditions, var, owner_cls)
    if site.target.attr != attr:
        return "no"
    return match_module(project, site.conditions, var, layer.cls)


def match_module(project: ProjectFacts, conditions: tuple[Condition, ...], var: str,
                  cls: str) -> str:
    verdict = "yes"
    for cond in conditions:
        if cond.kind == "isinstance" and cond.subject == var:
            match = any(is_instance(project, cls, t) for t in cond.values)
            unknown = any(is_instance(project, cls, t) is None for t in cond.values)
            if unknown and not match:
                verdict = "maybe"
            elif match != cond.positive:
                return "no"
        elif cond.kind == "classname" and cond.subject:
            short = cls.rsplit(".", 1)[-1]
            match = any(isinstance(v, str) and v in short for v in cond.values)
            if cond.values and all(isinstance(v, str) for v in cond.values) \
                    and match != cond.positive:
                return "no"
        elif cond.kind == "not_none":
            continue
        elif cond.kind == "other" and cond.values:
            # a negated conjunction from an if/elif ladder
            inner = [c for part in cond.values for c in part]
            if all(c.kind == "isinstance" and c.subject == var for c in inner):
                match = all(any(is_instance(project, cls, t) for t in c.values) == c.positive
                            for c in inner)
                if match != cond.positive:
                    return "no"
            else:
                verdict = "maybe"
        elif cond.kind in ("other", "name_contains", "dim") and (
                cond.subject in ("", var) or re.search(rf"\b{re.escape(var)}\b", cond.subject)):
            verdict = "maybe"  # a test on the module we cannot evaluate
    return verdict


def is_instance(project: ProjectFacts, cls: str, type_name: str) -> bool | None:
    """Is a layer of class ``cls`` an instance of ``type_name``? None when unknown."""
    if not cls:
        return None
    if cls == type_name:
        return True
    if type_name in (api.MODULE_BASE,):
        return True
    short_type = type_name.rsplit(".", 1)[-1]
    if type_name.startswith("torch.nn.") and short_type.startswith("_"):
        # torch.nn.modules.conv._ConvNd, batchnorm._BatchNorm, ...
        family = {"_ConvNd": ("Conv",), "_ConvTransposeNd": ("ConvTranspose",),
                  "_BatchNorm": ("BatchNorm", "SyncBatchNorm"), "_NormBase": ("Norm",),
                  "_InstanceNorm": ("InstanceNorm",)}.get(short_type)
        if family is None:
            return None
        return cls.rsplit(".", 1)[-1].startswith(family) or any(
            f in cls.rsplit(".", 1)[-1] for f in family if f == "Norm")
    klass = project.resolve_class(cls)
    if klass is not None:
        ancestry = project.mro(klass)
        return any(a.qualname == type_name or a.qualname.rsplit(".", 1)[-1] == short_type
                   for a in ancestry[1:]) or any(
            b == type_name or b.rsplit(".", 1)[-1] == short_type for a in ancestry
            for b in a.bases)
    if cls.startswith("torch.nn.") and type_name.startswith("torch.nn."):
        return False
    if cls.rsplit(".", 1)[-1] == short_type:
        return True
    if not type_name.startswith("torch.") and project.resolve_class(type_name) is None:
        return None
    return False


def match_param(conditions: tuple[Condition, ...], var: str, name_var: str, path: str,
                 layer: LayerFact, attr: str) -> str:
    """Does a ``named_parameters()`` loop's filter let ``<path>.<attr>`` through?"""
    full = f"{path}.{attr}"
    ndim = param_ndim(layer, attr)
    verdict = "yes"
    for cond in conditions:
        if cond.kind == "name_contains" and cond.subject == name_var:
            if "?" in cond.values:
                verdict = "maybe"
                continue
            match = any(isinstance(v, str) and v in full for v in cond.values)
            if match != cond.positive:
                return "no"
        elif cond.kind == "dim" and cond.subject == var:
            op, n = cond.values
            if ndim is UNKNOWN or n is UNKNOWN or op == "?":
                verdict = "maybe"
                continue
            holds = {">": ndim > n, ">=": ndim >= n, "<": ndim < n, "<=": ndim <= n,
                     "==": ndim == n, "!=": ndim != n}[op]
            if holds != cond.positive:
                return "no"
        elif cond.kind == "not_none":
            continue
        else:
            verdict = "maybe"
    return verdict


def param_ndim(layer: LayerFact, attr: str):
    kind = api.LAYERS.get(layer.cls)
    if kind is None:
        return UNKNOWN
    if attr == "bias":
        return 1
    if attr == "weight":
        return kind.weight_ndim if kind.weight_ndim is not None else UNKNOWN
    return UNKNOWN
