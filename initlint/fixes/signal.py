"""Fixes for INI1xx (signal propagation): write the init that keeps the signal's scale.

All unsafe: they change initial weights on purpose. The init they write follows each
layer's activation (RULES.md, "The numbers behind the rules"): He for the ReLU family (and,
close enough, GELU/SiLU), xavier with calculate_gain for tanh/sigmoid, xavier for a layer
that feeds nothing, zeros for biases.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import Fix
from initlint.extract.facts import ClassFacts, FunctionFacts, InitSite, LayerFact
from initlint.fixes.common import (
    attribute_path,
    call,
    init_spelling,
    nn_spelling,
    quoted,
    self_name,
)
from initlint.fixes.plan import Append, Branch, Node, Replace, SetArg, Wrap
from initlint.semantic.context import FileContext
from initlint.semantic.evaluate import tests_on

#: Names of init methods an explicit init may be added to (when ``__init__`` calls it).
_INIT_METHODS = ("_init_weights", "init_weights", "_initialize_weights", "reset_parameters",
                 "_reset_parameters", "initialize_weights")


@dataclass(frozen=True)
class Layer:
    """A weight layer to initialize: its path under ``self``, what it is, what follows it."""

    path: str
    layer: LayerFact
    act: str | None
    slope: Any = None


def _single(value: str) -> str:
    return f"'{value}'"


def weight_init(init: str, act: str | None, slope: Any, tensor: str,
                q: Callable[[str], str] = _single) -> str:
    """The init call that keeps the variance through ``act`` (``q`` quotes strings)."""
    info = api.ACTIVATIONS.get(act) if act else None
    if info is None:
        return f"{init}.xavier_uniform_({tensor})"
    if info.family == "saturating":
        if info.gain_name in (None, "sigmoid", "linear"):
            return f"{init}.xavier_uniform_({tensor})"
        return (f"{init}.xavier_uniform_({tensor}, "
                f"gain={init}.calculate_gain({q(info.gain_name)}))")
    if act == "selu":
        return f"{init}.kaiming_normal_({tensor}, nonlinearity={q('linear')})"
    if act in ("leaky_relu", "prelu") and isinstance(slope, (int, float)) and slope:
        return f"{init}.kaiming_normal_({tensor}, a={slope:g}, nonlinearity={q('leaky_relu')})"
    return f"{init}.kaiming_normal_({tensor}, nonlinearity={q('relu')})"


def _bias(layer: LayerFact) -> Any:
    kind = api.LAYERS.get(layer.cls)
    if kind is None or not kind.has_bias_param:
        return False
    return layer.literal("bias", api.POSITIONAL_BIAS_INDEX.get(kind.family), True)


def _body(init: str, var: str, layer: Layer, q: Callable[[str], str],
          any_layer: bool = False) -> list[str]:
    """The init of one layer (``any_layer``: of whichever layer of its type the code gets:
    its bias may be None)."""
    lines = [weight_init(init, layer.act, layer.slope, f"{var}.weight", q)]
    bias = None if any_layer else _bias(layer.layer)
    if bias is True:
        lines.append(f"{init}.zeros_({var}.bias)")
    elif bias is not False:
        lines += [f"if {var}.bias is not None:", f"    {init}.zeros_({var}.bias)"]
    return lines


def explicit_init(ctx: FileContext, cls: ClassFacts, layers: list[Layer]) -> Fix | None:
    """INI101: an isinstance dispatch over ``self.modules()`` (one branch per weight-layer
    type, its init from the first layer of that type in the chain, biases zeroed behind
    ``is not None``), added to the model's own dispatch, else to the init method
    ``__init__`` calls, else in a new ``_init_weights`` called at the end of ``__init__``.

    A dispatch holds for every construction the class allows (a constructor branch that
    builds other layers, a layer built without bias); indexing the layers the default
    construction happens to build does not. Never offered where ``__init__`` loads weights:
    the init would overwrite them."""
    init = init_spelling(ctx.facts, None, ctx.text)
    nn = nn_spelling(ctx.facts)
    ctor = ctx.project.functions.get(f"{cls.qualname}.__init__")
    if init is None or nn is None or ctor is None or ctx.project.function_file.get(
            ctor.qualname) not in (None, ctx.facts) or ctx.project.calls.loads_weights(cls, ctor):
        return None
    first_of: dict[str, Layer] = {}
    for layer in layers:
        first_of.setdefault(layer.layer.cls, layer)
    if not all(t.startswith("torch.nn.") and t.count(".") == 2 for t in first_of):
        return None
    branch = _type_branch(ctx, cls, layers, init.text)
    if branch is not None:
        return branch
    q = partial(quoted, ctx.text)
    code = ["for m in self.modules():"]
    for i, (cls_name, layer) in enumerate(first_of.items()):
        test = f"isinstance(m, {nn.text}.{cls_name.rsplit('.', 1)[-1]})"
        code.append(f"    {'if' if i == 0 else 'elif'} {test}:")
        code += [f"        {line}" for line in _body(init.text, "m", layer, q, any_layer=True)]
    statements = "\n".join(code)
    kinds = sorted({weight_init("", layer.act, layer.slope, "w").split("(")[0].lstrip(".")
                    for layer in first_of.values()})
    what = f"{' / '.join(kinds)} for every " + "/".join(
        t.rsplit(".", 1)[-1] for t in first_of) + " (zero biases)"
    imports = (*init.imports, *nn.imports)
    existing = _called_init_method(ctx, cls, ctor)
    if existing is not None:
        return Fix("unsafe", f"Add a `self.modules()` dispatch to `{existing.name}`: {what}",
                   changes=(Append(Node(existing.span, "def"),
                                   re.sub(r"\bself\b", self_name(existing), statements)),
                            *imports))
    names = {m.rsplit(".", 1)[-1] for m in cls.methods}
    name = next(n for n in ("_init_weights", "_init_chain_weights", "_init_weights_he")
                if n not in names)
    method = f"def {name}(self):\n" + "\n".join(f"    {line}" for line in code)
    return Fix("unsafe", f"Add `{name}` ({what}), called at the end of `__init__`",
               changes=(Append(Node(cls.span, "class"), method),
                        Append(Node(ctor.span, "def"), f"{self_name(ctor)}.{name}()"),
                        *imports))


def _type_branch(ctx: FileContext, cls: ClassFacts, layers: list[Layer],
                 init: str) -> Fix | None:
    """When the model already runs an isinstance dispatch over all its modules (a
    ``self.modules()`` loop or an ``apply`` callback, in this file) that handles other
    types: one more ``elif isinstance(m, <the chain's type>):`` branch, with the init of the
    chain's hidden layers (its first activation decides)."""
    types = sorted({layer.layer.cls for layer in layers})
    nn = nn_spelling(ctx.facts)
    if nn is None or not all(t.startswith("torch.nn.") and t.count(".") == 2 for t in types):
        return None
    for item in ctx.project.effective(cls).applied:
        site = item.site
        var = item.binding.var if item.binding else site.target.base
        if (item.how != "each_module" or item.scope or not var or site.target.path or
                site.target.attr != "weight" or not tests_on(site, (var,)) or
                ctx.project.site_file(site) not in (None, ctx.facts)):
            continue
        first = layers[0]
        body = _body(init, var, Layer(first.path, first.layer, first.act, first.slope),
                     partial(quoted, ctx.text), any_layer=True)
        names = [f"{nn.text}.{t.rsplit('.', 1)[-1]}" for t in types]
        spec = names[0] if len(names) == 1 else f"({', '.join(names)})"
        what = weight_init("", first.act, first.slope, "w").split("(")[0].lstrip(".")
        return Fix("unsafe", f"Add `elif isinstance({var}, {spec}):` ({what}, zero bias) to "
                   "the init dispatch",
                   changes=(Branch(Node(site.statement_span, "stmt"), var,
                                   f"isinstance({var}, {spec})", "\n".join(body)),
                            *nn.imports))
    return None


def _called_init_method(ctx: FileContext, cls: ClassFacts,
                        ctor: FunctionFacts) -> FunctionFacts | None:
    """An init method of this class (in this file, taking only self) that ``__init__``
    calls directly."""
    called = {c.name for c in ctor.calls if c.kind == "self_method" and c.receiver == "self"}
    for qualname in cls.methods:
        fn = ctx.project.functions.get(qualname)
        if fn is None or fn.name not in _INIT_METHODS or fn.name not in called:
            continue
        if [p for p in fn.params if p != "self"] or fn.static:
            continue
        if ctx.project.function_file.get(fn.qualname) in (None, ctx.facts):
            return fn
    return None


def relu_gain(ctx: FileContext, site: InitSite) -> Fix | None:
    """INI102: xavier with ``gain=calculate_gain('relu')``."""
    init = init_spelling(ctx.facts, site, ctx.text)
    if init is None or site.style not in ("init", "alias"):
        return None
    gain = f"{init.text}.calculate_gain({quoted(ctx.text, 'relu')})"
    return Fix("unsafe", f"Pass `gain={gain}`",
               changes=(SetArg(call(site), "gain", gain, 1), *init.imports))


def matching_gain(ctx: FileContext, site: InitSite, act: str, slope: Any) -> Fix | None:
    """INI103: the gain of the activation the layer feeds: xavier instead of kaiming
    before tanh/sigmoid (the rule's concern is saturation: gain 1 keeps the units out of it;
    measured on 6 tanh layers, 0 % of outputs beyond ±0.99), the network's slope for
    kaiming's ``a``, or ``calculate_gain`` of the right name."""
    init = init_spelling(ctx.facts, site, ctx.text)
    info = api.ACTIVATIONS.get(act)
    if init is None or info is None or site.style not in ("init", "alias"):
        return None
    func = api.DEPRECATED_ALIASES.get(site.func, site.func)
    spec = api.INIT_FUNCTIONS.get(func)
    if spec is None:
        return None
    if spec.kind == "kaiming" and info.family == "saturating":
        tensor = _tensor_text(ctx, site)
        if tensor is None:
            return None
        dist = "normal" if "normal" in func else "uniform"
        code = f"{init.text}.xavier_{dist}_({tensor})"  # 1/fan_avg: out of saturation
        return Fix("unsafe", f"Use `{code}`", changes=(Replace(call(site), code),
                                                      *init.imports))
    if spec.kind == "kaiming" and act in ("leaky_relu", "prelu") and isinstance(
            slope, (int, float)):
        return Fix("unsafe", f"Pass `a={slope:g}` (the network's slope)",
                   changes=(SetArg(call(site), "a", f"{slope:g}", 1),))
    if spec.kind in ("xavier", "orthogonal") and info.gain_name:
        gain = f"{init.text}.calculate_gain({quoted(ctx.text, info.gain_name)}" + (
            f", {slope:g})" if info.gain_name == "leaky_relu" and isinstance(
                slope, (int, float)) else ")")
        return Fix("unsafe", f"Pass `gain={gain}`",
                   changes=(SetArg(call(site), "gain", gain, 1), *init.imports))
    return None


def _tensor_text(ctx: FileContext, site: InitSite) -> str | None:
    spans = dict(site.arg_spans)
    if "tensor" in spans:
        return ctx.source(spans["tensor"]) or None
    return site.target.text or None


def zero_last_branch_layer(ctx: FileContext, container: ClassFacts, layer_name: str,
                           block: ClassFacts) -> Fix | None:
    """INI104: zero the last weight layer of every residual branch at the end of the
    container's ``__init__`` (after any He init there): each block starts as the identity
    (Fixup, torchvision's ``zero_init_residual``)."""
    init = init_spelling(ctx.facts, None, ctx.text)
    ctor = ctx.project.functions.get(f"{container.qualname}.__init__")
    last = _last_weight_layer(block)
    if init is None or ctor is None or last is None or ctx.project.function_file.get(
            ctor.qualname) not in (None, ctx.facts) or ctx.project.calls.loads_weights(
                container, ctor):
        return None
    stack = attribute_path(self_name(ctor), layer_name.removesuffix(".*"))
    inner = attribute_path("block", last.name)
    if stack is None or inner is None:
        return None
    lines = [f"for block in {stack}:", f"    {init.text}.zeros_({inner}.weight)"]
    bias = _bias(last)
    if bias is True:
        lines.append(f"    {init.text}.zeros_({inner}.bias)")
    elif bias is not False:
        lines += [f"    if {inner}.bias is not None:", f"        {init.text}.zeros_({inner}.bias)"]
    return Fix("unsafe", f"Zero the last layer of each residual branch (`{last.name}`) at the "
               "end of `__init__`: every block starts as the identity (Fixup, "
               "zero_init_residual)",
               changes=(Append(Node(ctor.span, "def"), "\n".join(lines)), *init.imports))


def _last_weight_layer(block: ClassFacts) -> LayerFact | None:
    """The branch's last weight layer, in forward order when the flow is known."""
    layers = {layer.name: layer for layer in block.layers}
    last = None
    for chain in block.chains:
        for step in chain.steps:
            layer = layers.get(step.ref) if step.kind == "module" else None
            kind = api.LAYERS.get(layer.cls) if layer is not None else None
            if kind is not None and kind.family in api.WEIGHT_LAYER_FAMILIES:
                last = layer
    if last is None:
        weights = [layer for layer in block.layers if (kind := api.LAYERS.get(layer.cls))
                   is not None and kind.family in api.WEIGHT_LAYER_FAMILIES]
        last = weights[-1] if weights else None
    return last if last is not None and "*" not in last.name else None



def chunk_per_gate(ctx: FileContext, site: InitSite, gates: int) -> Fix | None:
    """INI105: run the orthogonal/eye init on each gate's block of the stacked recurrent
    weight (``chunk`` returns views, so the init writes into the parameter)."""
    text = ctx.source(site.span)
    first = _first_arg(text)
    if first is None or not site.discarded:
        return None
    start, end = first
    tensor = text[start:end]
    block = "block" if "block" not in text else "gate_block"
    loop = f"for {block} in {tensor}.chunk({gates}, 0)"
    return Fix("unsafe", f"Initialize each of the {gates} gate blocks: `{loop}: ...`",
               changes=(SetArg(call(site), "tensor", block, 0),
                        Wrap(Node(site.statement_span, "stmt"), loop)))


def _first_arg(text: str) -> tuple[int, int] | None:
    """Where the first positional argument of the one-line call ``text`` is written."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or not node.args or isinstance(node.args[0], ast.Starred):
        return None
    arg = node.args[0]
    raw = text.encode("utf-8")
    start = len(raw[:arg.col_offset].decode("utf-8"))
    end = len(raw[:arg.end_col_offset].decode("utf-8"))
    return start, end
