"""INI0xx — api misuse: init code that raises, warns, or silently does nothing."""

from __future__ import annotations

from collections.abc import Iterator

from initlint.checks.base import FileContext, Rule, rule
from initlint.core import torch_api as api
from initlint.core.findings import Finding, Severity, Span
from initlint.extract.expr import Expr
from initlint.extract.facts import PARAM_WALKS, UNKNOWN, ClassFacts, InitSite, LayerFact
from initlint.extract.values import ModuleVal, ParamVal
from initlint.fixes import api as fixes
from initlint.semantic.evaluate import missing_param, tests_on

E = Severity.ERROR


@rule("INI000", "syntax-error", E, "The file does not parse; nothing in it can be checked.")
def syntax_error(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    """Reported by the engine when parsing fails; no check of its own."""
    return iter(())


@rule("INI001", "deprecated-init-alias", E,
      "A deprecated non-underscore `torch.nn.init` alias (`xavier_uniform` for `xavier_uniform_`).",
      fix="safe")
def deprecated_alias(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for site in ctx.facts.sites:
        if site.style != "alias":
            continue
        new = api.DEPRECATED_ALIASES[site.func]
        fix = fixes.deprecated_alias(ctx, site)
        yield rule.finding(
            ctx, site.name_span,
            f"`{site.func}` is a deprecated alias of `torch.nn.init.{new}`",
            f"torch.nn.init.{site.func} emits a FutureWarning ('`nn.init.{site.func}` is now "
            f"deprecated in favor of `nn.init.{new}`.'), an error under `-W error`, and may be "
            f"removed; `{new}` does the same in place.",
            fix)


@rule("INI002", "init-on-a-copy", E,
      "An initializer writes into a temporary copy, so the parameter never changes.",
      fix="unsafe")
def init_on_copy(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for site in ctx.facts.sites:
        target = site.target
        if site.wrapped:
            continue
        if target.copy and target.copy in api.TENSOR_FACTORIES:
            if site.assigned_to and _is_layer_param_attr(site.assigned_to):
                yield rule.finding(
                    ctx, site.statement_span,
                    f"`{site.assigned_to}` is assigned a plain tensor from `{site.func}`",
                    "A module's parameter attribute only accepts an nn.Parameter or None: "
                    "this raises TypeError (cannot assign 'torch.FloatTensor' as parameter). "
                    "Initialize the existing parameter in place, or wrap the tensor in "
                    "nn.Parameter(...).", fixes.parameter_assignment(ctx, site))
            elif site.discarded:
                yield rule.finding(
                    ctx, site.span,
                    f"`{site.func}` initializes a new `{target.copy.split('.')[-1]}(...)` "
                    "tensor whose result is discarded",
                    "The freshly made tensor is filled and then dropped: no parameter "
                    "changes. Pass the parameter itself (e.g. `m.weight`).")
        elif target.copy and target.base and site.discarded and site.style != "helper" and (
                site.style != "inplace" or site.func in _INIT_LIKE_METHODS):
            yield rule.finding(
                ctx, site.span,
                f"`{site.func}` writes into `{target.text}`, a copy of "
                f"`{target.owner}{'.' + target.attr if target.attr else ''}`",
                f"`.{target.copy}()` returns a new tensor (for `.to()`/`.float()`/`.cpu()`, "
                "whenever dtype or device differ), so the in-place init fills the copy and the "
                "parameter keeps its old values. Initialize the parameter itself, or its "
                "`.data`.", fixes.write_through(ctx, site))


_INIT_LIKE_METHODS = frozenset({"normal_", "uniform_", "fill_", "zero_", "copy_"})


def _is_layer_param_attr(assigned: str) -> bool:
    head, _, attr = assigned.rpartition(".")
    return attr in ("weight", "bias") and head not in ("", "self")


@rule("INI003", "inplace-on-parameter-with-grad", E,
      "An in-place tensor method on a Parameter that requires grad, outside torch.no_grad().",
      fix="safe")
def inplace_with_grad(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    if not any(s.style == "inplace" and not s.no_grad and not s.target.via_data
               for s in ctx.facts.sites):
        return
    reached = ctx.project.grad_enabled
    reported: set = set()
    # inner calls first: ``torch.arange(n, out=p).mul_(k)`` fails at the ``out=`` write,
    # and one statement gets one finding (one fix)
    for site in sorted(ctx.facts.sites, key=lambda s: (s.span.end_row, s.span.end_column)):
        if site.style != "inplace" or site.no_grad or site.target.via_data or site.target.copy:
            continue
        if site.function and reached.get(site.function) is not True:
            continue
        if site.statement_span in reported or not _is_parameter(ctx, site):
            continue
        reported.add(site.statement_span)
        passed = _handed_in(ctx, site) or _module_handed_in(ctx, site)
        yield rule.finding(
            ctx, site.span,
            f"in-place `{site.func}` on parameter `{site.target.text}` with autograd on"
            + (f" (`{passed[1]}`, handed in by `{passed[0]}`)" if passed else ""),
            ("`out=` writes the tensor in place. " if _writes_out(site) else "")
            + "A Parameter is a leaf that requires grad; an in-place op on it outside "
            "torch.no_grad() raises RuntimeError ("
            + ("'functions with out=... arguments don't support automatic differentiation'"
               if _writes_out(site) else
               "'a leaf Variable that requires grad is being used in an in-place operation'")
            + "). Use torch.nn.init.* (which runs under "
            "no_grad), wrap in `with torch.no_grad():`, or write through `.data`.",
            fixes.no_grad(ctx, site))


def _writes_out(site: InitSite) -> bool:
    """``torch.arange(n, out=p)``: the write is the call's ``out=`` argument."""
    return site.func not in api.INPLACE_INIT_METHODS and site.arg("out", None) is not None


def _is_parameter(ctx: FileContext, site: InitSite) -> bool:
    """Is the target certainly a Parameter (not a buffer or plain tensor)?"""
    target = site.target
    function = ctx.project.functions.get(site.function)
    loops = site.loops(function)
    if target.base in loops:
        binding = loops[target.base]
        if "parameters" in binding.source:
            return not target.attr and not target.path
        return target.attr in ("weight", "bias") and not target.path and binding.source in (
            "modules", "named_modules", "children")
    if target.base == "self" and function and function.cls:
        cls = ctx.project.classes.get(function.cls)
        return cls is not None and _self_parameter(ctx, cls, target.path, target.attr)
    if _handed_in(ctx, site) is not None or _module_handed_in(ctx, site) is not None:
        return True
    if target.attr in ("weight", "bias") and not target.path and _is_callback_param(ctx, site):
        # ``def init(m): if isinstance(m, nn.Linear): m.weight.normal_()`` under .apply
        kinds = [api.LAYERS.get(t) for t in _dispatch_types(ctx, site, target.base)]
        return bool(kinds) and all(k is not None and k.weight_ndim is not None for k in kinds)
    return False


def _handed_in(ctx: FileContext, site: InitSite) -> tuple[str, str] | None:
    """(caller, argument) when the site writes a tensor its function was handed and some
    model method hands it a Parameter of that model (``fill(self.proj.weight)``): the
    helper's in-place write runs on that Parameter, as if written in the method."""
    target = site.target
    helper = ctx.project.functions.get(site.function)
    if helper is None or target.attr or target.path or target.base not in helper.params:
        return None
    return _passed_a_parameter(ctx, helper, helper.params.index(target.base))


def _module_handed_in(ctx: FileContext, site: InitSite) -> tuple[str, str] | None:
    """(model, layer path) when the site writes ``<arg>.weight`` of a module its function was
    handed and the linker followed a model's construction binding that argument to one of
    its layers (``scale_(self.wte)`` → ``module.weight.mul_(...)``): a Parameter of it."""
    target = site.target
    helper = ctx.project.functions.get(site.function)
    if helper is None or not target.attr or target.base not in helper.params:
        return None
    for cls in ctx.project.models_running(site):
        applied, _ = ctx.project.construction(cls)
        placed = ctx.project.placed_by_path(cls)
        for item in applied:
            if item.site != site or item.how != "direct" or item.scope not in placed:
                continue
            if _layer_has_param(placed[item.scope].layer, target.attr):
                return cls.name, f"self.{item.scope}"
    return None


def _passed_a_parameter(ctx: FileContext, helper, index: int) -> tuple[str, str] | None:
    project = ctx.project
    offset = 1 if helper.params[:1] in (("self",), ("cls",)) else 0
    for caller, call in project.calls_by_name.get(helper.qualname, []):
        if (call.kind != "function" or call.name != helper.qualname or call.no_grad
                or caller.no_grad or not caller.cls):
            continue
        position = index - offset
        text = call.args[position] if 0 <= position < len(call.args) else ""
        cls = project.classes.get(caller.cls)
        if cls is None or not text.startswith("self."):
            continue
        path, _, attr = text[len("self."):].rpartition(".")
        if _self_parameter(ctx, cls, path, attr):
            return f"{cls.name}.{caller.name}", text
    return None


def _self_parameter(ctx: FileContext, cls: ClassFacts, path: str, attr: str) -> bool:
    """Is ``self.<path>.<attr>`` of a ``cls`` model certainly a Parameter that requires
    grad: a raw one (``path`` empty) or one of a layer the class builds?"""
    project = ctx.project
    if not path:
        return any(p.name == attr and p.requires_grad is True
                   for k in project.mro(cls) for p in k.params)
    layers = {layer.name: layer for layer in project.all_layers(cls)}
    return _layer_has_param(layers.get(path), attr)


def _layer_has_param(layer: LayerFact | None, attr: str) -> bool:
    """``self.fc.weight`` / ``self.fc.bias`` is certainly a Parameter of a built layer."""
    kind = api.LAYERS.get(layer.cls) if layer is not None else None
    if layer is None or kind is None or kind.weight_ndim is None:
        return False
    if attr == "bias" and not (kind.has_bias_param or kind.family == "norm"):
        return False
    return attr in ("weight", "bias") and not missing_param(layer.cls, layer, attr)


@rule("INI004", "fan-of-1d-tensor", E,
      "An init that needs a ≥2-D tensor (xavier, kaiming, orthogonal...) on a bias, norm "
      "weight or other 1-D parameter: raises ValueError.", fix="safe")
def fan_of_1d(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    # the sites as written, and as a call ran them (``init_fn(m.weight)`` handed xavier)
    run = ctx.project.run_sites(ctx.facts)
    for site in (*ctx.facts.sites, *run):
        spec = api.INIT_FUNCTIONS.get(api.DEPRECATED_ALIASES.get(site.func, site.func))
        if site.style not in ("init", "alias") or spec is None or spec.min_ndim < 2:
            continue
        problem = _ndim_problem(ctx, site, spec)
        if problem is None:
            continue
        what, ndim = problem
        limits = f"exactly {spec.min_ndim}" if spec.max_ndim == spec.min_ndim else (
            f"{spec.min_ndim}–{spec.max_ndim}" if spec.max_ndim else f"at least {spec.min_ndim}")
        reason = ("Fan in and fan out can not be computed for tensor with fewer than 2 "
                  "dimensions" if spec.kind in ("xavier", "kaiming") else
                  f"{site.func} needs {limits} dimensions")
        yield rule.finding(
            ctx, site.span,
            f"`{site.func}` on {what}, a {ndim}-D tensor: raises ValueError",
            f"{site.func} needs a tensor with {limits} dimensions; on a {ndim}-D tensor it "
            f"raises ValueError ('{reason}'). Use zeros_/constant_ for biases and norm "
            "weights, or filter the loop with `p.dim() > 1`.",
            None if site in run else fixes.fan_of_1d(ctx, site, what, ndim))


def _ndim_problem(ctx: FileContext, site: InitSite, spec: api.InitFunction):
    """(description, ndim) when the target's dimensionality cannot work, else None."""
    target = site.target

    def bad(n: int) -> bool:
        return n < spec.min_ndim or (spec.max_ndim is not None and n > spec.max_ndim)

    function = ctx.project.functions.get(site.function)
    loops = site.loops(function)
    if target.index:
        return None
    if target.attr == "bias" and (target.base != "self" or not target.path):
        if target.base == "self" and function and function.cls:
            cls = ctx.project.classes.get(function.cls)
            params = {p.name: p for k in ctx.project.mro(cls) for p in k.params} if cls else {}
            param = params.get("bias")
            if param is None or param.ndim is UNKNOWN or not bad(param.ndim):
                return None
            return "`self.bias`", param.ndim
        if target.base not in loops and not _is_callback_param(ctx, site):
            return None
        return f"`{target.text}` (a bias)", 1
    if target.base == "self" and function and function.cls:
        cls = ctx.project.classes.get(function.cls)
        if cls is None:
            return None
        if not target.path:
            params = {p.name: p for k in ctx.project.mro(cls) for p in k.params}
            param = params.get(target.attr)
            if param is not None and param.ndim is not UNKNOWN and bad(param.ndim):
                return f"`self.{target.attr}`", param.ndim
            return None
        layers = {layer.name: layer for layer in ctx.project.all_layers(cls)}
        layer = layers.get(target.path)
        return _layer_param_problem(layer, target.attr, bad, f"`{target.text}`")
    binding = loops.get(target.base)
    if binding is not None and binding.source in PARAM_WALKS and not target.attr:
        return _param_loop_problem(ctx, site, binding, bad)
    if target.attr in ("weight",) and not target.path and (
            (binding is not None and binding.source in ("modules", "named_modules", "children"))
            or _is_callback_param(ctx, site)):
        types = _dispatch_types(ctx, site, target.base)
        bad_types = [(t, ndim) for t in types if (kind := api.LAYERS.get(t)) is not None
                     and (ndim := kind.weight_ndim) is not None and bad(ndim)]
        if bad_types:
            name = bad_types[0][0].rsplit(".", 1)[-1]
            return f"`{target.text}` of `{name}`", bad_types[0][1]
    return None


def _layer_param_problem(layer: LayerFact | None, attr: str, bad, what: str):
    if layer is None or layer.cls not in api.LAYERS:
        return None
    kind = api.LAYERS[layer.cls]
    ndim = 1 if attr == "bias" else kind.weight_ndim if attr == "weight" else None
    if ndim is not None and bad(ndim):
        return what, ndim
    return None


def _param_loop_problem(ctx: FileContext, site: InitSite, binding, bad):
    """``for name, p in self.named_parameters(): if 'bias' in name: xavier_uniform_(p)``:
    the loop's tests evaluated on each parameter the model holds (name and dimensions)."""
    project = ctx.project
    var, name_var = binding.var, binding.name_var
    loops = _loop_names(ctx, site)

    def runs(name: str, ndim) -> bool:
        param = ParamVal(name.rsplit(".", 1)[-1], ndim)
        return project.tests.on_param(site, var, name_var, name, param, loops) is True

    if (name_var and tests_on(site, (name_var,)) and runs("layer.bias", 1)
            and not runs("layer.weight", 2)):
        return "parameters named '*bias*'", 1
    params = []
    for placed, root in _walk_roots(ctx, site, binding):
        for p in placed:
            kind = api.LAYERS.get(p.layer.cls)
            if kind is None or kind.weight_ndim is None or not (
                    root == "" or p.path.startswith(root + ".")):
                continue
            for attr in ("weight", "bias"):
                value = project.evaluator.attribute(ModuleVal(p.layer.cls, p.layer), attr)
                if (isinstance(value, ParamVal) and isinstance(value.ndim, int)
                        and bad(value.ndim)):
                    name = p.path[len(root) + 1:] if root else p.path
                    params.append((kind.family != "norm", name, attr, value.ndim, p.path))
    for _not_norm, name, attr, ndim, path in sorted(dict.fromkeys(params),
                                                    key=lambda x: x[0]):
        if not runs(f"{name}.{attr}", ndim):
            continue
        if attr == "weight":
            return f"the weight of norm layer `{path}` (matched by the loop's filter)", ndim
        if tests_on(site, (var, name_var)):
            return f"the bias of `{path}` (matched by the loop's filter)", ndim
        return f"the bias of `{path}` (the loop has no dim filter)", ndim
    return None


MAX_ROOTS = 200  # modules a callback's loop is evaluated from, per site


def _walk_roots(ctx: FileContext, site: InitSite, binding) -> list[tuple[list, str]]:
    """The modules whose tensors the loop walks, as (layers of a model, path of the module
    in it): the model itself for ``self.named_parameters()``; every module an ``apply``
    hands the callback for ``m.state_dict()`` / ``m.named_parameters()`` on its module
    parameter (names are then relative to that module). Other receivers: not evaluated."""
    project = ctx.project
    if binding.receiver == "self":
        cls = _site_class(ctx, site)
        return [(project.placed_layers(cls), "")] if cls is not None else []
    if binding.receiver not in project.module_params.get(site.function, ()):
        return []
    out: list[tuple[list, str]] = []
    for model in project.models_running(site):
        effective = project.effective(model)
        for item in effective.applied:
            if item.site != site or item.how != "each_param" or item.binding != binding:
                continue
            scope = item.scope
            paths = [scope] + [p.path for p in effective.placed
                               if not scope or p.path.startswith(scope + ".")]
            out += [(effective.placed, path) for path in dict.fromkeys(paths)]
            if len(out) > MAX_ROOTS:
                return out[:MAX_ROOTS]
    return out


def _loop_names(ctx: FileContext, site: InitSite) -> frozenset[str]:
    fn = ctx.project.functions.get(site.function)
    return (frozenset(n for b in fn.loops for n in (b.var, b.name_var) if n) if fn else
        frozenset())


def _site_class(ctx: FileContext, site: InitSite):
    function = ctx.project.functions.get(site.function)
    while function is not None and not function.cls and "." in function.qualname:
        function = ctx.project.functions.get(function.qualname.rsplit(".", 1)[0])
    if function is None or not function.cls:
        return None
    return ctx.project.classes.get(function.cls)


def _is_callback_param(ctx: FileContext, site: InitSite) -> bool:
    """The target's base is the module parameter of an ``apply``-style callback whose tests
    look at it (an isinstance / class-name dispatch)."""
    function = ctx.project.functions.get(site.function)
    if function is None:
        return False
    params = [p for p in function.params if p not in ("self", "cls")]
    return bool(params) and site.target.base in params and tests_on(site, (site.target.base,))


def _dispatch_types(ctx: FileContext, site: InitSite, var: str) -> list[str]:
    return ctx.project.tests.dispatched_types(site, var)


@rule("INI005", "unguarded-bias", E,
      "`m.bias` (or a norm layer's weight/bias) initialized without an `is not None` guard "
      "where such a layer is built without it.", fix="safe")
def unguarded_bias(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    from initlint.checks.optional_params import unguarded_optional_params

    yield from unguarded_optional_params(rule, ctx)


@rule("INI006", "invalid-init-argument", E,
      "A value the init function rejects: `calculate_gain('ReLU')`, `nonlinearity='gelu'`, "
      "`mode='fan-in'`, a negative std, sparsity outside [0, 1].", fix="safe")
def invalid_argument(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for name, _param, span in ctx.facts.gain_calls:
        if isinstance(name, Expr):  # what the extractor could not fold, the evaluator runs
            name = ctx.project.evaluator.bounded(name, {})
        if isinstance(name, str) and name not in api.GAINS:
            yield _bad_name(rule, ctx, span, "calculate_gain", name, api.GAINS)
    for site in ctx.facts.sites:
        if site.style not in ("init", "inplace"):
            continue  # ``w.data.normal_(0, -0.02)`` rejects a negative std as normal_ does
        spans = dict(site.arg_spans)
        nonlinearity = site.arg("nonlinearity")
        if isinstance(nonlinearity, str) and nonlinearity not in api.GAINS:
            yield _bad_name(rule, ctx, spans["nonlinearity"], site.func, nonlinearity,
                            api.GAINS, "nonlinearity")
        mode = site.arg("mode")
        if isinstance(mode, str) and mode not in api.FAN_MODES:
            yield _bad_name(rule, ctx, spans["mode"], site.func, mode,
                            dict.fromkeys(api.FAN_MODES), "mode")
        std = site.arg("std")  # only normal_ checks it: trunc_normal_ just mirrors the draw
        if (site.func == "normal_" and isinstance(std, (int, float))
                and not isinstance(std, bool) and std < 0):
            yield rule.finding(
                ctx, spans["std"], f"`{site.func}` with negative std={std}",
                f"A standard deviation must be ≥ 0; {site.func} raises RuntimeError "
                f"('normal expects std >= 0.0') on std={std}.")
        sparsity = site.arg("sparsity")
        if isinstance(sparsity, (int, float)) and not 0 <= sparsity <= 1:
            yield rule.finding(
                ctx, spans["sparsity"], f"`sparse_` with sparsity={sparsity} outside [0, 1]",
                "sparsity is the fraction of each column set to zero; outside [0, 1] the "
                "number of zeroed rows is negative or exceeds the tensor's rows.")


def _bad_name(rule: Rule, ctx: FileContext, span: Span, func: str, value: str,
              accepted: dict, arg: str = "") -> Finding:
    normalized = value.lower().replace("-", "_")
    candidates = [name for name in accepted if name == normalized]
    fix = fixes.bad_name(ctx, span, candidates[0]) if candidates else None
    where = f"{arg}=" if arg else ""
    message = f"`{func}({where}'{value}')` is not accepted"
    if candidates:
        message += f"; did you mean '{candidates[0]}'?"
    raises = "ValueError" if arg != "mode" else "ValueError ('Mode … not supported')"
    return rule.finding(
        ctx, span, message,
        f"{func} only accepts {', '.join(sorted(accepted))}; '{value}' raises {raises} "
        "when the line runs.",
        fix)


RULES = (syntax_error, deprecated_alias, init_on_copy, inplace_with_grad, fan_of_1d,
         unguarded_bias, invalid_argument)
