"""Extract :class:`~initlint.extract.facts.FileFacts` from one parsed file.

The driver: it builds the file's :class:`~initlint.extract.scope.FileScope` and the readers
that receive it, walks the module's classes and functions, and assembles the facts. Function
bodies are read by :mod:`initlint.extract.statements` (init sites by
:mod:`initlint.extract.sites`), what a class builds by :mod:`initlint.extract.layers`, its
``forward`` signal paths by :mod:`initlint.extract.flow`. Positions come free with the tree;
columns are converted to code points only for the nodes that become facts.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.core.text import split_lines
from initlint.extract.astutil import canonical_self, flat_statements, self_attr
from initlint.extract.facts import (
    Chain,
    ClassFacts,
    FileFacts,
    LayerFact,
    ParamFact,
)
from initlint.extract.flow import FlowReader
from initlint.extract.imports import Resolver, build_import_table, dotted
from initlint.extract.layers import LayerReader
from initlint.extract.offsets import unit_offsets
from initlint.extract.scope import FileScope, Positions, Scope, is_plain
from initlint.extract.sites import SiteReader
from initlint.extract.statements import StatementReader, callback_factories
from initlint.extract.tree_index import build_index

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
FILE_NOQA = re.compile(r"#\s*initlint:\s*noqa\b", re.I)


class Extractor:
    """Walks one module and collects its facts."""

    def __init__(self, path: str, text: str, tree: ast.Module, module: str, is_package: bool):
        self.path = path
        self.text = text
        self_names = canonical_self(tree)  # before anything reads the tree
        self.tree = tree
        self.module = module
        self.pos = Positions(text)
        self.index = build_index(tree, module)
        self.imports = build_import_table(tree, module, is_package, self.index.imports)
        top_defs = {
            n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef,
                                                         ast.AsyncFunctionDef))
        }
        self.names = FileScope(tree, module, Resolver(self.imports, frozenset(top_defs)))
        self.layers = LayerReader(self.names, self.pos, tree, self.index)
        self.flow = FlowReader(self.names, self.index)
        self.statements = StatementReader(
            self.names, self.pos, self.index, SiteReader(self.names, self.pos),
            self.layers.layer_fact, self_names, callback_factories(tree, module))

    def run(self) -> FileFacts:
        classes = []
        module_scope = Scope("", "", frozenset(), dict(self.names.constants), {})
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                classes.append(self._class(node, self.module))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.statements.function(node, self.module, "", {})
        # module-level statements (scripts: model.apply(fn), direct fills)
        body = [n for n in self.tree.body
                if not isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        module_calls, script = self.statements.module_body(
            body, module_scope, Span(1, 1, 1, 1))
        read = self.statements
        noqa, file_noqa = self._noqa()
        return FileFacts(
            path=self.path,
            module=self.module,
            imports=self.imports,
            classes=tuple(classes),
            functions=tuple(read.functions),
            sites=tuple(read.sites),
            constructions=tuple(read.constructions),
            references=tuple(sorted(set(self.index.references))),
            calls_at_module_level=module_calls,
            gain_calls=tuple(read.gain_calls),
            noqa=noqa,
            file_noqa=file_noqa,
            exports=_exports(self.names.constants.get("__all__")),
            deferred=self.names.deferred,
            factories=self.layers.factories(self.module),
            script=script,
        )

    def _noqa(self) -> tuple[tuple[tuple[int, tuple[str, ...]], ...], bool]:
        rows = []
        file_noqa = False
        if not re.search("noqa", self.text, re.I):  # `# NOQA` counts too
            return (), False
        for row, line in enumerate(split_lines(self.text), 1):
            if "#" not in line or "noqa" not in line.lower():
                continue
            if FILE_NOQA.search(line):
                file_noqa = True
                continue
            match = NOQA.search(line)
            if match:
                codes = match.group("codes")
                rows.append((row, tuple(sorted(re.findall(r"[A-Z]+[0-9]+", codes.upper())))
                             if codes else ()))
        return tuple(rows), file_noqa

    # --- classes ---------------------------------------------------------------------

    def _class(self, node: ast.ClassDef, prefix: str) -> ClassFacts:
        qualname = f"{prefix}.{node.name}" if prefix else node.name
        bases = tuple(self.names.qualify(b) or dotted(b) or "?" for b in node.bases)
        methods = []
        layers: list[LayerFact] = []
        params: list[ParamFact] = []
        chains: list[Chain] = []
        residual = False
        order: list[tuple[str, int]] = []
        aliases: tuple[tuple[str, str], ...] = ()
        offsets: tuple[str, ...] = ()
        for item in node.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            env = self.names.param_defaults(item)
            fn = self.statements.function(item, qualname, qualname, env)
            methods.append(fn.qualname)
            if item.name == "__init__":
                found = self.layers.init_layers(item, env)
                layers += found[0]
                params += found[1]
                chains += found[2]
                order += found[3]
                aliases = found[4]
            elif item.name in ("forward", "__call__"):
                offsets = unit_offsets(item)
                paths, residual = self.flow.forward_flow(item, layers)
                for steps in dict.fromkeys(tuple(p) for p in paths if p):
                    chains.append(Chain("forward", steps, self.pos.span(item)))
        is_seq_subclass = any(b == api.SEQUENTIAL for b in bases)
        if is_seq_subclass:
            init = next((i for i in node.body if isinstance(i, ast.FunctionDef)
                         and i.name == "__init__"), None)
            if init is not None:
                chains += self.layers.sequential_super_chain(init, layers)
        return ClassFacts(
            name=node.name,
            qualname=qualname,
            bases=bases,
            span=self.pos.span(node),
            layers=tuple(layers),
            params=tuple(params),
            chains=tuple(chains),
            residual=residual,
            methods=tuple(methods),
            init_layer_order=tuple(order),
            sequential_subclass=is_seq_subclass,
            attrs=_plain_attrs(self.names.class_attrs.get(qualname, {}), node),
            init_aliases=aliases,
            unit_offset=offsets,
        )

def _plain_attrs(attrs: dict[str, Any], node: ast.ClassDef) -> tuple[tuple[str, Any], ...]:
    """The attribute values worth keeping as facts: plain data, assigned through ``self``
    at most once in the whole class (a value set again elsewhere is not known)."""
    if not attrs:
        return ()
    counts: dict[str, int] = {}
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in item.body:
                for sub in flat_statements(stmt):
                    targets = (sub.targets if isinstance(sub, ast.Assign)
                               else [sub.target] if isinstance(sub, (ast.AugAssign,
                                                                     ast.AnnAssign))
                               else [])
                    for target in targets:
                        name = self_attr(target)
                        if name is not None:
                            counts[name] = counts.get(name, 0) + 1
    return tuple((k, v) for k, v in attrs.items()
                 if counts.get(k, 0) <= 1 and is_plain(v))



def _exports(value: object) -> tuple[str, ...]:
    """The names of a literal ``__all__`` (anything else exports nothing we can read)."""
    if not isinstance(value, tuple):
        return ()
    return tuple(name for name in value if isinstance(name, str))


def extract(path: str, text: str, tree: ast.Module, module: str, is_package: bool) -> FileFacts:
    """Facts for one file."""
    return Extractor(path, text, tree, module, is_package).run()
