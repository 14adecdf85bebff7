"""The project's classes and functions by qualified name, and the class hierarchy: what
``resolve_class``, the MRO and "is this an ``nn.Module``" mean across files."""

from __future__ import annotations

from functools import cached_property

from initlint.core import torch_api as api
from initlint.extract.facts import ClassFacts, FactoryFact, FileFacts, FunctionFacts, LayerFact

_INERT_BASES = frozenset({"object", "?", "ABC", "Generic", "Protocol", "abc.ABC"})



class ClassIndex:
    """Every class and function of the linked files, and the questions about their ancestry."""

    def __init__(self, files: tuple[FileFacts, ...]):
        self.files = files
        self.classes: dict[str, ClassFacts] = {}
        self.class_file: dict[str, FileFacts] = {}
        self.functions: dict[str, FunctionFacts] = {}
        self.function_file: dict[str, FileFacts] = {}
        self.factories: dict[str, FactoryFact] = {}  # functions returning a wrapped layer
        for facts in files:
            for cls in facts.classes:
                self.classes[cls.qualname] = cls
                self.class_file[cls.qualname] = facts
            for fn in facts.functions:
                self.functions[fn.qualname] = fn
                self.function_file[fn.qualname] = facts
            for factory in facts.factories:
                self.factories[factory.qualname] = factory
        self._short: dict[str, list[str]] = {}
        for name in self.classes:
            self._short.setdefault(name.rsplit(".", 1)[-1], []).append(name)
        self._mro: dict[str, list[ClassFacts]] = {}

    def resolve_class(self, name: str) -> ClassFacts | None:
        if name in self.classes:
            return self.classes[name]
        # an import of a module we did not see under that exact dotted path; never torch's
        # own classes (a project's ``BatchNorm1d`` wrapper is not ``nn.BatchNorm1d``)
        if name.startswith("torch."):
            return None
        short = name.rsplit(".", 1)[-1]
        candidates = self._short.get(short, [])
        return self.classes[candidates[0]] if len(candidates) == 1 and "." in name else None

    def resolve_factory(self, name: str) -> FactoryFact | None:
        """The project function ``name`` calls when it returns a wrapped layer (an import of
        it through a re-export: its short name, when only one factory has it)."""
        if name in self.factories:
            return self.factories[name]
        short = name.rsplit(".", 1)[-1]
        found = [f for q, f in self.factories.items() if q.rsplit(".", 1)[-1] == short]
        return found[0] if len(found) == 1 and "." in name else None

    def mro(self, cls: ClassFacts) -> list[ClassFacts]:
        """The class and its resolvable bases, nearest first (memoized: rules ask often)."""
        cached = self._mro.get(cls.qualname)
        if cached is not None:
            return cached
        seen: list[ClassFacts] = []
        names: set[str] = set()
        todo = [cls]
        while todo and len(seen) < 32:
            current = todo.pop(0)
            if current.qualname in names:
                continue
            names.add(current.qualname)
            seen.append(current)
            for base in current.bases:
                resolved = self.resolve_class(base)
                if resolved is not None:
                    todo.append(resolved)
        self._mro[cls.qualname] = seen
        return seen

    def external_bases(self, cls: ClassFacts) -> list[str]:
        """Bases we cannot see, other than torch's own classes and the ones that add no
        behaviour to a module (``object``, ``ABC``, ``Generic[T]``, ``Protocol``)."""
        out = []
        for klass in self.mro(cls):
            for base in klass.bases:
                if (self.resolve_class(base) is None and not base.startswith("torch.")
                        and base not in _INERT_BASES and not base.startswith(("typing.", "abc.",
                                                                            "typing_extensions."))):
                    out.append(base)
        return out

    def is_module(self, cls: ClassFacts) -> bool:
        for klass in self.mro(cls):
            if klass.layers or klass.params:
                return True
            if any(b.startswith("torch.nn.") for b in klass.bases):
                return True
        return any(b.endswith(api.FRAMEWORK_BASE_SUFFIXES) for b in self.external_bases(cls))

    def framework_managed(self, cls: ClassFacts) -> bool:
        """Derives from a class (transformers, diffusers...) whose machinery may call init
        hooks: a known framework base, or a module whose only route to ``nn.Module`` goes
        through a base we cannot see. An extra base next to a visible ``nn.Module`` base (a
        mixin, ``ABC``, ``Generic``) does not make the class framework-managed."""
        external = self.external_bases(cls)
        if not external:
            return False
        if any(b.endswith(api.FRAMEWORK_BASE_SUFFIXES) for b in external):
            return True
        return not any(b.startswith("torch.nn.") for k in self.mro(cls) for b in k.bases)

    @cached_property
    def functions_by_class(self) -> dict[str, list[FunctionFacts]]:
        """Class qualname → the functions defined in it (methods, and functions nested in
        them): what a question about one class family reads, instead of every function."""
        out: dict[str, list[FunctionFacts]] = {}
        for fn in self.functions.values():
            if fn.cls:
                out.setdefault(fn.cls, []).append(fn)
        return out

    def subclasses(self, cls: ClassFacts) -> list[ClassFacts]:
        return self._subclasses.get(cls.qualname, [])

    @cached_property
    def _subclasses(self) -> dict[str, list[ClassFacts]]:
        index: dict[str, list[ClassFacts]] = {}
        for cls in self.classes.values():
            for ancestor in self.mro(cls)[1:]:
                index.setdefault(ancestor.qualname, []).append(cls)
        return index

    def method(self, cls: ClassFacts, name: str,
               after: ClassFacts | None = None) -> FunctionFacts | None:
        """Resolve ``self.name`` on ``cls`` (virtual dispatch); ``after`` for super()."""
        chain = self.mro(cls)
        if after is not None and after in chain:
            chain = chain[chain.index(after) + 1:]
        for klass in chain:
            qualname = f"{klass.qualname}.{name}"
            if qualname in self.functions:
                return self.functions[qualname]
        return None

    def callback(self, cls: ClassFacts, name: str) -> FunctionFacts | None:
        """The function ``apply(name)`` runs while ``cls`` is built: ``self.init_weights``
        (recorded under the class that wrote it) is looked up on ``cls``'s MRO, as Python
        binds it, so a base's method or a subclass's override is found."""
        owner_name, _, method = name.rpartition(".")
        owner = self.classes.get(owner_name)
        if owner is not None and owner in self.mro(cls):
            found = self.method(cls, method)
            if found is not None:
                return found
        return self.functions.get(name)

    def all_layers(self, cls: ClassFacts) -> list[LayerFact]:
        return [layer for klass in self.mro(cls) for layer in klass.layers]
