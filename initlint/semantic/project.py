"""Link the facts of all files: the facade rules ask. It builds the parts in pipeline order
(class index, module trees, the evaluator and its site tests, the init call graph, each model's
effective init) and answers with them; each part takes only what it needs.

This is where "what does ``__init__`` actually run" is answered once for every rule:
:meth:`ProjectFacts.effective` gives, for each weight-bearing layer of a model, the init
sites that write its parameters, and whether some init code we cannot see might.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from initlint.extract.facts import (
    CallRef,
    ClassFacts,
    Condition,
    FileFacts,
    FunctionFacts,
    InitSite,
    LayerFact,
)
from initlint.semantic.classes import ClassIndex
from initlint.semantic.construction import InitCalls
from initlint.semantic.effective import EffectiveInit, grad_enabled_functions
from initlint.semantic.evaluate import Evaluator, World
from initlint.semantic.link_values import resolve_deferred, resolve_one
from initlint.semantic.paths import may_meet
from initlint.semantic.records import Applied, PerModule, Placed
from initlint.semantic.site_tests import SiteTests
from initlint.semantic.trees import ModuleTrees


class ProjectFacts:
    """All files' facts, linked."""

    def __init__(self, files: Iterable[FileFacts]):
        given = tuple(files)
        index = ClassIndex(given)
        # config values other files leave to the linker, looked up in the classes just indexed
        self.files = resolve_deferred(given, index.resolve_class)
        if self.files is not given:
            index = ClassIndex(self.files)
        self.index = index
        # the linked version of each given file whose values the linker resolved
        self._linked = {id(a): (a, b) for a, b in zip(given, self.files, strict=True)
                        if a is not b}
        self.trees = ModuleTrees(index)
        self.calls = InitCalls(index, self.trees, self.evaluator)
        self.classes = index.classes
        self.class_file = index.class_file
        self.functions = index.functions
        self.function_file = index.function_file
        self._effective: dict[str, EffectiveInit] = {}

    def linked(self, facts: FileFacts) -> FileFacts:
        """The project's version of a file it was given (its deferred values resolved):
        what rules must read, so a file's sites and layers are the objects the project
        links."""
        pair = self._linked.get(id(facts))
        if pair is not None and pair[0] is facts:
            return pair[1]
        return resolve_one(facts, self.resolve_class)  # not given to the project

    @cached_property
    def evaluator(self) -> Evaluator:
        """The abstract evaluator over this project's classes (conditions, values)."""
        return Evaluator(World(self.index, self.trees.placed_by_path))

    @cached_property
    def tests(self) -> SiteTests:
        """The tests around init sites, evaluated on abstract modules and parameters."""
        return SiteTests(self.evaluator, self.functions)

    @cached_property
    def grad_enabled(self) -> dict[str, bool]:
        """See :func:`grad_enabled_functions`; computed once per project."""
        return grad_enabled_functions(self.index)

    def may_meet(self, function: str, *groups: tuple[Condition, ...]) -> bool:
        """Can the tests of ``groups``, all on statements of ``function``, pass in one call of
        it (for an ``__init__``: one construction)? Its parameters are bound together
        (:mod:`initlint.semantic.paths`). ``self`` is left unknown: its attributes hold the
        defaults' values (``self.flag = flag``), which a binding of ``flag`` would change."""
        fn = self.functions.get(function)
        if fn is None:
            return True
        return may_meet(self.evaluator, groups, [p for p in fn.params if p != "self"])

    # --- the effective init of each layer ---------------------------------------------

    def effective(self, cls: ClassFacts) -> EffectiveInit:
        """Per layer path of ``cls``: the sites that write it, from its own construction and
        from every container in the tree that holds it."""
        return self._effective_cache(cls.qualname)

    def _effective_cache(self, qualname: str) -> EffectiveInit:
        cache = self._effective
        if qualname not in cache:
            cls = self.classes[qualname]
            applied, opaque = self.calls.construction(cls)
            result = EffectiveInit(self.calls, self.tests, cls, tuple(applied), tuple(opaque))
            cache[qualname] = result
            for container, path in self.trees.containers.get(qualname, []):
                result.inherit(self._effective_cache(container), path)
            package = self.class_file[qualname].module.split(".")[0]
            result.inherit_scripts(self.calls.script_applies.get(package, []))
        return cache[qualname]

    # --- the parts' answers, as rules ask them ----------------------------------------

    def resolve_class(self, name: str) -> ClassFacts | None:
        return self.index.resolve_class(name)

    def mro(self, cls: ClassFacts) -> list[ClassFacts]:
        return self.index.mro(cls)

    def external_bases(self, cls: ClassFacts) -> list[str]:
        return self.index.external_bases(cls)

    def is_module(self, cls: ClassFacts) -> bool:
        return self.index.is_module(cls)

    def framework_managed(self, cls: ClassFacts) -> bool:
        return self.index.framework_managed(cls)

    def subclasses(self, cls: ClassFacts) -> list[ClassFacts]:
        return self.index.subclasses(cls)

    def method(self, cls: ClassFacts, name: str,
               after: ClassFacts | None = None) -> FunctionFacts | None:
        return self.index.method(cls, name, after)

    def callback(self, cls: ClassFacts, name: str) -> FunctionFacts | None:
        return self.index.callback(cls, name)

    def all_layers(self, cls: ClassFacts) -> list[LayerFact]:
        return self.index.all_layers(cls)

    def placed_layers(self, cls: ClassFacts) -> list[Placed]:
        return self.trees.placed_layers(cls)

    def placed_by_path(self, cls: ClassFacts) -> dict[str, Placed]:
        return self.trees.placed_by_path(cls)

    @property
    def containers(self) -> dict[str, list[tuple[str, str]]]:
        return self.trees.containers

    def composed_of(self, cls: ClassFacts) -> set[str]:
        return self.trees.composed_of(cls)

    @property
    def calls_by_name(self) -> dict[str, list[tuple[FunctionFacts, CallRef]]]:
        return self.calls.calls_by_name

    @property
    def method_calls_by_name(self) -> dict[str, list[tuple[FunctionFacts, CallRef]]]:
        return self.calls.method_calls_by_name

    @property
    def functions_by_class(self) -> dict[str, list[FunctionFacts]]:
        return self.index.functions_by_class

    def per_module(self, call: CallRef, caller: FunctionFacts | None,
                   cls: ClassFacts | None = None) -> PerModule | None:
        return self.calls.per_module(call, caller, cls)

    @property
    def per_module_calls(self) -> tuple[tuple[str, FunctionFacts | None, PerModule], ...]:
        return self.calls.per_module_calls

    @property
    def module_params(self) -> dict[str, frozenset[str]]:
        return self.calls.module_params

    def construction(self, cls: ClassFacts) -> tuple[list[Applied], list[str]]:
        return self.calls.construction(cls)

    def sites_run_by(self, cls: ClassFacts, call: CallRef) -> tuple[list[Applied], list[str]]:
        return self.calls.sites_run_by(cls, call)

    def sites_in(self, fn: FunctionFacts) -> list[InitSite]:
        return self.calls.sites_in(fn)

    def site_function(self, site: InitSite) -> FunctionFacts | None:
        return self.calls.site_function(site)

    def site_file(self, site: InitSite) -> FileFacts | None:
        return self.calls.site_file(site)

    def run_sites(self, facts: FileFacts) -> list[InitSite]:
        return self.calls.run_sites(facts)

    def models_running(self, site: InitSite) -> list[ClassFacts]:
        return self.calls.models_running(site)
