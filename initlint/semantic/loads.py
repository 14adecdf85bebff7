"""What building a model loads, and which init re-draws it afterwards (INI210).

A load is a statement of ``__init__`` that puts trained values into a subtree of the model:
a submodule built by a pretrained builder (``resnet50(weights=...)``,
``timm.create_model(name, pretrained=True)``, ``X.from_pretrained(...)``), a
``load_state_dict`` on the model or a submodule, a loader function handed one
(``load_checkpoint(self.backbone, path)``), or a project submodule whose own construction
loads. The loaded modules are known for project classes (their module tree as this
construction builds it) and for the builders :data:`~initlint.core.torch_api.PRETRAINED_BODIES`
lists; elsewhere they are unknown and nothing is claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.extract.facts import UNKNOWN, CallRef, ClassFacts, FunctionFacts, LayerFact
from initlint.extract.scope import is_plain
from initlint.extract.values import ModuleVal, Tri
from initlint.semantic.effective import hits
from initlint.semantic.evaluate import conditions_hold, layer_params
from initlint.semantic.project import ProjectFacts
from initlint.semantic.records import Applied, Placed

#: How deep project submodules and methods are followed for their loads.
MAX_DEPTH = 4
#: Per-module walks: the inits that may reach every module of a loaded subtree.
_WALKS = frozenset({"each_module", "each_child", "each_param"})


@dataclass(frozen=True)
class Load:
    """Trained values put into ``path`` (``""``: the whole model) at statement ``order`` of
    ``__init__``; ``modules``: the loaded modules we know (empty when not known)."""

    path: str
    order: int
    span: Span
    what: str  # how it loads, for messages: "resnet50(pretrained=True)", "load_state_dict"
    modules: tuple[Placed, ...]
    built: bool  # the load is the statement that builds the submodule
    plain: bool = False  # a call statement of ``__init__`` itself, under no test or loop


@dataclass(frozen=True)
class Redraw:
    """Init code of ``__init__`` (a call running a per-module init, or a modules() loop
    written in it) that runs after ``load`` and certainly writes ``layers``, loaded modules."""

    span: Span  # the call, or the init site of the loop
    call: CallRef | None  # None for a loop written in ``__init__`` itself
    load: Load
    layers: tuple[Placed, ...]
    sites: tuple[Applied, ...]


def _loading_value(value: object) -> bool:
    """A ``pretrained=``/``weights=`` value that certainly asks for weights."""
    return value is not UNKNOWN and value not in (False, None, "", 0)


def _builder_loads(layer: LayerFact) -> bool:
    """Built by a call that loads: ``X.from_pretrained(...)``, or a builder given a loading
    keyword with a value that asks for weights (as this construction binds it)."""
    last = layer.cls.rsplit(".", 1)[-1]
    if last == "from_pretrained":
        return True
    return any(key in api.LOADING_KEYWORDS and _loading_value(value)
               for key, value in layer.kwargs)


def _loader_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return bool(api.WEIGHT_LOADERS.search(last)) and not api.NOT_WEIGHT_LOADERS.search(last)


class LoadIndex:
    """The loads and re-draws of one project's model constructions."""

    def __init__(self, project: ProjectFacts):
        self.project = project

    # --- loads --------------------------------------------------------------------------

    def loads(self, cls: ClassFacts, placed: dict[str, Placed],
              bound: dict[str, Any] | None = None, depth: int = 0) -> list[Load]:
        """The loads of ``cls.__init__`` when it builds the tree ``placed`` (paths relative
        to the model, layers bound as that construction builds them) with its parameters
        bound to ``bound`` (a construction's arguments), else to their defaults."""
        project = self.project
        init = project.method(cls, "__init__")
        if init is None or depth > MAX_DEPTH:
            return []
        env = {**dict(init.defaults), **(bound or {})}
        owner = project.classes.get(init.cls)
        out: list[Load] = []
        for name, order in owner.init_layer_order if owner is not None else ():
            here = placed.get(name)
            if here is None or "." in name:
                continue
            out += self._built_load(here, order, placed, depth)
        out += self._called_loads(cls, init, placed, env, None, depth)
        return sorted(out, key=lambda load: load.order)

    def _built_load(self, here: Placed, order: int, placed: dict[str, Placed],
                    depth: int) -> list[Load]:
        layer = here.layer
        child = self.project.resolve_class(layer.cls) if layer.cls else None
        if child is None and layer.cls.endswith(".from_pretrained"):
            child = self.project.resolve_class(layer.cls.rsplit(".", 1)[0])
        below = _subtree(placed, here.path)
        if child is None or layer.cls.endswith(".from_pretrained"):
            if not _builder_loads(layer):
                return []
            modules = tuple(below) if child is not None else _library_body(layer, here.path)
            return [Load(here.path, order, layer.span, _call_text(layer), modules, True)]
        # a project submodule whose own construction loads: loaded when it is built here
        inner = {p.path[len(here.path) + 1:]: p for p in below}
        return [Load(_join(here.path, load.path), order, layer.span, load.what,
                     tuple(Placed(_join(here.path, p.path), p.layer, p.owner)
                           for p in load.modules), True)
                for load in self.loads(child, inner, call_binding(project_init(
                    self.project, child), layer), depth + 1)]

    def _called_loads(self, cls: ClassFacts, fn: FunctionFacts, placed: dict[str, Placed],
                      env: dict[str, Any], at: CallRef | None, depth: int) -> list[Load]:
        """Loads made by calls of ``fn`` (``__init__`` with its parameters bound to ``env``,
        or a method of the model it runs; ``at``: the ``__init__`` call that runs it), under
        tests that certainly pass (a test on a parameter we cannot decide: no load)."""
        project = self.project
        out: list[Load] = []
        for call in fn.calls:
            order_call = at or call
            if self.passes(cls, fn, env, call) is not True:
                continue
            path: str | None = None
            if call.kind == "self_method" and call.receiver != "super":
                target = project.method(cls, call.name)
                if target is not None:
                    if depth < MAX_DEPTH and target.name != "__init__":
                        out += self._called_loads(cls, target, placed, dict(target.defaults),
                                                  order_call, depth + 1)
                    continue
                path = "" if _loader_name(call.name) else None
            elif call.kind == "method" and call.receiver.startswith("self.") and _loader_name(
                    call.name):
                path = call.receiver[len("self."):]
            elif call.kind == "function" and _loader_name(call.name):
                target = project.functions.get(call.name)
                if target is not None and not project.calls.loads_weights(cls, target):
                    continue
                given = [a for a in call.args if a == "self" or a.startswith("self.")]
                path = given[0][len("self."):] if given and given[0] != "self" else (
                    "" if given else None)
            if path is None or order_call.span is None or (path and path not in placed):
                continue
            modules = tuple(placed.values()) if not path else (
                placed[path], *_subtree(placed, path), *_library_body(placed[path].layer, path))
            out.append(Load(path, order_call.order, order_call.span,
                            call.name.rsplit(".", 1)[-1], modules, False,
                            at is None and not call.conditions and not call.walks))
        return out

    def passes(self, cls: ClassFacts, fn: FunctionFacts, env: dict[str, Any],
               call: CallRef) -> Tri:
        """Do the tests around ``call`` pass with ``fn``'s parameters bound to ``env`` and
        ``self`` a ``cls`` module? Undecided when a test reads a parameter we cannot bind."""
        if not call.conditions:
            return True
        names = frozenset(p for p in fn.params if p not in ("self", "cls"))
        return conditions_hold(self.project.evaluator, call.conditions,
                               {**env, "self": ModuleVal(cls.qualname)}, names | {"self"})

    # --- re-draws -----------------------------------------------------------------------

    def redraws(self, cls: ClassFacts, placed: dict[str, Placed],
                bound: dict[str, Any] | None = None) -> list[Redraw]:
        """Per-module inits that ``cls.__init__`` runs after a load and that certainly write
        loaded modules, for the construction that builds ``placed``. Order within
        ``__init__`` is the order of its lines (a helper's load counts at its call)."""
        project = self.project
        init = project.method(cls, "__init__")
        loads = self.loads(cls, placed, bound)
        if init is None or not loads:
            return []
        env = {**dict(init.defaults), **(bound or {})}
        built_at = dict(project.classes[init.cls].init_layer_order)
        classes_at = {"": cls.qualname, **{p.path: p.layer.cls for p in placed.values()}}
        inits: list[tuple[Span, CallRef | None, list[Applied]]] = []
        for call in init.calls:
            if call.span is not None and self.passes(cls, init, env, call) is True:
                inits.append((call.span, call, [_under(call, item) for item in
                                                project.sites_run_by(cls, call)[0]
                                                if item.how in _WALKS]))
        for item in project.construction(cls)[0]:
            # ``for m in self.modules(): init(m.weight)`` written in __init__ itself
            if (item.site.function == init.qualname and item.how in _WALKS
                    and project.tests.runs(item.site) is not False):
                inits.append((item.site.span, None, [item]))
        out: list[Redraw] = []
        for span, runner, applied in inits:
            for load in loads:
                if load.span.row >= span.row:
                    continue
                kept = [p for p in load.modules if built_at.get(p.path, -1) <= load.order]
                layers, sites = self._written(applied, kept, classes_at)
                if layers:
                    out.append(Redraw(span, runner, load, layers, sites))
                    break
        return out

    def _written(self, applied: list[Applied], modules: list[Placed],
                 classes_at: dict[str, str]) -> tuple[tuple[Placed, ...], tuple[Applied, ...]]:
        tests = self.project.tests
        layers: list[Placed] = []
        sites: list[Applied] = []
        at = {**classes_at, **{p.path: p.layer.cls for p in modules}}
        for placed in modules:
            params = layer_params(placed.layer.cls)[:1]  # the weight: every one holds it
            for item in applied:
                if any(hits(tests, item, placed.path, placed.layer, attr, at) == "yes"
                       for attr in params):
                    if placed not in layers:
                        layers.append(placed)
                    if item not in sites:
                        sites.append(item)
        return tuple(layers), tuple(sites)


def _under(call: CallRef, item: Applied) -> Applied:
    """``self.decoder.apply(fn)`` walks the decoder only (``sites_run_by`` answers which
    sites run, with the whole model as their scope)."""
    if call.kind == "apply" and call.receiver.startswith("self.") and not item.scope:
        return replace(item, scope=call.receiver[len("self."):])
    return item


def project_init(project: ProjectFacts, cls: ClassFacts) -> FunctionFacts | None:
    return project.method(cls, "__init__")


def call_binding(init: FunctionFacts | None, layer: LayerFact) -> dict[str, Any]:
    """The known values a construction (``Encoder(64, pretrained=True)``) passes to the
    parameters of ``__init__``."""
    if init is None:
        return {}
    params = [p for p in init.params if p != "self"]
    pending = set(layer.from_params)
    out: dict[str, Any] = {}
    if not layer.star:
        for index, value in enumerate(layer.args):
            if index < len(params) and str(index) not in pending and is_plain(value):
                out[params[index]] = value
    for key, value in layer.kwargs:
        if key in params and key not in pending and is_plain(value):
            out[key] = value
    return out


def _subtree(placed: dict[str, Placed], path: str) -> list[Placed]:
    prefix = path + "."
    return [p for key, p in placed.items() if key.startswith(prefix)]


def _library_body(layer: LayerFact, path: str) -> tuple[Placed, ...]:
    """Stand-ins for the modules a library's pretrained network holds (one per class, at a
    path whose name no test can read)."""
    classes = api.pretrained_body(layer.cls, layer.arg("model_name", 0, None))
    return tuple(Placed(f"{path}.?{i}", LayerFact(f"?{i}", cls, (), (), layer.span, star=True),
                        layer.cls)
                 for i, cls in enumerate(sorted(classes or ())))


def _call_text(layer: LayerFact) -> str:
    name = layer.cls.rsplit(".", 2)
    short = ".".join(name[-2:]) if name[-1] == "from_pretrained" else name[-1]
    keys = [f"{k}={v!r}" for k, v in layer.kwargs if k in api.LOADING_KEYWORDS
            and _loading_value(v) and isinstance(v, (bool, str, int, float))]
    shown = [f"{k}=..." for k, v in layer.kwargs if k in api.LOADING_KEYWORDS
             and _loading_value(v) and not isinstance(v, (bool, str, int, float))]
    return f"{short}({', '.join(keys + shown)})"


def _join(head: str, tail: str) -> str:
    return ".".join(p for p in (head, tail) if p)
