"""The tests on the path to an init site (``if isinstance(m, nn.Linear):``, ``if self.bias
is not None:``), evaluated for one abstract module or parameter: does the site run on it?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from initlint.core import torch_api as api
from initlint.extract.facts import Condition, Construction, FunctionFacts, InitSite, LayerFact
from initlint.extract.values import ModuleVal, ParamVal, Tri
from initlint.semantic.evaluate import Evaluator, conditions_hold, free_names_of

#: A verdict's key: the tests (numbered), the class ``self`` is, and the module tested.
VerdictKey = tuple[Any, ...]


class SiteTests:
    """Site tests over one project: its evaluator, and its functions (to bind ``self`` in a
    method's tests to a module of the method's class). Equal tests in many classes are
    evaluated once: verdicts are memoized by what they depend on."""

    def __init__(self, evaluator: Evaluator, functions: Mapping[str, FunctionFacts]):
        self.evaluator = evaluator
        self.functions = functions
        self._verdicts: dict[VerdictKey, tuple[object, Tri]] = {}
        self._dispatch: dict[VerdictKey, tuple[str, ...]] = {}
        self._condition_ids: dict[int, tuple[tuple[Condition, ...], int]] = {}
        self._condition_numbers: dict[tuple[Condition, ...], int] = {}

    def on_module(self, site: InitSite, var: str, cls: str,
                  layer: LayerFact | Construction | None = None,
                  extra: frozenset[str] = frozenset(), outer: tuple[Condition, ...] = (),
                  alias: str = "", named: tuple[str, str] | tuple[()] = ()) -> Tri:
        """Does ``site`` run when ``var`` is a module of class ``cls`` (built as ``layer``)?
        ``outer``: tests around the call that passed the module as ``alias``; ``named``: the
        variable holding the module's qualified name, and that name (``named_modules()``)."""
        if not site.conditions and not outer:
            return True
        key = (self._number(site.conditions), self._owner(site, outer), var, cls,
               id(layer), extra, self._number(outer), alias, named)
        cached = self._verdicts.get(key)
        if cached is not None and cached[0] is layer:
            return cached[1]
        value = ModuleVal(cls, layer)
        env: dict[str, Any] = {var: value}
        if alias:
            env[alias] = value
        if named:
            env[named[0]] = named[1]
        relevant = frozenset(env) | extra
        self._bind_self(site, env)
        verdict = conditions_hold(self.evaluator, (*outer, *site.conditions), env, relevant)
        self._verdicts[key] = (layer, verdict)
        return verdict

    def on_param(self, site: InitSite, var: str, name_var: str, name: str, param: ParamVal,
                 extra: frozenset[str] = frozenset(),
                 owner: tuple[str, ModuleVal] | None = None) -> Tri:
        """Does ``site`` run for a parameter ``name`` (``fc.weight``) bound to ``var``?
        ``owner``: the variable holding the module whose parameters the loop walks, and it."""
        env: dict[str, Any] = {var: param}
        if name_var:
            env[name_var] = name
        if owner is not None:
            env[owner[0]] = owner[1]
        relevant = frozenset(env) | extra
        self._bind_self(site, env)
        return conditions_hold(self.evaluator, site.conditions, env, relevant)

    def runs(self, site: InitSite) -> Tri:
        """Do the tests on the path to a site that writes a chosen tensor (``self.fc.weight``)
        pass? Only a decided "no" excludes it: undecided tests are configuration."""
        return self.tests_pass(site.function, site.conditions)

    def tests_pass(self, function: str, conditions: tuple[Condition, ...]) -> Tri:
        """The tests around a statement of ``function`` (a site's, a call's), evaluated with
        ``self`` a module of the method's class built with its defaults."""
        if not conditions:
            return True
        env: dict[str, Any] = {}
        fn = self.functions.get(function)
        if fn is not None and fn.cls:
            env["self"] = ModuleVal(fn.cls)
        return conditions_hold(self.evaluator, conditions, env, frozenset())

    def dispatched_types(self, site: InitSite, var: str,
                         families: frozenset[str] | None = None) -> list[str]:
        """The torch layer classes whose modules the site's tests certainly let through, when
        those tests look at ``var`` at all (a site with no test on it dispatches nothing)."""
        if not any(var in free_names_of(self.evaluator, c.test) for c in site.conditions):
            return []
        key = (self._number(site.conditions), self._owner(site), var, families)
        cached = self._dispatch.get(key)
        if cached is not None:
            return list(cached)
        out: list[str] = []
        if self.on_module(site, var, "") is not True:
            # (a test that lets a module of any class through, ``if m is not None``,
            # dispatches nothing)
            for cls, kind in api.LAYERS.items():
                if families is not None and kind.family not in families:
                    continue
                if self.on_module(site, var, cls) is True:
                    out.append(cls)
        self._dispatch[key] = tuple(out)
        return out

    def _number(self, conditions: tuple[Condition, ...]) -> int:
        """A small number per distinct tuple of tests: equal tests (the same init code in many
        classes) share their verdicts, and each tuple object is hashed once."""
        entry = self._condition_ids.get(id(conditions))
        if entry is None or entry[0] is not conditions:
            number = self._condition_numbers.setdefault(conditions,
                                                        len(self._condition_numbers))
            entry = (conditions, number)
            self._condition_ids[id(conditions)] = entry
        return entry[1]

    def _owner(self, site: InitSite, outer: tuple[Condition, ...] = ()) -> str:
        """The class ``self`` is bound to, when the tests read ``self`` at all."""
        if not any("self" in free_names_of(self.evaluator, c.test)
                   for c in (*site.conditions, *outer)):
            return ""
        fn = self.functions.get(site.function)
        return fn.cls if fn is not None else ""

    def _bind_self(self, site: InitSite, env: dict[str, Any]) -> None:
        """``self`` in a method's tests is a module of the method's class, built with its
        defaults (``if self.zero_init_last:``, ``if self.bias_initializer is not None:``)."""
        if "self" in env:
            return
        fn = self.functions.get(site.function)
        if fn is not None and fn.cls:
            env["self"] = ModuleVal(fn.cls)
