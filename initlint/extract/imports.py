"""Resolve names to qualified names from a module's imports, with a small table.

libcst's QualifiedNameProvider costs ~7x a parse; a module's imports are a small table
that gives the same answer for the names rules care about (torch.nn.init, torch.nn,
torch.nn.functional and local helpers), so we build that table instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from initlint.core.torch_api import canonical


@dataclass(frozen=True)
class ImportTable:
    """Local name → qualified name, for one module."""

    module: str  # this file's dotted module name ("" when unknown)
    names: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.names)


def module_name_for(path: str, root_packages: tuple[str, ...] = ()) -> str:
    """Best-effort dotted name of a file: walk up while ``__init__.py`` exists."""
    import os

    directory, filename = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    while os.path.exists(os.path.join(directory, "__init__.py")):
        directory, pkg = os.path.split(directory)
        parts.insert(0, pkg)
    return ".".join(parts)


def _absolute(module: str, level: int, target: str | None, is_package: bool) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if module else []
    # a module's own package is base[:-1]; a package __init__ is its own package
    drop = level - 1 if is_package else level
    base = base[: len(base) - drop] if drop <= len(base) else []
    if target:
        base.append(target)
    return ".".join(base)


def build_import_table(tree: ast.Module, module: str, is_package: bool,
                       nodes: Iterable[ast.AST] | None = None) -> ImportTable:
    """Collect the imports anywhere in the module (function-local imports included);
    ``nodes``: the module's import statements in ``ast.walk`` order, when already found."""
    names: dict[str, str] = {}
    for node in ast.walk(tree) if nodes is None else nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    names[head] = head
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node.level, node.module, is_package)
            for alias in node.names:
                if alias.name == "*":
                    continue
                local = alias.asname or alias.name
                names[local] = f"{source}.{alias.name}" if source else alias.name
    return ImportTable(module, tuple(sorted(names.items())))


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    # exact types: the hot path of every reader (no ast subclasses exist)
    if type(node) is ast.Name:
        return node.id
    if type(node) is not ast.Attribute:
        return None
    parts = [node.attr]
    node = node.value
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is ast.Name:
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class Resolver:
    """Turns expressions into qualified names using an import table and local definitions."""

    def __init__(self, table: ImportTable, local_defs: frozenset[str] = frozenset()):
        self._names = table.as_dict()
        self._module = table.module
        self._local_defs = local_defs

    def qualify(self, node: ast.AST, shadowed: frozenset[str] = frozenset()) -> str | None:
        """Qualified name of a Name/Attribute chain; None for locals and unknown names."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in shadowed:
            return None
        if head in self._names:
            full = self._names[head] + ("." + rest if rest else "")
        elif head in self._local_defs:
            full = (self._module + "." if self._module else "") + name
        else:
            return None
        return canonical(full)
