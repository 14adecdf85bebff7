"""Fixes for INI2xx (coverage): the init reaches what its author meant it to.

All unsafe: each changes initial values (a bias zeroed, a γ drawn around 1, a padding row
zeroed, an init that now runs), which is the point, but never "the same program".
"""

from __future__ import annotations

import ast
import textwrap

from initlint.core import torch_api as api
from initlint.core.findings import Fix, Span
from initlint.core.text import split_lines
from initlint.extract.facts import ClassFacts, FunctionFacts, InitSite
from initlint.fixes.common import (
    attribute_path,
    call,
    init_spelling,
    loop_var,
    nn_spelling,
    quoted,
    self_name,
    statement,
)
from initlint.fixes.plan import (
    AddTypes,
    Append,
    Insert,
    Move,
    Node,
    Rename,
    Replace,
    SetArg,
    Wrap,
)
from initlint.semantic.context import FileContext
from initlint.semantic.project import ProjectFacts
from initlint.semantic.records import Placed


def _dispatched(ctx: FileContext, site: InitSite, var: str) -> list[str]:
    """The torch layer classes the site's tests on ``var`` certainly let through ([] when
    it tests nothing about ``var``)."""
    return ctx.project.tests.dispatched_types(site, var)


def _param_loop(ctx: FileContext, site: InitSite) -> bool:
    binding = loop_var(site, ctx.project.functions)
    return binding is not None and "parameters" in binding.source


def zero_bias(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI206: zero the bias right after the weight init. Only where ``<m>.bias`` means the
    layer's bias: never in a parameter loop (``p`` is a tensor), and behind
    ``getattr(m, 'bias', None)`` where the module may be a type without one (Embedding)."""
    init = init_spelling(ctx.facts, site, ctx.text)
    target = site.target
    if (init is None or not site.discarded or target.attr != "weight" or target.index
            or not target.base or _param_loop(ctx, site)):
        return None
    if target.base == "self":
        me = self_name(ctx.project.functions.get(site.function))
        owner = attribute_path(me, target.path) if target.path else None
        if owner is None:
            return None
        code = f"{init.text}.zeros_({owner}.bias)"
        if bias_may_be_absent(ctx, site):  # ``bias=bias``: another construction has none
            code = f"if {owner}.bias is not None:\n    {code}"
    else:
        if target.path:
            return None
        owner = target.base
        types = _dispatched(ctx, site, owner)
        with_bias = bool(types) and all(
            (kind := api.LAYERS.get(t)) is not None and kind.has_bias_param for t in types)
        test = (f"{owner}.bias is not None" if with_bias else
            f"getattr({owner}, {quoted(ctx.text, 'bias')}, None) is not None")
        code = f"if {test}:\n    {init.text}.zeros_({owner}.bias)"
    return Fix("unsafe", f"Insert `{init.text}.zeros_({owner}.bias)` after the weight init "
               "(changes the initial bias)",
               changes=(Insert(statement(site), code), *init.imports))


def bias_may_be_absent(ctx: FileContext, site: InitSite) -> bool:
    """Can the layer ``self.<path>`` that ``site`` writes be built without a bias by some
    construction of its class? The check sees the default construction (``bias=bias``
    folded to its default ``True``); the class's own statement decides for all the others:
    a bias passed from a variable, through ``**kwargs``, or not known, may be ``False``."""
    project = ctx.project
    fn = project.functions.get(site.function)
    cls = project.classes.get(fn.cls) if fn is not None and fn.cls else None
    if cls is None:
        return True
    placed = project.placed_by_path(cls).get(site.target.path)
    if placed is None:
        return True
    kind = api.LAYERS.get(placed.layer.cls)
    if kind is None or not kind.has_bias_param:
        return True
    owner = project.classes.get(placed.owner)
    raw = next((layer for layer in owner.layers if layer.name == placed.layer.name),
               None) if owner is not None else None
    index = api.POSITIONAL_BIAS_INDEX.get(kind.family)
    own = raw.literal("bias", index, True) if raw is not None else None
    bound = placed.layer.literal("bias", index, True)
    return own is not True or bound is not True or any(
        (held := _placed_in(project, container, f"{path}.{site.target.path}")) is not None
        and held.layer.literal("bias", index, True) is not True
        for container, path in project.containers.get(cls.qualname, ()))


def _placed_in(project: ProjectFacts, container: str, path: str) -> Placed | None:
    """The layer at ``path`` in the tree of the class named ``container``, if any."""
    klass = project.classes.get(container)
    return project.placed_by_path(klass).get(path) if klass is not None else None


def dim_filter(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI204: keep the loop's draw off 1-D parameters (norm γ and β, biases) with
    ``if p.dim() > 1:`` — the idiom of transformer codebases."""
    binding = loop_var(site, ctx.project.functions)
    if (binding is None or "parameters" not in binding.source or site.target.attr
            or site.target.path or not site.discarded):
        return None
    var = binding.var
    return Fix("unsafe", f"Wrap in `if {var}.dim() > 1:` (norm scales and biases keep their "
               "defaults)", changes=(Wrap(statement(site), f"if {var}.dim() > 1"),))


def rezero_padding(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI205: re-zero the padding row after the draw (transformers' idiom)."""
    target = site.target
    if (not site.discarded or target.attr != "weight" or target.index or not target.base
            or _param_loop(ctx, site)):
        return None
    if target.base == "self":
        me = self_name(ctx.project.functions.get(site.function))
        owner = attribute_path(me, target.path) if target.path else None
        if owner is None:
            return None
        code = f"{owner}.weight.data[{owner}.padding_idx].zero_()"
    else:
        if target.path:
            return None
        owner = target.base
        types = _dispatched(ctx, site, owner)
        test = (f"{owner}.padding_idx is not None" if types and all(
            t == api.NN + "Embedding" for t in types) else
            f"getattr({owner}, {quoted(ctx.text, 'padding_idx')}, None) is not None")
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
        if api.DEPRECATED_ALIASES.get(site.func, site.func) == "constant_":
            return Fix("unsafe", "Set `val=1` (γ = 1, PyTorch's own start)",
                       changes=(SetArg(call(site), "val", "1", 1),))
        return Fix("unsafe", "Use `ones_` (γ = 1, PyTorch's own start)",
                   changes=(Rename(call(site), "ones_"),))
    if kind == "uniform" and init is not None and site.target.text:
        tensor = site.target.text
        return Fix("unsafe", f"Use `{init.text}.ones_({tensor})` (γ = 1)",
                   changes=(Replace(call(site), f"{init.text}.ones_({tensor})"),
                            *init.imports))
    return None


def call_init(ctx: FileContext, cls: ClassFacts, fn: FunctionFacts) -> Fix | None:
    """INI201: call the method at the end of ``__init__`` (of the class, or of its
    subclasses in this file when it has none: they build the layers): ``self.fn()``, or
    ``self.apply(self.fn)`` for a per-module callback."""
    required = _required_params(ctx, fn)
    if required is None or len(required) > 1:
        return None
    owners = ([cls] if f"{cls.qualname}.__init__" in ctx.project.functions else
        sorted(ctx.project.subclasses(cls), key=lambda k: k.span.row))
    changes = []
    for owner in owners:
        init = ctx.project.functions.get(f"{owner.qualname}.__init__")
        if init is None or ctx.project.function_file.get(init.qualname) not in (
                None, ctx.facts) or ctx.project.calls.loads_weights(owner, init):
            continue  # (an init after a load would overwrite the loaded weights)
        me = self_name(init)
        code = f"{me}.apply({me}.{fn.name})" if required else f"{me}.{fn.name}()"
        changes.append(Append(Node(init.span, "def"), code))
    if not changes:
        return None
    where = ", ".join(f"`{o.name}.__init__`" for o in owners)
    return Fix("unsafe", f"Call `{code}` at the end of {where}", changes=tuple(changes))


def _required_params(ctx: FileContext, fn: FunctionFacts) -> list[str] | None:
    """The parameters a call must pass (beyond ``self``), read from the def itself."""
    lines = split_lines(ctx.text)[fn.span.row - 1:fn.span.end_row]
    try:
        tree = ast.parse(textwrap.dedent("\n".join(lines)))
    except SyntaxError:
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    args = node.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    if positional and positional[0] in ("self", "cls") and not fn.static:
        positional = positional[1:]
    required = positional[:len(positional) - len(args.defaults)]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                 if d is None]
    return required


def move_after_layers(ctx: FileContext, cls: ClassFacts, call_span: Span,
                      last_layer: Span) -> Fix | None:
    """INI202: move the init call to just after the statement that builds the last layer."""
    init = ctx.project.functions.get(f"{cls.qualname}.__init__")
    if init is None:
        return None
    return Fix("unsafe", "Move the init call after the last layer is built",
               changes=(Move(Node(call_span, "stmt"), last_layer, Node(init.span, "def")),))


def add_missed_types(ctx: FileContext, handled: dict[InitSite, set[str]],
                     missed: list[str]) -> Fix | None:
    """INI203: add the missed layer types to the isinstance test of the dispatch branch
    that handles their role (``Conv2d`` → ``(nn.Conv2d, nn.ConvTranspose2d)``)."""
    nn = nn_spelling(ctx.facts)
    if nn is None or not missed or not all(
            t.startswith("torch.nn.") and t.count(".") == 2 for t in missed):
        return None
    roles = {api.LAYERS[t].family.replace("conv_transpose", "conv") for t in missed
             if t in api.LAYERS}
    for site in sorted(handled, key=lambda s: (s.span.row, s.span.column)):
        families = {api.LAYERS[t].family.replace("conv_transpose", "conv")
                    for t in handled[site] if t in api.LAYERS}
        if (not roles <= families or not site.target.base or site.target.path or
                ctx.project.site_file(site) not in (None, ctx.facts)
                or site not in ctx.facts.sites):
            continue  # (a site run with a call's values: its test reads what the call binds)
        names = tuple(f"{nn.text}.{t.rsplit('.', 1)[-1]}" for t in sorted(missed))
        return Fix("unsafe", f"Add {', '.join(f'`{n}`' for n in names)} to the isinstance "
                   "test of this branch",
                   changes=(AddTypes(Node(site.statement_span, "stmt"), site.target.base,
                                     names), *nn.imports))
    return None
