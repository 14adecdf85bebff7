"""Facts: what initlint understands about one file, as frozen, picklable data.

The extractor (:mod:`initlint.extract.extractor`) produces them, the linker
(:mod:`initlint.semantic.project`) joins them across files, and rules only ever read them.
Values that are not statically known are :data:`UNKNOWN`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from initlint.core.findings import Span
from initlint.core.frozen import fast_state
from initlint.extract.expr import Expr
from initlint.extract.imports import ImportTable


class Unknown(Enum):
    """The one "cannot be known" value (astroid's ``Uninferable``): a singleton that no
    program can spell, so a literal ``...`` in the linted code stays a known value. An enum
    member pickles (workers), stores in the cache as data, and compares by identity."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"


#: A value that static analysis cannot know.
UNKNOWN: Any = Unknown.UNKNOWN


@fast_state
@dataclass(frozen=True, slots=True)
class LayerFact:
    """A submodule built in ``__init__``: ``self.fc1 = nn.Linear(256, 256, bias=False)``."""

    name: str  # attribute path relative to the class: "fc1", "features.0", "blocks.*"
    cls: str  # qualified class name ("torch.nn.Linear", "pkg.mod.Block") or "" when unknown
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    span: Span
    count: Any = 1  # copies built (ModuleList comprehension over range(n)); UNKNOWN if not known
    star: bool = False  # built with *args or **kwargs: absent arguments are not known defaults
    from_params: tuple[str, ...] = ()  # keywords (or positions) passed a variable's value
    # built wrapped: ``weight_norm(nn.Linear(...))`` → the wrapper's qualified name and the
    # parameter it reparametrizes (ADDED BY rules for INI209)
    reparam: str = ""
    reparam_name: str = "weight"
    # which ``__init__`` parameter each argument slot (keyword, or position as "0") reads,
    # and the parameter holding the class itself (``norm_layer(c)``): the linker binds them
    # to the arguments of each construction of the class, else to their defaults
    param_args: tuple[tuple[str, str], ...] = ()
    cls_param: str = ""
    # arguments computed from ``__init__`` parameters (``bias=not no_bias``), as expressions
    # the evaluator runs under a construction's binding; and the ``if`` tests on the path
    # to the statement that builds the layer (``elif task == "regression":``)
    arg_exprs: tuple[tuple[str, Expr], ...] = ()
    conditions: tuple[Condition, ...] = ()

    def literal(self, keyword: str, index: int | None = None, default: Any = UNKNOWN) -> Any:
        """Like :meth:`arg`, but UNKNOWN when the value is only a parameter's default."""
        return literal_value(self, keyword, index, default)

    def arg(self, keyword: str, index: int | None = None, default: Any = UNKNOWN) -> Any:
        """The value passed as ``keyword`` or at position ``index``, else ``default``."""
        return argument_value(self.args, self.kwargs, self.star, keyword, index, default)


def literal_value(call: LayerFact | Construction, keyword: str, index: int | None,
                  default: Any) -> Any:
    """A call's argument as written, UNKNOWN when it only follows a parameter of the
    enclosing function (its value is a construction's, not the call's)."""
    if keyword in call.from_params or (index is not None and str(index) in call.from_params
                                       and not any(k == keyword for k, _ in call.kwargs)):
        return UNKNOWN
    return call.arg(keyword, index, default)


def argument_value(args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...], star: bool,
                   keyword: str, index: int | None, default: Any) -> Any:
    """Look up a call argument by keyword or position; UNKNOWN where *args/**kwargs hide it."""
    for key, value in kwargs:
        if key == keyword:
            return value
    if index is not None and index < len(args):
        return args[index]
    return UNKNOWN if star else default


@fast_state
@dataclass(frozen=True, slots=True)
class FactoryFact:
    """A module-level function that returns a layer it builds wrapped by a reparametrization
    (``def WNConv1d(*a, **kw): return weight_norm(nn.Conv1d(*a, **kw))``): a call of it in
    another file builds ``layer`` with that call's arguments bound (the linker runs it)."""

    qualname: str
    params: tuple[str, ...]  # its named parameters, in order
    # the layer it returns: ``param_args`` names the slots read from ``params``; ``star``
    # when ``*args``/``**kwargs`` are forwarded to the layer whole (``forwards``)
    layer: LayerFact
    forwards: bool = False


@fast_state
@dataclass(frozen=True, slots=True)
class ParamFact:
    """A raw parameter: ``self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))``."""

    name: str
    ndim: Any  # from the factory's shape, UNKNOWN when not known
    span: Span
    # "uninit": made from uninitialized memory (torch.empty, torch.Tensor(n, m), new_empty);
    # "" otherwise or not known (ADDED BY rules for INI007)
    alloc: str = ""
    requires_grad: Any = True  # ``nn.Parameter(..., requires_grad=False)`` → False
    # made inside an if/for/try block of ``__init__``: it may exist only in constructions
    # other than the default one, so a test decided on the defaults says nothing about it
    branched: bool = False
    # the value every element starts with (``torch.ones(d)`` → 1.0, ``v * torch.ones(d)``,
    # ``torch.full(s, v)``), folded with the defaults; UNKNOWN when not one constant. And
    # that value as an expression, with the ``__init__`` parameters it reads (INI107)
    fill: Any = UNKNOWN
    fill_expr: Expr | None = None
    fill_params: tuple[str, ...] = ()


#: One step of a forward path: a submodule call, an activation, code we cannot follow, a
#: residual add, or a functional that scales the signal (pooling, dropout, interpolate).
StepKind = Literal["module", "act", "opaque", "residual", "factor"]
#: How an init site writes: a ``torch.nn.init`` function, an in-place tensor method, a
#: deprecated alias, ``m.bias = nn.Parameter(...)`` replacing the parameter, or a function we
#: cannot see into that is handed the parameter (``trunc_normal_(m.weight)``). The linker
#: adds two of its own for a call on a module: torch's ``reset_parameters`` ("reset") and a
#: call it cannot see into that is handed a module or tensor ("opaque").
SiteStyle = Literal["init", "inplace", "alias", "assign", "helper", "reset", "opaque"]
#: What a loop walks: modules of a tree, direct children, a container (``iter``), an explicit
#: list of ``self`` paths, or the tensors of a tree.
WalkSource = Literal["modules", "named_modules", "children", "named_children", "iter", "list",
                     "parameters", "named_parameters", "state_dict"]
#: A call init code makes: ``self.m()``, a function, ``x.apply(fn)``, a method on another
#: object, a function handed on as a value, or a call of one of the function's own parameters.
CallKind = Literal["self_method", "function", "apply", "method", "ref", "param"]


@fast_state
@dataclass(frozen=True, slots=True)
class FlowStep:
    """One step of the signal path: a submodule call, an activation, or code we cannot follow."""

    kind: StepKind
    ref: str  # layer name for "module"; activation name for "act"; functional for "factor"
    slope: Any = None  # LeakyReLU negative slope when known
    layer: LayerFact | None = None  # inline layers of a Sequential literal
    # "factor" (pooling, dropout, interpolate... as functionals): the call's literal keyword
    # arguments and its second positional one as "1" (dropout's p, interpolate's size)
    params: tuple[tuple[str, Any], ...] = ()


@fast_state
@dataclass(frozen=True, slots=True)
class Chain:
    """An ordered signal path: a Sequential's children or a ``forward``'s statements."""

    origin: str  # "forward" or the attribute holding the Sequential
    steps: tuple[FlowStep, ...]
    span: Span


@fast_state
@dataclass(frozen=True, slots=True)
class Condition:
    """One test on the path to an init site, kept as an expression the evaluator runs.

    ``positive``: the site runs when the test is true (the ``if`` branch) or false (the
    ``else`` branch, or the code after ``if test: continue``).
    """

    test: Expr
    positive: bool = True


@fast_state
@dataclass(frozen=True, slots=True)
class Target:
    """What an init call writes to: ``<base>.<path>.<attr>``.

    base: "self" (a path on the module itself), a loop/callback variable name, or "" when
    the expression is not understood. path: attribute path under base ("fc1", "" for the
    base itself). attr: "weight", "bias", another parameter name, or "" for the base
    tensor. via_data: written through ``.data``. index: a ``[...]`` slice or row of it.
    copy: the expression copies first (``.clone()``, ``.to()``...).
    """

    base: str
    path: str
    attr: str
    via_data: bool = False
    index: bool = False
    copy: str = ""  # the copying method or factory, when there is one
    text: str = ""

    @property
    def owner(self) -> str:
        return ".".join(p for p in (self.base, self.path) if p)


@fast_state
@dataclass(frozen=True, slots=True)
class InitSite:
    """A call of a torch.nn.init function or an in-place initializer, with its context."""

    func: str  # init function name ("xavier_uniform_", "normal_") or in-place method
    style: SiteStyle
    target: Target
    args: tuple[tuple[str, Any], ...]  # normalized by parameter name
    span: Span
    name_span: Span  # the function's name, for fixes
    conditions: tuple[Condition, ...]
    no_grad: bool  # lexically under torch.no_grad (context or decorator)
    function: str  # qualified name of the enclosing function, "" at module level
    statement_span: Span  # the whole statement holding the call
    discarded: bool = True  # the call's result is not used
    assigned_to: str = ""  # "m.weight" when the result is assigned to an attribute
    wrapped: bool = False  # result wrapped in nn.Parameter(...)
    indent: str = ""  # the statement's indentation, for fixes
    arg_spans: tuple[tuple[str, Span], ...] = ()  # where each argument's value is written
    bindings: tuple[LoopBinding, ...] = ()  # the loops around the site (``for m in ...``)
    # arguments written as constants: they read no parameter, local or attribute (INI107)
    literal_args: tuple[str, ...] = ()

    def __hash__(self) -> int:
        # sites key the linker's indexes; the generated hash walks every condition's
        # expression tree on each lookup. Equal sites share these fields, so this agrees
        # with the generated __eq__.
        return hash((self.function, self.span, self.func, self.style))

    def loops(self, fn: FunctionFacts | None) -> dict[str, LoopBinding]:
        """Loop variable → the loop binding it at this site (the enclosing loop wins over
        a same-named loop elsewhere in the function)."""
        out = {b.var: b for b in fn.loops} if fn is not None else {}
        out.update((b.var, b) for b in self.bindings)
        return out

    def arg(self, name: str, default: Any = UNKNOWN) -> Any:
        for key, value in self.args:
            if key == name:
                return value
        return default


#: LoopBinding sources that walk the tensors of a tree (``state_dict()``: its parameters,
#: then its buffers, detached).
PARAM_WALKS = frozenset({"parameters", "named_parameters", "state_dict"})


@fast_state
@dataclass(frozen=True, slots=True)
class LoopBinding:
    """``for m in self.modules()``: which variable walks what, inside a function."""

    var: str
    source: WalkSource  # for the keys form, ``for k in m.state_dict()``, var is
    # "k@state_dict": what ``m.state_dict()[k]`` reads
    receiver: str  # "self", "self.decoder", a parameter name, or ""
    name_var: str = ""  # the name variable of named_* loops
    members: tuple[str, ...] = ()  # for explicit lists: the self paths
    function: str = ""
    # the class of the walked object when the code shows it (``model = Net()`` then
    # ``for m in model.modules()``), as :attr:`CallRef.receiver_cls`
    receiver_cls: str = ""


@fast_state
@dataclass(frozen=True, slots=True)
class CallRef:
    """A call or reference a function makes that may run init code."""

    kind: CallKind  # "param": name is that parameter, args the keywords it is given
    name: str  # method name, qualified function name, or "" when unknown
    receiver: str = ""  # for apply / method: "self", "self.decoder", a name
    args: tuple[str, ...] = ()  # dotted text of the arguments ("self", "self.decoder")
    span: Span | None = None
    no_grad: bool = False
    order: int = 0  # statement index in the enclosing function body (for INI202)
    # the class of the receiver when the code shows it (``model = Net(); model.apply(fn)``,
    # ``Net().apply(fn)``); "<global>" when the receiver is a class or module object itself
    receiver_cls: str = ""
    conditions: tuple[Condition, ...] = ()  # the tests the call runs under
    # the loops binding the call's arguments (``init_fn(m)`` inside ``for m in
    # x.modules()`` runs once per module of ``x``, like ``x.apply(init_fn)``)
    walks: tuple[LoopBinding, ...] = ()
    via: str = ""  # the function an "apply" hands the callback to (``named_apply``)
    # the arguments as expressions the evaluator runs in the caller's bindings (for
    # "apply"/"ref": the callback handed on): what a callee or callback is run with
    values: tuple[Expr, ...] = ()
    keywords: tuple[tuple[str, Expr], ...] = ()


@fast_state
@dataclass(frozen=True, slots=True)
class FunctionFacts:
    """A function or method."""

    name: str
    qualname: str  # "module.Class.method" or "module.func"
    cls: str  # qualified class name for methods, else ""
    params: tuple[str, ...]
    span: Span
    no_grad: bool  # decorated with @torch.no_grad()
    static: bool
    calls: tuple[CallRef, ...]
    inits_only: bool  # the body does nothing but initialize parameters
    has_init_code: bool  # holds at least one init site
    loops: tuple[LoopBinding, ...] = ()
    # parameters the body never reads, for functions with init code (ADDED BY rules, INI208)
    unused_params: tuple[str, ...] = ()
    self_name: str = "self"  # how the source spells the instance parameter (read as "self")
    #: makes a call that may load weights (:data:`~initlint.core.torch_api.WEIGHT_LOADERS`,
    #: a builder given ``pretrained=``/``weights=``), under any condition
    loads: bool = False
    #: the parameters' defaults that fold to plain values (what the default call binds)
    defaults: tuple[tuple[str, Any], ...] = ()
    #: what the function returns when it has one ``return <value>`` (a builder's
    #: ``return Net(...)``, a lookup's ``return {"relu": "ReLU"}[x]``, a lambda's body): the
    #: evaluator runs it with the arguments of each call
    returns: Expr | None = None
    #: locals assigned a call (``model = SASRec(args)``, ``net = build(cfg)``) or a dict (a
    #: registry), the last assignment of each: the linker asks the evaluator which model
    #: each one holds; a module body's are its globals (``MODELS = dict(a=A, b=B)``)
    instances: tuple[tuple[str, Expr], ...] = ()


@fast_state
@dataclass(frozen=True, slots=True)
class ClassFacts:
    """A class (an nn.Module once the linker has seen its bases)."""

    name: str
    qualname: str
    bases: tuple[str, ...]  # qualified where resolvable, dotted text otherwise
    span: Span
    layers: tuple[LayerFact, ...]
    params: tuple[ParamFact, ...]
    chains: tuple[Chain, ...]
    residual: bool  # forward adds a branch output to its input
    methods: tuple[str, ...]  # method qualnames
    init_layer_order: tuple[tuple[str, int], ...]  # (layer name, statement index in __init__)
    sequential_subclass: bool = False
    # attributes with a value known at construction (class constants, ``self.x = x`` set once
    # in ``__init__`` from a default): what ``self.x`` reads in the class's init code
    attrs: tuple[tuple[str, Any], ...] = ()
    # locals of ``__init__`` that are a submodule (bound once, registered once as
    # ``self.x = local`` or ``self.add_module("x", local)``): local name → layer path
    init_aliases: tuple[tuple[str, str], ...] = ()
    # parameters ``forward`` uses with a unit offset, ``x * (1 + self.weight)``: their
    # effective scale is 1 + the value (INI107)
    unit_offset: tuple[str, ...] = ()


@fast_state
@dataclass(frozen=True, slots=True)
class Construction:
    """Any layer construction in the file (inside or outside a class), for INI005."""

    cls: str
    kwargs: tuple[tuple[str, Any], ...]
    args: tuple[Any, ...]
    span: Span
    owner: str  # qualified class that builds it, or ""
    star: bool = False
    from_params: tuple[str, ...] = ()

    def arg(self, keyword: str, index: int | None = None, default: Any = UNKNOWN) -> Any:
        return argument_value(self.args, self.kwargs, self.star, keyword, index, default)

    def literal(self, keyword: str, index: int | None = None, default: Any = UNKNOWN) -> Any:
        """Like :meth:`arg`, but UNKNOWN when the value is only a parameter's default."""
        return literal_value(self, keyword, index, default)


@fast_state
@dataclass(frozen=True, slots=True)
class AttrOf:
    """``config.hidden_size`` on a config object whose class another file defines: the
    attribute's default there, looked up when the files are linked (``link_values.py``);
    unknown if the project does not define that class or that attribute."""

    owner: str  # the class's qualified name as this file imports it
    attr: str


@fast_state
@dataclass(frozen=True, slots=True)
class FileFacts:
    """Everything the rules need from one file."""

    path: str
    module: str
    imports: ImportTable
    classes: tuple[ClassFacts, ...]
    functions: tuple[FunctionFacts, ...]
    sites: tuple[InitSite, ...]
    constructions: tuple[Construction, ...]
    references: tuple[tuple[str, str], ...]  # (init-like name referenced, referring function)
    calls_at_module_level: tuple[CallRef, ...]
    # calculate_gain('x') calls: (nonlinearity, param, span); an argument the extractor
    # cannot fold (``get_nn_name("relu")``) is kept as its Expr for the evaluator to run
    gain_calls: tuple[tuple[Any, Any, Span], ...] = ()
    noqa: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (row, codes); () codes = bare noqa
    file_noqa: bool = False
    exports: tuple[str, ...] = ()  # the module's literal ``__all__``
    deferred: bool = False  # holds AttrOf values: the linker resolves them
    factories: tuple[FactoryFact, ...] = ()  # functions returning a wrapped layer
    # the module body as a function (``<module>``): what a script runs, with its locals
    script: FunctionFacts | None = None
