"""Import the linted files and the named factories, and list the models to build.

This is where user code runs. Each file is imported under the dotted name the static
analysis gives it (``module_name_for``), so a class's key here (``pkg.mod.Class``) is the
``subject`` prefix of the static findings about it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from initlint.extract.imports import module_name_for
from initlint.runtime.options import ModelSpec
from initlint.runtime.results import Skipped

ABSTRACT = "abstract class"
NO_FORWARD = "defines no forward() (a base class?)"


@dataclass(frozen=True)
class Candidate:
    """A model to build: a default-constructible class or a factory from the settings."""

    label: str
    key: str  # class key when known before building ("" for factories)
    build: Callable[[], Any]
    spec: ModelSpec | None = None
    path: str = ""
    row: int = 1
    forward: bool = True  # False: the class defines no forward(); inspect its weights only

    def descriptor(self) -> dict[str, Any]:
        """What a child process needs to find this class again (factories travel as specs)."""
        return {"label": self.label, "key": self.key, "path": self.path, "row": self.row,
                "forward": self.forward}


@dataclass
class Loader:
    """Imports files and factories; remembers the names it loaded them under."""

    extra_paths: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # loaded name → linted name
    skipped: list[Skipped] = field(default_factory=list)
    finder: LintedPackages | None = None

    def class_key(self, cls: type) -> str:
        module = cls.__module__
        return f"{self.aliases.get(module, module)}.{cls.__qualname__}"

    # --- files -----------------------------------------------------------------------

    def candidates_from_file(self, path: str, static: dict[str, int]) -> Iterator[Candidate]:
        """Every nn.Module class defined in ``path``; ``static``: class qualname → row."""
        module = self._import_file(path)
        if module is None:
            return
        import torch.nn as nn

        name = module_name_for(path)
        classes: dict[str, type] = {}
        for qualname in static:
            obj = _attribute(module, qualname[len(name) + 1:] if name else qualname)
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                classes[self.class_key(obj)] = obj
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, nn.Module) and
                    obj.__module__ == module.__name__):
                classes.setdefault(self.class_key(obj), obj)
        for key, cls in sorted(classes.items(), key=lambda kv: static.get(kv[0], _row(kv[1]))):
            reason = not_buildable(cls)
            if reason and reason != NO_FORWARD:
                self.skipped.append(Skipped(key, reason, key, quiet=reason == ABSTRACT))
                continue
            yield Candidate(key, key, cls, path=path, row=static.get(key, _row(cls)),
                            forward=reason != NO_FORWARD)

    def candidate_from_descriptor(self, found: dict[str, Any]) -> Candidate | None:
        """The class a listing child found, imported again here."""
        for candidate in self.candidates_from_file(found["path"], {}):
            if candidate.key == found["key"]:
                return replace(candidate, row=found["row"])
        if not self.skipped:
            self.skipped.append(Skipped(found["label"], "the class is gone on a second import",
                                        found["key"]))
        return None

    def _import_file(self, path: str):
        name = module_name_for(path)
        path = os.path.abspath(path)
        directory = os.path.dirname(path)
        try:
            with user_code():
                if os.path.exists(os.path.join(directory, "__init__.py")):
                    return self._import_package_module(name, path)
                return self._import_loose(name, path)
        except (Exception, SystemExit) as exc:  # user code: anything can happen
            self.skipped.append(Skipped(path, f"importing it failed: {one_line(exc)}"))
            return None

    def _import_package_module(self, name: str, path: str):
        root = package_root(path)
        if self.finder is None:
            self.finder = LintedPackages()
            sys.meta_path.insert(0, self.finder)
        self.finder.roots[name.split(".")[0]] = root
        self.add_path(root)  # the project's other top-level modules, after installed ones
        _forget_foreign(name, root)
        module = importlib.import_module(name)
        found = os.path.abspath(getattr(module, "__file__", "") or "")
        if found != path:
            raise ImportError(f"`{name}` resolves to {found or 'a namespace'}, not this file")
        return module

    def _import_loose(self, name: str, path: str):
        existing = sys.modules.get(name)
        if (existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "")
                == path):
            return existing
        alias = name if existing is None else f"_initlint_runtime_{len(self.aliases)}_{name}"
        self.add_path(os.path.dirname(path))  # its sibling imports
        spec = importlib.util.spec_from_file_location(alias, path)
        if spec is None or spec.loader is None:
            raise ImportError("no loader for this file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(alias, None)
            raise
        self.aliases[alias] = name
        return module

    def add_path(self, directory: str) -> None:
        """Put ``directory`` at the end of sys.path (lowest priority) until ``restore_path``."""
        if directory not in sys.path:
            sys.path.append(directory)
            self.extra_paths.append(directory)

    # --- factories -------------------------------------------------------------------

    def candidate_from_spec(self, spec: ModelSpec, roots: list[str]) -> Candidate | None:
        for root in roots:
            self.add_path(root)
        try:
            with user_code():
                module = importlib.import_module(spec.module)
        except (Exception, SystemExit) as exc:
            self.skipped.append(Skipped(spec.target, f"cannot import `{spec.module}`: "
                                                     f"{one_line(exc)}"))
            return None
        factory = _attribute(module, spec.attr)
        if not callable(factory):
            self.skipped.append(Skipped(spec.target, f"`{spec.attr}` is not a callable in "
                                                     f"`{spec.module}`"))
            return None
        kwargs = dict(spec.kwargs)
        path, row = _source_of(factory)
        return Candidate(spec.target, "", lambda: factory(**kwargs), spec, path, row)

    def restore_path(self) -> None:
        for directory in self.extra_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(directory)
        self.extra_paths.clear()
        if self.finder is not None:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self.finder)
            self.finder = None


class LintedPackages(importlib.abc.MetaPathFinder):
    """Finds the linted files' own top-level packages in their project, and nothing else:
    the project's directory goes at the end of sys.path, so a ``numpy.py`` or ``utils/``
    in it never shadows an installed package, while ``mypkg`` still comes from here."""

    def __init__(self) -> None:
        self.roots: dict[str, str] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        root = self.roots.get(fullname)
        if root is None:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [root])


def not_buildable(cls: type) -> str:
    """Why ``cls()`` cannot work, checked without calling it; "" when it may."""
    import torch.nn as nn

    if inspect.isabstract(cls):
        return ABSTRACT
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        signature = None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
             inspect.Parameter.KEYWORD_ONLY)
    required = [p.name for p in signature.parameters.values()
                if p.kind in kinds and p.default is inspect.Parameter.empty] if signature else []
    if required:
        return (f"needs arguments ({', '.join(required)}); name it with kwargs under "
                "[tool.initlint.runtime] models to measure it")
    if getattr(cls, "forward", None) is nn.Module.forward:
        return NO_FORWARD
    return ""


def package_root(path: str) -> str:
    """The directory above the top of the ``__init__.py`` chain holding ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    while os.path.exists(os.path.join(directory, "__init__.py")):
        directory = os.path.dirname(directory)
    return directory


def _forget_foreign(name: str, root: str) -> None:
    """Drop already-imported modules of this name that live elsewhere (another checkout)."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        module = sys.modules.get(prefix)
        if module is None or _within(module, root):
            continue
        for key in [k for k in sys.modules if k == prefix or k.startswith(prefix + ".")]:
            del sys.modules[key]
        return


def _within(module: Any, root: str) -> bool:
    places = [getattr(module, "__file__", None) or "", *list(getattr(module, "__path__", []))]
    return any(p and os.path.abspath(p).startswith(root + os.sep) for p in places)


def _attribute(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _row(obj: Any) -> int:
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return 1


def _source_of(obj: Any) -> tuple[str, int]:
    try:
        return inspect.getsourcefile(obj) or "", _row(obj)
    except TypeError:
        return "", 1


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``ValueError: the first line of the message``, short enough for one line."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return message if len(message) <= limit else message[: limit - 1] + "…"


@contextlib.contextmanager
def user_code():
    """Run user code with its prints sent to stderr (stdout is ours) and warnings off."""
    import warnings

    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
