"""What every fix builder needs: how this file spells torch and its init module, and how a
layer path or a fact's position becomes a node to change."""

from __future__ import annotations

import re
from dataclasses import dataclass

from initlint.core.findings import Span
from initlint.core.text import split_lines
from initlint.extract.facts import FileFacts, FunctionFacts, InitSite, LoopBinding
from initlint.fixes.plan import Change, Import, Node


@dataclass(frozen=True)
class Spelling:
    """A name to write in this file and the import that makes it valid (if one is needed)."""

    text: str
    imports: tuple[Change, ...] = ()


def _names(facts: FileFacts) -> dict[str, str]:
    return facts.imports.as_dict()


def torch_spelling(facts: FileFacts) -> Spelling | None:
    """``torch`` (imported if the file does not bind it yet); None when the name is taken."""
    names = _names(facts)
    if names.get("torch") == "torch":
        return Spelling("torch")
    if "torch" in names:
        return None
    return Spelling("torch", (Import("torch"),))


def init_spelling(facts: FileFacts, site: InitSite | None = None,
                  text: str = "") -> Spelling | None:
    """How to write ``torch.nn.init`` here: as the site's own call spells it (given the
    file's ``text``), else ``<nn>.init``, else the file's alias of the init module."""
    if text:
        sites = [site] if site is not None else list(facts.sites)
        spelled = [p for p in (_call_prefix(s, text) for s in sites
                               if s.style in ("init", "alias")) if p]
        if spelled:
            return Spelling(max(spelled, key=spelled.count))
    names = _names(facts)
    for local, qualified in sorted(names.items()):
        if qualified == "torch.nn":
            return Spelling(f"{local}.init")
    for local, qualified in sorted(names.items()):
        if qualified == "torch.nn.init":
            return Spelling(local)
    torch = torch_spelling(facts)
    return Spelling("torch.nn.init", torch.imports) if torch is not None else None


def nn_spelling(facts: FileFacts) -> Spelling | None:
    """How to write ``torch.nn`` here."""
    names = _names(facts)
    for local, qualified in sorted(names.items()):
        if qualified == "torch.nn":
            return Spelling(local)
    torch = torch_spelling(facts)
    return Spelling("torch.nn", torch.imports) if torch is not None else None


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _call_prefix(site: InitSite, text: str) -> str:
    """``nn.init`` of ``nn.init.normal_(...)``: the module part of the site's callee."""
    lines = split_lines(text)
    span, name = site.span, site.name_span
    if span.row != name.row or not 0 < span.row <= len(lines):
        return ""
    prefix = lines[span.row - 1][span.column - 1:name.column - 1]
    if not prefix.endswith("."):
        return ""
    prefix = prefix[:-1]
    return prefix if _DOTTED.match(prefix) else ""


def quoted(text: str, value: str) -> str:
    """``value`` as a string literal in the file's prevailing quote style."""
    double = text.count('"') - 3 * text.count('"""')
    single = text.count("'") - 3 * text.count("'''")
    quote = '"' if double >= single else "'"
    return f"{quote}{value}{quote}"


def math_spelling(facts: FileFacts) -> Spelling | None:
    names = _names(facts)
    if names.get("math") == "math":
        return Spelling("math")
    if "math" in names:
        return None
    return Spelling("math", (Import("math"),))


def self_name(fn: FunctionFacts | None) -> str:
    """How the method spells its instance parameter (the facts read it as ``self``)."""
    return getattr(fn, "self_name", "self") if fn is not None else "self"


def call(site: InitSite) -> Node:
    return Node(site.span, "call")


def statement(site: InitSite) -> Node:
    return Node(site.statement_span, "stmt")


def function(fn: FunctionFacts) -> Node:
    return Node(fn.span, "def")


def class_node(span: Span) -> Node:
    return Node(span, "class")


_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def attribute_path(base: str, path: str) -> str | None:
    """``self`` + ``net.0.fc`` → ``self.net[0].fc``; None for ``*`` or odd segments."""
    out = base
    for part in path.split("."):
        if part.isdigit():
            out += f"[{part}]"
        elif _SEGMENT.match(part):
            out += f".{part}"
        else:
            return None
    return out


def loop_var(site: InitSite,
             facts_functions: dict[str, FunctionFacts]) -> LoopBinding | None:
    """The loop binding whose variable the site writes through, if any."""
    fn = facts_functions.get(site.function)
    loops = site.loops(fn) if hasattr(site, "loops") else (
        {b.var: b for b in fn.loops} if fn is not None else {})
    return loops.get(site.target.base)
