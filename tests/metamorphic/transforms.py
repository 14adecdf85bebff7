# ruff: noqa: N802  (libcst dispatches on visit_<Node>/leave_<Node> method names)
"""Semantics-preserving rewrites of model code (libcst codemods) for the metamorphic suite.

Each transform rewrites a fixture into a program that builds the same model and initializes
it the same way, spelled differently (issue 9). A linter that reads what code *means* must
report the same findings on both. ``apply`` returns the new source, or None where the
transform finds nothing to rewrite (the pair is then skipped, not counted).

Every transform keeps comments: the harness tags each original line with ``# @L<n>`` and a
finding is traced back to the original line through the tag on its row. Statements a
transform creates carry the tag of the statement they replace.

Whether a rewrite really preserves semantics is checked, not assumed: test_equivalence.py
builds the original and the rewritten models with torch and compares their parameters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    ClassScope,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    MetadataWrapper,
    ScopeProvider,
)


@dataclass(frozen=True)
class Unit:
    """Everything a transform may look at besides the file it rewrites: the other files of
    the fixture (a package is linted as one project)."""

    sources: tuple[str, ...] = ()

    @property
    def keywords(self) -> frozenset[str]:
        """Every keyword-argument name used in a call anywhere in the unit."""
        out: set[str] = set()
        for src in self.sources:
            code = re.sub(r"#[^\n]*", "", src)  # the harness's ``# @L12`` tags end lines
            out.update(re.findall(r"[(,]\s*([A-Za-z_]\w*)\s*=(?!=)", code))
        return frozenset(out)


#: The files of a unit: (path relative to fixtures/, text), in order.
Files = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Entry:
    """How the rewritten program builds one model class of the original file when the
    class alone no longer initializes it (its init code moved to a builder or a script)."""

    origin: str  # the original file defining the class
    cls: str
    path: str  # the rewritten file that builds it
    name: str  # the builder function, or the script's variable holding the model
    script: bool = False  # ``path`` is a script run as ``__main__``


@dataclass(frozen=True)
class Moved:
    """A unit after a transform: every file, which original file each one's lines come from
    (a finding is traced back through it and the line tags), where each original file now
    lives, and the models whose construction moved."""

    files: Files
    origins: tuple[tuple[str, str], ...]  # new path -> original path
    homes: tuple[tuple[str, str], ...]  # original path -> new path of the same module
    entries: tuple[Entry, ...] = ()

    @staticmethod
    def in_place(files: Files) -> Moved:
        same = tuple((rel, rel) for rel, _ in files)
        return Moved(files, same, same)


@dataclass(frozen=True)
class Transform:
    """One rewrite. ``relabels_layers``: the module tree keeps its layers and their order, but
    their paths change (``net.0`` becomes ``net.0.0``), so subjects are compared without
    container indices. ``rewrite`` rewrites one file at a time; ``move`` (instead) rewrites
    the whole unit and may add files (init code moved to another module or a script)."""

    name: str
    family: str
    rewrite: Callable[[cst.Module, Unit], cst.Module | None] | None
    doc: str
    relabels_layers: bool = False
    needs: tuple[str, ...] = ()  # the rewrite can only apply to a source holding one of these
    move: Callable[[Files], Moved | None] | None = None

    def apply_unit(self, files: Files) -> Moved | None:
        """The unit rewritten, or None where the transform changes no file."""
        if self.move is not None:
            if self.needs and not any(n in t for _, t in files for n in self.needs):
                return None
            return self.move(files)
        unit = Unit(tuple(text for _, text in files))
        out = []
        changed = False
        for rel, text in files:
            new = self.apply(text, unit)
            changed |= new is not None
            out.append((rel, text if new is None else new))
        return Moved.in_place(tuple(out)) if changed else None

    def apply(self, source: str, unit: Unit = Unit()) -> str | None:
        if self.rewrite is None:
            return None
        if self.needs and not any(n in source for n in self.needs):
            return None  # a cheap no: libcst passes are the suite's main cost
        try:
            module = _parse(source)
        except cst.ParserSyntaxError:
            return None
        new = self.rewrite(module, unit)
        if new is None:
            return None
        code = new.code
        return None if code == source else code


# --- small helpers ---------------------------------------------------------------------


_SOURCES: dict[int, tuple[cst.Module, str]] = {}  # id -> (the parsed module, its source)


@functools.lru_cache(maxsize=128)
def _parse(source: str) -> cst.Module:
    """libcst parses are the suite's main cost; every transform reads the same sources
    (libcst trees are immutable, so sharing one is safe)."""
    module = cst.parse_module(source)
    _SOURCES[id(module)] = (module, source)
    return module


def _code(module: cst.Module) -> str:
    """The module's source (kept from the parse: regenerating it costs a full pass)."""
    known = _SOURCES.get(id(module))
    return known[1] if known and known[0] is module else module.code


def dotted(node: cst.BaseExpression) -> str | None:
    """``torch.nn.init.normal_`` for that attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def stmt(code: str) -> cst.BaseStatement:
    return cst.parse_statement(code)


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _imports(module: cst.Module) -> dict[str, str]:
    """Local name -> what it names, for top-level ``import``/``from`` statements."""
    out: dict[str, str] = {}
    for line in module.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    full = dotted(alias.name) or ""
                    local = alias.asname.name.value if alias.asname else full.split(".")[0]
                    out[local] = full if alias.asname else local
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                base = dotted(small.module) if small.module else ""
                for alias in small.names:
                    name = dotted(alias.name) or ""
                    local = alias.asname.name.value if alias.asname else name
                    out[local] = f"{base}.{name}"
    return out


def _nn_prefixes(module: cst.Module) -> set[str]:
    """Local spellings of ``torch.nn`` in this file (``nn``, ``torch.nn``)."""
    imports = _imports(module)
    out = {local for local, full in imports.items() if full == "torch.nn"}
    if imports.get("torch") == "torch":
        out.add("torch.nn")
    return out


def _init_prefixes(module: cst.Module) -> set[str]:
    """Local spellings of ``torch.nn.init``."""
    out = {f"{p}.init" for p in _nn_prefixes(module)}
    out |= {local for local, full in _imports(module).items() if full == "torch.nn.init"}
    return out


def _insert_after_imports(module: cst.Module, new: Sequence[cst.BaseStatement]) -> cst.Module:
    """Add top-level statements after the last top-level import (or the docstring)."""
    body = list(module.body)
    at = 0
    for index, line in enumerate(body):
        if isinstance(line, cst.SimpleStatementLine) and any(
                isinstance(s, (cst.Import, cst.ImportFrom)) for s in line.body):
            at = index + 1
        elif index == 0 and isinstance(line, cst.SimpleStatementLine) and isinstance(
                line.body[0], cst.Expr) and isinstance(line.body[0].value, cst.SimpleString):
            at = max(at, 1)
    return module.with_changes(body=[*body[:at], *new, *body[at:]])


def _ensure_torch(module: cst.Module) -> tuple[cst.Module, str]:
    """The module with ``torch`` bound (an import added if needed)."""
    if _imports(module).get("torch") == "torch":
        return module, "torch"
    return _insert_after_imports(module, [stmt("import torch\n")]), "torch"


def _trailing(line: cst.CSTNode) -> cst.TrailingWhitespace | None:
    """The trailing whitespace (and comment) of a statement line or a compound header."""
    if isinstance(line, cst.SimpleStatementLine):
        return line.trailing_whitespace
    body = getattr(line, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return body.header
    return None


def _with_trailing(line: cst.BaseStatement, tw: cst.TrailingWhitespace | None
                   ) -> cst.BaseStatement:
    if tw is None:
        return line
    if isinstance(line, cst.SimpleStatementLine):
        return line.with_changes(trailing_whitespace=tw)
    body = getattr(line, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return line.with_changes(body=body.with_changes(header=tw))
    return line


class _Names(cst.CSTVisitor):
    """Names read or written in a subtree (not attribute names, not keyword names)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False


def names_in(node: cst.CSTNode) -> set[str]:
    visitor = _Names()
    node.visit(visitor)
    return visitor.names


def _function_locals(fn: cst.FunctionDef) -> set[str]:
    """Parameters and names assigned anywhere in a function (over-approximation)."""
    out = {p.name.value for p in (*fn.params.posonly_params, *fn.params.params,
                                  *fn.params.kwonly_params)}
    for star in (fn.params.star_arg, fn.params.star_kwarg):
        if isinstance(star, cst.Param):
            out.add(star.name.value)

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            out.update(names_in(node.target) if not isinstance(
                node.target, (cst.Attribute, cst.Subscript)) else set())

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name):
                out.add(node.target.value)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if isinstance(node.target, cst.Name):
                out.add(node.target.value)

        def visit_For(self, node: cst.For) -> None:
            out.update(names_in(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            out.update(names_in(node.name))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            if node is not fn:
                out.add(node.name.value)

    fn.body.visit(Targets())
    return out


def _counter(prefix: str, module: cst.Module) -> Callable[[], str]:
    """Fresh names ``prefix0``, ``prefix1``... not used in the module."""
    text = _code(module)
    state = {"n": 0}

    def fresh() -> str:
        while f"{prefix}{state['n']}" in text:
            state["n"] += 1
        name = f"{prefix}{state['n']}"
        state["n"] += 1
        return name

    return fresh


def _is_self_call(node: cst.BaseExpression, self_name: str, method: str) -> bool:
    return (isinstance(node, cst.Call) and not node.args
            and isinstance(node.func, cst.Attribute) and node.func.attr.value == method
            and isinstance(node.func.value, cst.Name) and node.func.value.value == self_name)


def _self_name(fn: cst.FunctionDef) -> str | None:
    params = fn.params.params
    if not params or any(isinstance(d.decorator, cst.Name) and d.decorator.value in
                         ("staticmethod", "classmethod") for d in fn.decorators):
        return None
    return params[0].name.value


# --- family: where the init loop lives ------------------------------------------------


class _ContinueToReturn(cst.CSTTransformer):
    """``continue`` of the loop being turned into a function becomes ``return``."""

    def __init__(self) -> None:
        self.depth = 0

    def visit_For(self, node: cst.For) -> None:
        self.depth += 1

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        self.depth -= 1
        return updated

    def visit_While(self, node: cst.While) -> None:
        self.depth += 1

    def leave_While(self, original: cst.While, updated: cst.While) -> cst.While:
        self.depth -= 1
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def leave_Continue(self, original: cst.Continue, updated: cst.Continue
                       ) -> cst.BaseSmallStatement:
        return cst.Return() if self.depth == 0 else updated


class _Forbidden(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Break(self, node: cst.Break) -> None:
        self.found = True

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True

    def visit_Global(self, node: cst.Global) -> None:
        self.found = True

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _movable_loop(loop: cst.BaseStatement, fn: cst.FunctionDef, self_name: str) -> str | None:
    """The loop variable of ``for m in self.modules(): ...`` whose body only needs ``m`` and
    globals (so it can become a function of ``m``), else None."""
    if not (isinstance(loop, cst.For) and loop.orelse is None and loop.asynchronous is None
            and isinstance(loop.target, cst.Name)
            and _is_self_call(loop.iter, self_name, "modules")):
        return None
    var = loop.target.value
    forbidden = _Forbidden()
    loop.body.visit(forbidden)
    if forbidden.found:
        return None
    outer = _function_locals(fn) - {var}
    if (names_in(loop.body) - _assigned(loop.body)) & outer:
        return None
    return var


def _assigned(node: cst.CSTNode) -> set[str]:
    fake = cst.FunctionDef(name=cst.Name("_"), params=cst.Parameters(),
                           body=node if isinstance(node, cst.IndentedBlock)
                           else cst.IndentedBlock(body=[]))
    return _function_locals(fake)


def _loop_function(name: str, var: str, loop: cst.For,
                   decorators: Sequence[cst.Decorator] = ()) -> cst.FunctionDef:
    body = loop.body.visit(_ContinueToReturn())
    assert isinstance(body, cst.IndentedBlock)
    return cst.FunctionDef(
        name=cst.Name(name), params=cst.Parameters(params=[cst.Param(cst.Name(var))]),
        body=body.with_changes(header=cst.TrailingWhitespace()), decorators=decorators,
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()] if not decorators else [])


def _rewrite_loops(module: cst.Module, unit: Unit, where: str) -> cst.Module | None:
    """``for m in self.modules(): body`` in a method → a function of ``m`` applied with
    ``self.apply`` (``where`` = "module": a module-level function; "static": a
    ``@staticmethod``; "build": a module-level ``build_<Class>()`` applies it after
    construction)."""
    fresh = _counter("_mm_init_", module)
    body = list(module.body)
    out: list[cst.BaseStatement] = []
    changed = False
    for line in body:
        if not isinstance(line, cst.ClassDef):
            out.append(line)
            continue
        cls = line
        new_functions: list[cst.FunctionDef] = []
        static: list[cst.FunctionDef] = []
        after: list[cst.BaseStatement] = []
        members = list(cls.body.body) if isinstance(cls.body, cst.IndentedBlock) else []
        new_members: list[cst.BaseStatement] = []
        for member in members:
            if not isinstance(member, cst.FunctionDef) or _self_name(member) is None:
                new_members.append(member)
                continue
            self_name = _self_name(member)
            assert self_name is not None
            stmts = list(member.body.body) if isinstance(member.body, cst.IndentedBlock) else []
            new_stmts: list[cst.BaseStatement] = []
            for index, inner in enumerate(stmts):
                var = _movable_loop(inner, member, self_name)
                if var is None:
                    new_stmts.append(inner)
                    continue
                assert isinstance(inner, cst.For)
                if where == "build":
                    last = index == len(stmts) - 1
                    others = sum(len(re.findall(rf"\b{cls.name.value}\b", s))
                                 for s in unit.sources) - 1
                    if (member.name.value != "__init__" or not last or others > 0
                            or len(re.findall(rf"\b{cls.name.value}\b", _code(module))) > 1):
                        new_stmts.append(inner)
                        continue
                    fname = fresh()
                    new_functions.append(_loop_function(fname, var, inner))
                    call = stmt(f"model.apply({fname})\n")
                    after.append(cst.FunctionDef(
                        name=cst.Name(f"build_{cls.name.value}"),
                        params=cst.Parameters(star_arg=cst.Param(cst.Name("args")),
                                              star_kwarg=cst.Param(cst.Name("kwargs"))),
                        body=cst.IndentedBlock(body=[
                            stmt(f"model = {cls.name.value}(*args, **kwargs)\n"),
                            _with_trailing(call, _trailing(inner)),
                            stmt("return model\n")]),
                        leading_lines=[cst.EmptyLine(), cst.EmptyLine()]))
                    if not new_stmts:
                        new_stmts.append(stmt("pass\n"))
                    changed = True
                    continue
                fname = fresh()
                if where == "module":
                    new_functions.append(_loop_function(fname, var, inner))
                    call = stmt(f"{self_name}.apply({fname})\n")
                else:
                    static.append(_loop_function(fname, var, inner, decorators=[
                        cst.Decorator(cst.Name("staticmethod"))]).with_changes(
                            leading_lines=[cst.EmptyLine()]))
                    call = stmt(f"{self_name}.apply({self_name}.{fname})\n")
                new_stmts.append(_with_trailing(call, _trailing(inner)).with_changes(
                    leading_lines=inner.leading_lines))
                changed = True
            assert isinstance(member.body, cst.IndentedBlock)
            new_members.append(member.with_changes(
                body=member.body.with_changes(body=new_stmts)))
        new_cls = cls
        if isinstance(cls.body, cst.IndentedBlock):
            new_cls = cls.with_changes(body=cls.body.with_changes(
                body=[*new_members, *static]))
        out.extend(new_functions)
        out.append(new_cls)
        out.extend(after)
    return module.with_changes(body=out) if changed else None


def loop_to_apply(module: cst.Module, unit: Unit) -> cst.Module | None:
    return _rewrite_loops(module, unit, "module")


def loop_to_staticmethod(module: cst.Module, unit: Unit) -> cst.Module | None:
    return _rewrite_loops(module, unit, "static")


def loop_to_build(module: cst.Module, unit: Unit) -> cst.Module | None:
    return _rewrite_loops(module, unit, "build")


class _ApplyToLoop(cst.CSTTransformer):
    """``x.apply(fn)`` (a statement) → ``for _m in x.modules(): fn(_m)``."""

    def __init__(self, fresh: Callable[[], str]) -> None:
        self.fresh = fresh
        self.changed = False

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine
                                  ) -> cst.BaseStatement | cst.FlattenSentinel:
        if len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
            return updated
        call = updated.body[0].value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "apply" and len(call.args) == 1
                and call.args[0].keyword is None and not call.args[0].star
                and dotted(call.func.value) is not None
                and dotted(call.args[0].value) is not None):
            return updated
        var = self.fresh()
        owner = code_of(call.func.value)
        fn = code_of(call.args[0].value)
        loop = stmt(f"for {var} in {owner}.modules():\n    {fn}({var})\n")
        assert isinstance(loop, cst.For)
        tw = updated.trailing_whitespace
        inner = loop.body.body[0]
        assert isinstance(inner, cst.SimpleStatementLine)
        loop = loop.with_changes(body=loop.body.with_changes(
            header=tw, body=[inner.with_changes(trailing_whitespace=tw)]),
            leading_lines=updated.leading_lines)
        self.changed = True
        return loop


def apply_to_loop(module: cst.Module, unit: Unit) -> cst.Module | None:
    visitor = _ApplyToLoop(_counter("_mm_m", module))
    new = module.visit(visitor)
    return new if visitor.changed else None


class _MethodToStatic(cst.CSTTransformer):
    """``def _init(self, m)`` that never uses ``self`` → ``@staticmethod def _init(m)``."""

    def __init__(self) -> None:
        self.changed = False
        self.depth = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.depth -= 1
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                          ) -> cst.FunctionDef:
        params = updated.params
        if (self.depth == 0 or updated.decorators or len(params.params) != 2
                or (params.star_arg is not cst.MaybeSentinel.DEFAULT and params.star_arg)
                or params.kwonly_params or params.star_kwarg or params.posonly_params
                or updated.name.value.startswith("__")
                or params.params[1].default is not None):
            return updated
        self_name = params.params[0].name.value
        if self_name in names_in(updated.body):
            return updated
        self.changed = True
        return updated.with_changes(
            decorators=[cst.Decorator(cst.Name("staticmethod"))],
            params=params.with_changes(params=[params.params[1]]))


def method_to_staticmethod(module: cst.Module, unit: Unit) -> cst.Module | None:
    visitor = _MethodToStatic()
    new = module.visit(visitor)
    return new if visitor.changed else None


# --- family: how a dispatch tests the module's type ------------------------------------

#: torch.nn classes a type test is not rewritten for: containers and bases many layers
#: derive from, where a name test and isinstance mean different things.
_BASES = {"Module", "Sequential", "ModuleList", "ModuleDict", "Parameter", "ParameterList",
          "ParameterDict", "Identity"}


def _subclassed_names(unit: Unit) -> set[str]:
    """Names of classes some class of the unit derives from (``class X(nn.Linear)``)."""
    out: set[str] = set()
    for src in unit.sources:
        for bases in re.findall(r"^\s*class\s+\w+\s*\(([^)]*)\)", src, re.M):
            out.update(b.strip().split(".")[-1] for b in bases.split(","))
    return out


def _nn_types(node: cst.BaseExpression, prefixes: set[str], banned: set[str]
              ) -> list[str] | None:
    """``nn.Conv2d`` / ``(nn.Conv2d, nn.Linear)`` → their dotted spellings, if every one is
    a concrete torch.nn layer class."""
    items = ([e.value for e in node.elements] if isinstance(node, cst.Tuple) else [node])
    out = []
    for item in items:
        name = dotted(item)
        if name is None or "." not in name:
            return None
        prefix, _, cls = name.rpartition(".")
        if (prefix not in prefixes or not cls[:1].isupper() or cls in _BASES
                or cls in banned):
            return None
        out.append(name)
    return out or None


_SPELLINGS: dict[str, Callable[[str, str], str]] = {
    "name_in": lambda var, cls: f'"{cls}" in type({var}).__name__',
    "class_find": lambda var, cls: f'{var}.__class__.__name__.find("{cls}") != -1',
    "startswith": lambda var, cls: f'type({var}).__name__.startswith("{cls}")',
    "name_eq": lambda var, cls: f'type({var}).__name__ == "{cls}"',
}


class _Dispatch(cst.CSTTransformer):
    def __init__(self, spelling: str, prefixes: set[str], banned: set[str]) -> None:
        self.spelling = spelling
        self.prefixes = prefixes
        self.banned = banned
        self.changed = False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (isinstance(updated.func, cst.Name) and updated.func.value == "isinstance"
                and len(updated.args) == 2 and not any(a.keyword or a.star
                                                       for a in updated.args)):
            return updated
        types = _nn_types(updated.args[1].value, self.prefixes, self.banned)
        if types is None:
            return updated
        var = code_of(updated.args[0].value)
        if self.spelling == "type_in":
            new = f"type({var}) in ({', '.join(types)},)"
        else:
            tests = [_SPELLINGS[self.spelling](var, t.rpartition(".")[2]) for t in types]
            new = " or ".join(tests)
        self.changed = True
        return expr(f"({new})")


def _dispatch(spelling: str) -> Callable[[cst.Module, Unit], cst.Module | None]:
    def rewrite(module: cst.Module, unit: Unit) -> cst.Module | None:
        visitor = _Dispatch(spelling, _nn_prefixes(module), _subclassed_names(unit))
        new = module.visit(visitor)
        return new if visitor.changed else None

    return rewrite


# --- family: how containers are built ---------------------------------------------------


def _is_sequential(node: cst.BaseExpression, prefixes: set[str]) -> bool:
    name = dotted(node.func) if isinstance(node, cst.Call) else None
    return bool(name) and name.rpartition(".")[0] in prefixes and name.endswith(".Sequential")


def _plain_args(call: cst.Call, minimum: int) -> bool:
    return (len(call.args) >= minimum and all(a.keyword is None and not a.star
                                              for a in call.args)
            and any(isinstance(a.value, cst.Call) for a in call.args))


def _elements(args: Sequence[cst.Arg]) -> list[cst.Element]:
    """Call arguments as tuple elements, keeping their commas (and the comments in them)."""
    out = []
    for index, arg in enumerate(args):
        comma = arg.comma
        if isinstance(comma, cst.MaybeSentinel) and (len(args) == 1 or index < len(args) - 1):
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        out.append(cst.Element(value=arg.value, comma=comma))
    if len(out) == 1 and isinstance(out[0].comma, cst.MaybeSentinel):
        out[0] = out[0].with_changes(comma=cst.Comma())
    return out


def _sequential_attr_used_as_sequence(module: cst.Module, attr: str) -> bool:
    text = _code(module)
    return bool(re.search(rf"\b{attr}\s*\[|in\s+(self\.)?{attr}\s*[:)]|\b{attr}\.children\(|"
                          rf"enumerate\((self\.)?{attr}\)|len\((self\.)?{attr}\)", text))


class _SeqBlocks(cst.CSTTransformer):
    """``self.x = nn.Sequential(a, b, c, d, e)`` → a Sequential of 2-layer Sequential blocks
    made by a comprehension: same layers, same order, one level deeper."""

    def __init__(self, prefixes: set[str], module: cst.Module) -> None:
        self.prefixes = prefixes
        self.module = module
        self.changed = False

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        value = updated.value
        if not (len(updated.targets) == 1 and isinstance(value, cst.Call)
                and _is_sequential(value, self.prefixes) and _plain_args(value, 3)):
            return updated
        target = updated.targets[0].target
        name = target.attr.value if isinstance(target, cst.Attribute) else (
            target.value if isinstance(target, cst.Name) else None)
        if name is None or _sequential_attr_used_as_sequence(self.module, name):
            return updated
        args = list(value.args)
        groups = [args[i:i + 2] for i in range(0, len(args), 2)]
        inner = cst.Tuple(elements=[
            cst.Element(cst.Tuple(elements=_elements(g)),
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for g in groups])
        seq = code_of(value.func)
        comp = expr(f"[{seq}(*_mm_blk) for _mm_blk in ()]")
        assert isinstance(comp, cst.ListComp)
        comp = comp.with_changes(for_in=comp.for_in.with_changes(iter=inner))
        new_value = value.with_changes(args=[cst.Arg(value=comp, star="*")])
        self.changed = True
        return updated.with_changes(value=new_value)


def seq_nested_blocks(module: cst.Module, unit: Unit) -> cst.Module | None:
    visitor = _SeqBlocks(_nn_prefixes(module), module)
    new = module.visit(visitor)
    return new if visitor.changed else None


def seq_to_helper(module: cst.Module, unit: Unit) -> cst.Module | None:
    """``nn.Sequential(...)`` built in a method → a module-level helper that returns it,
    called with the method's locals the layers need."""
    prefixes = _nn_prefixes(module)
    fresh = _counter("_mm_seq_", module)
    helpers: list[cst.FunctionDef] = []

    class Rewrite(cst.CSTTransformer):
        def __init__(self) -> None:
            self.fn: list[cst.FunctionDef] = []

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.fn.append(node)

        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                              ) -> cst.FunctionDef:
            self.fn.pop()
            return updated

        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            if not self.fn or not _is_sequential(original, prefixes) or not _plain_args(
                    original, 2):
                return updated
            fn = self.fn[-1]
            local = _function_locals(fn)
            needed = sorted(names_in(original) & local)
            self_name = _self_name(fn)
            if self_name in needed or "super" in names_in(original):
                return updated
            name = fresh()
            body = cst.IndentedBlock(body=[cst.SimpleStatementLine(
                body=[cst.Return(value=original)])])
            helpers.append(cst.FunctionDef(
                name=cst.Name(name),
                params=cst.Parameters(params=[cst.Param(cst.Name(n)) for n in needed]),
                body=body, leading_lines=[cst.EmptyLine(), cst.EmptyLine()]))
            return expr(f"{name}({', '.join(f'{n}={n}' for n in needed)})")

    new = module.visit(Rewrite())
    if not helpers:
        return None
    return _insert_before_first_def(new, helpers)


def _insert_before_first_def(module: cst.Module, new: Sequence[cst.BaseStatement]
                             ) -> cst.Module:
    body = list(module.body)
    at = next((i for i, s in enumerate(body) if isinstance(s, (cst.ClassDef, cst.FunctionDef))),
              len(body))
    return module.with_changes(body=[*body[:at], *new, *body[at:]])


class _StatementRewriter(cst.CSTTransformer):
    """Replace one assignment statement (inside a function) by several."""

    def __init__(self) -> None:
        self.changed = False
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                          ) -> cst.FunctionDef:
        self.depth -= 1
        return updated

    def replace(self, line: cst.SimpleStatementLine, assign: cst.Assign
                ) -> list[cst.BaseStatement] | None:
        raise NotImplementedError

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine
                                  ) -> cst.BaseStatement | cst.FlattenSentinel:
        if (self.depth == 0 or len(updated.body) != 1
                or not isinstance(updated.body[0], cst.Assign)
                or len(updated.body[0].targets) != 1):
            return updated
        new = self.replace(updated, updated.body[0])
        if new is None:
            return updated
        self.changed = True
        tw = updated.trailing_whitespace
        new = [_with_trailing(s, tw) for s in new]
        new[0] = new[0].with_changes(leading_lines=updated.leading_lines)
        return cst.FlattenSentinel(new)


class _SeqAppend(_StatementRewriter):
    """``x = nn.Sequential(a, b, c)`` → an empty list, a loop appending each layer, and
    ``x = nn.Sequential(*layers)``."""

    def __init__(self, prefixes: set[str], fresh: Callable[[], str]) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.fresh = fresh

    def replace(self, line: cst.SimpleStatementLine, assign: cst.Assign
                ) -> list[cst.BaseStatement] | None:
        value = assign.value
        if not (isinstance(value, cst.Call) and _is_sequential(value, self.prefixes)
                and _plain_args(value, 2)):
            return None
        items = self.fresh()
        layer = f"{items}_layer"
        loop = stmt(f"for {layer} in ():\n    {items}.append({layer})\n")
        assert isinstance(loop, cst.For)
        loop = loop.with_changes(iter=cst.Tuple(elements=_elements(value.args)))
        target = code_of(assign.targets[0].target)
        seq = code_of(value.func)
        return [stmt(f"{items} = []\n"), loop, stmt(f"{target} = {seq}(*{items})\n")]


def seq_to_append_loop(module: cst.Module, unit: Unit) -> cst.Module | None:
    visitor = _SeqAppend(_nn_prefixes(module), _counter("_mm_layers", module))
    new = module.visit(visitor)
    return new if visitor.changed else None


class _CompAppend(_StatementRewriter):
    """``x = nn.ModuleList([E for v in it])`` / ``nn.Sequential(*[...])`` → a loop that
    appends E to a list, then the container of that list."""

    def __init__(self, prefixes: set[str], fresh: Callable[[], str]) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.fresh = fresh

    def replace(self, line: cst.SimpleStatementLine, assign: cst.Assign
                ) -> list[cst.BaseStatement] | None:
        value = assign.value
        if not (isinstance(value, cst.Call) and len(value.args) == 1
                and value.args[0].keyword is None):
            return None
        name = dotted(value.func) or ""
        prefix, _, cls = name.rpartition(".")
        arg = value.args[0]
        comp = arg.value
        if (prefix not in self.prefixes or cls not in ("ModuleList", "Sequential")
                or not isinstance(comp, cst.ListComp) or comp.for_in.inner_for_in is not None
                or comp.for_in.ifs or comp.for_in.asynchronous is not None
                or not isinstance(comp.for_in.target, cst.Name)
                or (cls == "Sequential") != (arg.star == "*")
                or (cls == "ModuleList") != (arg.star == "")):
            return None
        items = self.fresh()
        var = f"{items}_v"
        element = comp.elt.visit(_Rename({comp.for_in.target.value: var}))
        loop = stmt(f"for {var} in ():\n    {items}.append(())\n")
        assert isinstance(loop, cst.For)
        inner = loop.body.body[0]
        assert isinstance(inner, cst.SimpleStatementLine)
        call = inner.body[0]
        assert isinstance(call, cst.Expr) and isinstance(call.value, cst.Call)
        new_inner = inner.with_changes(body=[call.with_changes(value=call.value.with_changes(
            args=[cst.Arg(value=element)]))])
        loop = loop.with_changes(iter=comp.for_in.iter,
                                 body=loop.body.with_changes(body=[new_inner]))
        target = code_of(assign.targets[0].target)
        container = code_of(value.func)
        star = "*" if cls == "Sequential" else ""
        return [stmt(f"{items} = []\n"), loop,
                stmt(f"{target} = {container}({star}{items})\n")]


class _Rename(cst.CSTTransformer):
    """Rename free occurrences of names (no scoping: used on small expressions)."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        new = self.mapping.get(updated.value)
        return updated.with_changes(value=new) if new else updated

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return True

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute
                        ) -> cst.Attribute:
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)


def comp_to_append_loop(module: cst.Module, unit: Unit) -> cst.Module | None:
    visitor = _CompAppend(_nn_prefixes(module), _counter("_mm_items", module))
    new = module.visit(visitor)
    return new if visitor.changed else None


# --- family: where a value comes from ----------------------------------------------------

#: Calls whose literal arguments name attributes or types, not values: left alone.
_NOT_VALUES = {"isinstance", "hasattr", "getattr", "setattr", "super", "print", "type",
               "register_buffer", "register_parameter", "add_module", "find", "startswith",
               "endswith", "split", "replace", "format", "join", "get", "pop", "warn",
               "OrderedDict", "dict", "__init__", "Parameter"}


def _literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return True
    return (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
            and isinstance(node.expression, (cst.Integer, cst.Float)))


class _Literals(cst.CSTTransformer):
    """Replace literal call arguments inside chosen functions with ``make(literal)``."""

    def __init__(self, wanted: Callable[[cst.FunctionDef, list[cst.ClassDef]], bool],
                 make: Callable[[cst.BaseExpression, cst.ClassDef | None], cst.BaseExpression]
                 ) -> None:
        self.wanted = wanted
        self.make = make
        self.fns: list[cst.FunctionDef] = []
        self.classes: list[cst.ClassDef] = []
        self.changed = False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.classes.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.fns.append(node)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                          ) -> cst.FunctionDef:
        self.fns.pop()
        return updated

    def visit_Decorator(self, node: cst.Decorator) -> bool:
        return False

    def visit_Parameters(self, node: cst.Parameters) -> bool:
        return False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not self.fns or not self.wanted(self.fns[-1], self.classes):
            return updated
        func = dotted(updated.func) or ""
        if func.rpartition(".")[2] in _NOT_VALUES:
            return updated
        args = []
        for arg in updated.args:
            if not arg.star and _literal(arg.value):
                arg = arg.with_changes(value=self.make(
                    arg.value, self.classes[-1] if self.classes else None))
                self.changed = True
            args.append(arg)
        return updated.with_changes(args=args)


def literal_to_constant(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Literal arguments in functions → module constants defined after the imports."""
    fresh = _counter("_MM_K", module)
    constants: list[cst.BaseStatement] = []

    def make(value: cst.BaseExpression, cls: cst.ClassDef | None) -> cst.BaseExpression:
        name = fresh()
        constants.append(stmt(f"{name} = {code_of(value)}\n"))
        return cst.Name(name)

    visitor = _Literals(lambda fn, classes: True, make)
    new = module.visit(visitor)
    if not visitor.changed:
        return None
    return _insert_after_imports(new, constants)


def _in_init(fn: cst.FunctionDef, classes: list[cst.ClassDef]) -> bool:
    return bool(classes) and fn.name.value == "__init__" and _self_name(fn) is not None


def _add_params(fn: cst.FunctionDef, params: list[cst.Param]) -> cst.FunctionDef:
    current = fn.params
    if isinstance(current.star_arg, (cst.Param, cst.ParamStar)):
        return fn.with_changes(params=current.with_changes(
            kwonly_params=[*current.kwonly_params, *params]))
    return fn.with_changes(params=current.with_changes(params=[*current.params, *params]))


class _InitParams(cst.CSTTransformer):
    """Give each ``__init__`` the parameters its rewritten body now reads."""

    def __init__(self, extra: dict[str, list[cst.Param]]) -> None:
        self.extra = extra
        self.classes: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.classes.pop()
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                          ) -> cst.FunctionDef:
        if not self.classes or updated.name.value != "__init__":
            return updated
        params = self.extra.get(self.classes[-1])
        return _add_params(updated, params) if params else updated


def literal_to_init_default(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Literal arguments in ``__init__`` → new ``__init__`` parameters with that default."""
    fresh = _counter("mm_p", module)
    extra: dict[str, list[cst.Param]] = {}

    def make(value: cst.BaseExpression, cls: cst.ClassDef | None) -> cst.BaseExpression:
        assert cls is not None
        name = fresh()
        extra.setdefault(cls.name.value, []).append(cst.Param(
            cst.Name(name), default=value, equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""))))
        return cst.Name(name)

    visitor = _Literals(_in_init, make)
    new = module.visit(visitor)
    if not visitor.changed:
        return None
    return new.visit(_InitParams(extra))


def literal_to_config(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Literal arguments in ``__init__`` → attributes of a config object (transformers'
    style: a config class whose ``__init__`` defaults hold the values), passed in as an
    ``__init__`` parameter whose default is the config with its defaults."""
    fresh = _counter("mm_c", module)
    fields: list[tuple[str, str]] = []
    users: set[str] = set()

    def make(value: cst.BaseExpression, cls: cst.ClassDef | None) -> cst.BaseExpression:
        assert cls is not None
        name = fresh()
        fields.append((name, code_of(value)))
        users.add(cls.name.value)
        return expr(f"mm_config.{name}")

    visitor = _Literals(_in_init, make)
    new = module.visit(visitor)
    if not visitor.changed:
        return None
    args = ", ".join(f"{n}={v}" for n, v in fields)
    body = "".join(f"        self.{n} = {n}\n" for n, _ in fields)
    config = stmt(f"class MMConfig:\n    def __init__(self, {args}):\n{body}")
    config = config.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    param = cst.Param(cst.Name("mm_config"), annotation=cst.Annotation(cst.Name("MMConfig")),
                      default=expr("MMConfig()"))
    new = new.visit(_InitParams({u: [param] for u in users}))
    return _insert_before_first_def(new, [config])


# --- family: how a tensor is written -----------------------------------------------------

#: nn.init function → (Tensor method, the init function's value parameters with defaults).
_INIT_METHODS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "normal_": ("normal_", (("mean", "0.0"), ("std", "1.0"))),
    "uniform_": ("uniform_", (("a", "0.0"), ("b", "1.0"))),
    "constant_": ("fill_", (("val", ""),)),
    "zeros_": ("zero_", ()),
    "ones_": ("fill_", (("", "1.0"),)),
}


def _init_call(node: cst.BaseExpression, prefixes: set[str]
               ) -> tuple[cst.BaseExpression, str, list[str]] | None:
    """``nn.init.normal_(t, 0, 0.02)`` → (t, "normal_", ["0", "0.02"]) (method arguments)."""
    if not isinstance(node, cst.Call):
        return None
    name = dotted(node.func) or ""
    prefix, _, fn = name.rpartition(".")
    if prefix not in prefixes or fn not in _INIT_METHODS or not node.args:
        return None
    first, *rest = node.args
    if first.keyword is not None or first.star or any(a.star for a in rest):
        return None
    method, spec = _INIT_METHODS[fn]
    values: dict[str, str] = {}
    for index, arg in enumerate(rest):
        if arg.keyword is None:
            if index >= len(spec):
                return None
            values[spec[index][0]] = code_of(arg.value)
        elif arg.keyword.value in {k for k, _ in spec}:
            values[arg.keyword.value] = code_of(arg.value)
        else:
            return None
    args = [values.get(k, d) for k, d in spec]
    if any(not a for a in args):
        return None
    return first.value, method, args


def _init_to_method(nograd: bool) -> Callable[[cst.Module, Unit], cst.Module | None]:
    def rewrite(module: cst.Module, unit: Unit) -> cst.Module | None:
        prefixes = _init_prefixes(module)
        changed = []

        class Rewrite(cst.CSTTransformer):
            def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                          updated: cst.SimpleStatementLine
                                          ) -> cst.BaseStatement:
                if len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
                    return updated
                found = _init_call(updated.body[0].value, prefixes)
                if found is None:
                    return updated
                target, method, args = found
                receiver = code_of(target)
                if not nograd and not (isinstance(target, cst.Attribute)
                                       and target.attr.value == "data"):
                    receiver = f"{receiver}.data"
                call = f"{receiver}.{method}({', '.join(args)})"
                tw = updated.trailing_whitespace
                changed.append(True)
                if not nograd:
                    return updated.with_changes(body=[cst.Expr(expr(call))])
                block = stmt(f"with torch.no_grad():\n    {call}\n")
                assert isinstance(block, cst.With)
                inner = block.body.body[0]
                assert isinstance(inner, cst.SimpleStatementLine)
                return block.with_changes(
                    leading_lines=updated.leading_lines,
                    body=block.body.with_changes(header=tw, body=[
                        inner.with_changes(trailing_whitespace=tw)]))

        new = module.visit(Rewrite())
        if not changed:
            return None
        if nograd:
            new, _ = _ensure_torch(new)
        return new

    return rewrite


#: Tensor method on ``.data`` → (nn.init function, how many method arguments it takes).
_METHOD_INITS = {"normal_": "normal_", "uniform_": "uniform_", "fill_": "constant_",
                 "zero_": "zeros_"}


def data_to_init(module: cst.Module, unit: Unit) -> cst.Module | None:
    """``p.data.normal_(0, 0.02)`` → ``nn.init.normal_(p, 0, 0.02)`` (and uniform_, fill_,
    zero_)."""
    prefixes = sorted(_init_prefixes(module), key=len)
    if not prefixes:
        return None
    init = prefixes[0]
    changed = []

    class Rewrite(cst.CSTTransformer):
        def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                      updated: cst.SimpleStatementLine) -> cst.BaseStatement:
            if len(updated.body) != 1 or not isinstance(updated.body[0], cst.Expr):
                return updated
            call = updated.body[0].value
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                    and call.func.attr.value in _METHOD_INITS
                    and isinstance(call.func.value, cst.Attribute)
                    and call.func.value.attr.value == "data"
                    and all(a.keyword is None and not a.star for a in call.args)):
                return updated
            method = call.func.attr.value
            limit = {"normal_": 2, "uniform_": 2, "fill_": 1, "zero_": 0}[method]
            if len(call.args) > limit or (method == "fill_" and not call.args):
                return updated
            tensor = code_of(call.func.value.value)
            args = [tensor, *(code_of(a.value) for a in call.args)]
            changed.append(True)
            new = expr(f"{init}.{_METHOD_INITS[method]}({', '.join(args)})")
            return updated.with_changes(body=[cst.Expr(new)])

    new = module.visit(Rewrite())
    return new if changed else None


# --- family: how a parameter-name filter is spelled -----------------------------------------

_LEAVES = ("weight", "bias")
#: Layers whose parameter names are not just ``weight``/``bias`` (``weight_ih_l0``,
#: ``in_proj_weight``, ``weight_g``): the name-filter spellings differ on them.
_MULTI_PARAM = re.compile(r"LSTM|GRU|RNN|MultiheadAttention|Transformer|weight_norm|"
                          r"spectral_norm|in_proj|parametriz")

_NAME_TESTS: dict[str, Callable[[str, str], str]] = {
    "in": lambda var, leaf: f'"{leaf}" in {var}',
    "endswith": lambda var, leaf: f'{var}.endswith("{leaf}")',
    "split": lambda var, leaf: f'{var}.split(".")[-1] == "{leaf}"',
}


def _name_test(node: cst.BaseExpression, var: str) -> tuple[str, str, bool] | None:
    """(spelling, leaf, negated) of a test on the parameter name ``var``."""
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        comp = node.comparisons[0]
        left, right = node.left, comp.comparator
        if (isinstance(comp.operator, (cst.In, cst.NotIn)) and isinstance(left, cst.SimpleString)
                and isinstance(right, cst.Name) and right.value == var
                and left.evaluated_value in _LEAVES):
            return "in", str(left.evaluated_value), isinstance(comp.operator, cst.NotIn)
        if (isinstance(comp.operator, cst.Equal) and isinstance(right, cst.SimpleString)
                and right.evaluated_value in _LEAVES
                and code_of(left) == f'{var}.split(".")[-1]'):
            return "split", str(right.evaluated_value), False
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "endswith" and isinstance(node.func.value, cst.Name)
            and node.func.value.value == var and len(node.args) == 1
            and isinstance(node.args[0].value, cst.SimpleString)
            and node.args[0].value.evaluated_value in _LEAVES):
        return "endswith", str(node.args[0].value.evaluated_value), False
    return None


def _name_filter(spelling: str) -> Callable[[cst.Module, Unit], cst.Module | None]:
    def rewrite(module: cst.Module, unit: Unit) -> cst.Module | None:
        if any(_MULTI_PARAM.search(s) for s in unit.sources):
            return None
        changed = []

        class Rewrite(cst.CSTTransformer):
            def __init__(self) -> None:
                self.vars: list[str] = []

            def visit_For(self, node: cst.For) -> None:
                target = node.target
                if (isinstance(node.iter, cst.Call) and isinstance(node.iter.func, cst.Attribute)
                        and node.iter.func.attr.value == "named_parameters"
                        and isinstance(target, cst.Tuple) and len(target.elements) == 2
                        and isinstance(target.elements[0].value, cst.Name)):
                    self.vars.append(target.elements[0].value.value)
                else:
                    self.vars.append("")

            def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
                self.vars.pop()
                return updated

            def _swap(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
                var = next((v for v in reversed(self.vars) if v), "")
                found = _name_test(node, var) if var else None
                if found is None or found[0] == spelling:
                    return None
                _, leaf, negated = found
                new = _NAME_TESTS[spelling](var, leaf)
                if negated:
                    new = (f'"{leaf}" not in {var}' if spelling == "in" else f"not {new}")
                changed.append(True)
                return expr(f"({new})")

            def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison
                                 ) -> cst.BaseExpression:
                return self._swap(original) or updated

            def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
                return self._swap(original) or updated

        new = module.visit(Rewrite())
        return new if changed else None

    return rewrite


# --- family: names -----------------------------------------------------------------------


def rename_locals(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Every local name of every function (variables, loop and comprehension variables,
    parameters no caller passes by keyword) gets a new name; ``self``/``cls`` stay."""
    return _rename(module, unit, selves=False)


def rename_self(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Only the first parameter of methods: ``self`` → ``self_r``, ``cls`` → ``cls_r``."""
    return _rename(module, unit, selves=True)


def _rename(module: cst.Module, unit: Unit, selves: bool) -> cst.Module | None:
    wrapper = MetadataWrapper(module)
    scopes = {s for s in wrapper.resolve(ScopeProvider).values() if s is not None}
    keywords = unit.keywords
    text = _code(module)
    targets: dict[cst.CSTNode, str] = {}
    for scope in scopes:
        if isinstance(scope, (GlobalScope, ClassScope)) or not isinstance(
                scope, (FunctionScope, ComprehensionScope)):
            continue
        by_name: dict[str, list] = {}
        for assignment in scope.assignments:
            by_name.setdefault(assignment.name, []).append(assignment)
        for name, assignments in by_name.items():
            nodes = [getattr(a, "node", None) for a in assignments]
            if any(isinstance(n, (cst.Import, cst.ImportFrom, cst.ClassDef)) or n is None
                   for n in nodes):
                continue
            if any(isinstance(n, cst.Param) for n in nodes) and name in keywords and name not in (
                    "self", "cls"):
                continue
            if re.search(rf"\b(global|nonlocal)\b[^\n]*\b{name}\b", text):
                continue
            if (name in ("self", "cls")) != selves:
                continue
            new = f"{name}_r"
            for assignment in assignments:
                node = assignment.node
                if isinstance(node, (cst.Param, cst.FunctionDef)):
                    targets[node.name] = new
                elif isinstance(node, cst.Name):
                    targets[node] = new
                for ref in assignment.references:
                    if isinstance(ref.node, cst.Name):
                        targets[ref.node] = new
    if not targets:
        return None

    class Rewrite(cst.CSTTransformer):
        def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
            new = targets.get(original)
            return updated.with_changes(value=new) if new else updated

    return wrapper.module.visit(Rewrite())


# --- family: a constructor flag that decides a parameter and guards its init -----------------

#: Layers whose keyword ``bias=False`` leaves ``.bias`` None.
_BIASED = frozenset({"Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
                     "ConvTranspose2d", "ConvTranspose3d"})


def _bias_free_layer(line: cst.BaseStatement, self_name: str, prefixes: set[str]
                     ) -> tuple[str, cst.Call] | None:
    """``self.<name> = nn.Linear(..., bias=False)`` as (name, call)."""
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    small = line.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    target = small.targets[0].target
    call = small.value
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
            and target.value.value == self_name and isinstance(call, cst.Call)):
        return None
    func = dotted(call.func) or ""
    owner, _, cls = func.rpartition(".")
    if owner not in prefixes or cls not in _BIASED:
        return None
    bias = [a for a in call.args if a.keyword is not None and a.keyword.value == "bias"]
    if len(bias) != 1 or code_of(bias[0].value) != "False":
        return None
    return target.attr.value, call


def _tag_only(tw: cst.TrailingWhitespace) -> cst.TrailingWhitespace:
    """The harness's ``# @L<n>`` tag of a line without the rest of its comment (a ``# noqa``
    copied onto a new statement would be a second directive)."""
    comment = tw.comment.value if tw.comment else ""
    tag = re.search(r"#\s*@L\d+", comment)
    return tw.with_changes(comment=cst.Comment(tag.group(0)) if tag else None,
                           whitespace=cst.SimpleWhitespace("  " if tag else ""))


def bias_flag_guard(module: cst.Module, unit: Unit) -> cst.Module | None:
    """``self.fc = nn.Linear(a, b, bias=False)`` in ``__init__`` → ``nn.Linear(a, b,
    bias=<flag>)`` with a new ``__init__`` parameter ``<flag>=False``, followed by ``if <flag>:
    nn.init.zeros_(self.fc.bias)``: the write runs exactly in the constructions that build the
    bias, so the default construction is the same model (and nothing crashes)."""
    prefixes = _nn_prefixes(module)
    inits = sorted(_init_prefixes(module))
    if not prefixes or not inits:
        return None
    fresh = _counter("mm_bias", module)
    changed = False

    class Rewrite(cst.CSTTransformer):
        def __init__(self) -> None:
            self.classes: list[str] = []

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.classes.append(node.name.value)

        def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef
                           ) -> cst.ClassDef:
            self.classes.pop()
            return updated

        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                              ) -> cst.FunctionDef:
            nonlocal changed
            self_name = _self_name(updated)
            if (not self.classes or updated.name.value != "__init__" or self_name is None
                    or not isinstance(updated.body, cst.IndentedBlock)):
                return updated
            body: list[cst.BaseStatement] = []
            params: list[cst.Param] = []
            for line in updated.body.body:
                found = _bias_free_layer(line, self_name, prefixes)
                if found is None:
                    body.append(line)
                    continue
                name, call = found
                flag = fresh()
                args = [a.with_changes(value=cst.Name(flag)) if a.keyword is not None
                        and a.keyword.value == "bias" else a for a in call.args]
                assert isinstance(line, cst.SimpleStatementLine)
                small = line.body[0]
                assert isinstance(small, cst.Assign)
                body.append(line.with_changes(body=[small.with_changes(
                    value=call.with_changes(args=args))]))
                guard = stmt(f"if {flag}:\n    {inits[0]}.zeros_({self_name}.{name}.bias)\n")
                body.append(_with_trailing(guard, _tag_only(line.trailing_whitespace)))
                params.append(cst.Param(cst.Name(flag), default=cst.Name("False"),
                                        equal=cst.AssignEqual(
                                            whitespace_before=cst.SimpleWhitespace(""),
                                            whitespace_after=cst.SimpleWhitespace(""))))
            if not params:
                return updated
            changed = True
            updated = updated.with_changes(body=updated.body.with_changes(body=body))
            return _add_params(updated, params)

    new = module.visit(Rewrite())
    return new if changed else None


# --- the catalogue -------------------------------------------------------------------------

TRANSFORMS: tuple[Transform, ...] = (
    Transform("loop_to_apply", "init-site", loop_to_apply,
              "`for m in self.modules(): body` in a method → module-level `def f(m): body` "
              "+ `self.apply(f)`",
              needs=(".modules()",)),
    Transform("loop_to_staticmethod", "init-site", loop_to_staticmethod,
              "the same loop → a `@staticmethod` of the class + `self.apply(self.f)`",
              needs=(".modules()",)),
    Transform("loop_to_build", "init-site", loop_to_build,
              "the loop ending `__init__` → module-level `build_<Class>()` doing "
              "`model = Class(); model.apply(f)`",
              needs=(".modules()",)),
    Transform("apply_to_loop", "init-site", apply_to_loop,
              "`x.apply(fn)` → `for m in x.modules(): fn(m)`",
              needs=(".apply(",)),
    Transform("method_to_staticmethod", "init-site", method_to_staticmethod,
              "`def _init(self, m)` that ignores self → `@staticmethod def _init(m)`",
              needs=("def ",)),
    Transform("dispatch_name_in", "dispatch", _dispatch("name_in"),
              '`isinstance(m, nn.X)` → `"X" in type(m).__name__`',
              needs=("isinstance(",)),
    Transform("dispatch_class_find", "dispatch", _dispatch("class_find"),
              '`isinstance(m, nn.X)` → `m.__class__.__name__.find("X") != -1`',
              needs=("isinstance(",)),
    Transform("dispatch_startswith", "dispatch", _dispatch("startswith"),
              '`isinstance(m, nn.X)` → `type(m).__name__.startswith("X")`',
              needs=("isinstance(",)),
    Transform("dispatch_name_eq", "dispatch", _dispatch("name_eq"),
              '`isinstance(m, nn.X)` → `type(m).__name__ == "X"`',
              needs=("isinstance(",)),
    Transform("dispatch_type_in", "dispatch", _dispatch("type_in"),
              "`isinstance(m, (nn.X, nn.Y))` → `type(m) in (nn.X, nn.Y)`",
              needs=("isinstance(",)),
    Transform("seq_nested_blocks", "container", seq_nested_blocks,
              "`nn.Sequential(a, b, c, d, e)` → `nn.Sequential(*[nn.Sequential(*blk) for blk "
              "in ((a, b), (c, d), (e,))])`", relabels_layers=True,
              needs=("Sequential(",)),
    Transform("seq_to_helper", "container", seq_to_helper,
              "`nn.Sequential(...)` in a method → a module-level helper returning it",
              needs=("Sequential(",)),
    Transform("seq_to_append_loop", "container", seq_to_append_loop,
              "`x = nn.Sequential(a, b)` → `layers = []; for l in (a, b): layers.append(l); "
              "x = nn.Sequential(*layers)`",
              needs=("Sequential(",)),
    Transform("comp_to_append_loop", "container", comp_to_append_loop,
              "`nn.ModuleList([E for v in it])` → a loop appending E, then "
              "`nn.ModuleList(items)`",
              needs=("ModuleList(", "Sequential(")),
    Transform("literal_to_constant", "value", literal_to_constant,
              "literal call arguments in functions → module constants"),
    Transform("literal_to_init_default", "value", literal_to_init_default,
              "literal call arguments in `__init__` → `__init__` parameters with that default",
              needs=("__init__",)),
    Transform("literal_to_config", "value", literal_to_config,
              "literal call arguments in `__init__` → `mm_config.x` of a config class whose "
              "defaults hold them",
              needs=("__init__",)),
    Transform("init_to_data_method", "write", _init_to_method(nograd=False),
              "`nn.init.normal_(w, a, b)` → `w.data.normal_(a, b)` (uniform_, constant_, "
              "zeros_, ones_ too)",
              needs=("init.",)),
    Transform("init_to_nograd_method", "write", _init_to_method(nograd=True),
              "`nn.init.normal_(w, a, b)` → `with torch.no_grad(): w.normal_(a, b)`",
              needs=("init.",)),
    Transform("data_method_to_init", "write", data_to_init,
              "`w.data.normal_(a, b)` → `nn.init.normal_(w, a, b)` (uniform_, fill_, zero_)",
              needs=(".data.",)),
    Transform("name_filter_in", "name-filter", _name_filter("in"),
              'name tests on `named_parameters()` names → `"bias" in name`',
              needs=("named_parameters",)),
    Transform("name_filter_endswith", "name-filter", _name_filter("endswith"),
              '→ `name.endswith("bias")`',
              needs=("named_parameters",)),
    Transform("name_filter_split", "name-filter", _name_filter("split"),
              '→ `name.split(".")[-1] == "bias"`',
              needs=("named_parameters",)),
    Transform("rename_locals", "names", rename_locals,
              "every local name of every function renamed (`m` → `m_r`), self/cls kept"),
    Transform("rename_self", "names", rename_self,
              "methods' `self` → `self_r` (and `cls` → `cls_r`)"),
    Transform("bias_flag_guard", "correlated", bias_flag_guard,
              "`self.fc = nn.Linear(a, b, bias=False)` → `bias=flag` with `__init__` "
              "parameter `flag=False`, then `if flag: nn.init.zeros_(self.fc.bias)`",
              needs=("bias=False",)),
)
