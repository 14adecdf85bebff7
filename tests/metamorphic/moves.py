# ruff: noqa: N802  (libcst dispatches on visit_<Node>/leave_<Node> method names)
"""Rewrites that move init code out of the class, as real projects organize it (issue 18).

transforms.py rewrites a fixture within its own file; these move the code that initializes
a model across functions and files: into a builder function in another module of a package,
into a training script, into a helper handed ``self`` (in the same file or ``utils.py``),
into a closure returned by a factory, behind a registry, and a layer's default bias into a
constructor flag that both builds the bias and guards its init (the correlated form).

Each one preserves what building the model does: test_equivalence.py builds the original
and the rewritten program with torch (importing packages and running scripts from a temp
directory) and compares their parameters. Moved lines keep their ``# @L<n>`` tags and
every new file records the original file it came from (:class:`~transforms.Moved`), so a
finding is traced back to the line it was about.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import libcst as cst
from transforms import (
    Entry,
    Files,
    Moved,
    Transform,
    Unit,
    _assigned,
    _code,
    _Forbidden,
    _function_locals,
    _init_prefixes,
    _insert_after_imports,
    _Literals,
    _nn_prefixes,
    _parse,
    _Rename,
    _self_name,
    _trailing,
    _with_trailing,
    code_of,
    dotted,
    expr,
    names_in,
    stmt,
)

_BUILTINS = frozenset(dir(builtins))
#: A statement that initializes: an apply, a module or parameter walk, an init method or
#: function (``init``/``reset`` in its name, an in-place ``x_(...)``), a ``.data`` write.
_INIT_LIKE = re.compile(r"init|reset|\.apply\(|modules\(\)|parameters\(\)|\w_\(|\.data\b")
_COMMENT = re.compile(r"#[^\n]*")


# --- what a file defines, and who mentions a name -----------------------------------------


def _bare(source: str) -> str:
    return _COMMENT.sub("", source)


def _mentions(name: str, sources: Sequence[str]) -> int:
    """How often ``name`` occurs as a word in the unit's code (comments dropped)."""
    return sum(len(re.findall(rf"(?<![\w.]){re.escape(name)}\b", _bare(s))) for s in sources)


def _attr_mentions(name: str, sources: Sequence[str]) -> int:
    return sum(len(re.findall(rf"\.{re.escape(name)}\b", _bare(s))) for s in sources)


def _import_lines(module: cst.Module) -> list[cst.SimpleStatementLine]:
    return [line for line in module.body if isinstance(line, cst.SimpleStatementLine)
            and any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in line.body)]


def _imported_names(module: cst.Module) -> set[str]:
    out: set[str] = set()
    for line in _import_lines(module):
        for small in line.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                    small.names, cst.ImportStar):
                for alias in small.names:
                    if alias.asname is not None:
                        out |= names_in(alias.asname.name)
                    else:
                        out.add((dotted(alias.name) or "").split(".")[0])
    return out


def _defined_names(module: cst.Module) -> set[str]:
    """Names the module's own top-level statements define (not its imports)."""
    out: set[str] = set()
    for line in module.body:
        if isinstance(line, (cst.FunctionDef, cst.ClassDef)):
            out.add(line.name.value)
        elif isinstance(line, cst.SimpleStatementLine):
            for small in line.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        out |= names_in(target.target)
                elif isinstance(small, cst.AnnAssign):
                    out |= names_in(small.target)
        elif not _import_lines(cst.Module(body=[line])):
            out |= _assigned(cst.IndentedBlock(body=[line]))
    return out


def _free(stmts: Sequence[cst.BaseStatement]) -> set[str]:
    block = cst.IndentedBlock(body=list(stmts))
    return names_in(block) - _assigned(block)


def _is_self_attr(node: cst.BaseExpression, self_name: str) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
            and node.value.value == self_name)


class _SelfState(cst.CSTVisitor):
    """Does a statement set ``self.x`` itself (state, a layer), use ``super()``,
    ``__class__`` or a name-mangled ``self.__x``, or ``del``?"""

    def __init__(self, self_name: str) -> None:
        self.self_name = self_name
        self.found = False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.found |= _is_self_attr(node.target, self.self_name)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.found |= _is_self_attr(node.target, self.self_name)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.found |= _is_self_attr(node.target, self.self_name)

    def visit_Del(self, node: cst.Del) -> None:
        self.found = True

    def visit_Name(self, node: cst.Name) -> None:
        self.found |= node.value in ("super", "__class__")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        attr = node.attr.value
        self.found |= attr.startswith("__") and not attr.endswith("__")


def _movable(line: cst.BaseStatement, self_name: str, outer: set[str]) -> bool:
    """Can ``line`` of a method run elsewhere, handed the instance: it initializes, reads
    only the instance and globals, sets no ``self.x`` and does not leave the method."""
    if not _INIT_LIKE.search(_bare(code_of(line))):
        return False
    forbidden = _Forbidden()
    line.visit(forbidden)
    state = _SelfState(self_name)
    line.visit(state)
    free = _free([line])
    return (not forbidden.found and not state.found and self_name in free
            and not (free - {self_name}) & outer)


def _tail(fn: cst.FunctionDef, self_name: str) -> int:
    """Where the run of movable init statements ending ``fn`` starts (its length if none)."""
    body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
    outer = _function_locals(fn) - {self_name}
    start = len(body)
    while start > 0 and _movable(body[start - 1], self_name, outer):
        start -= 1
    return start


def _required_params(fn: cst.FunctionDef) -> bool:
    params = fn.params
    return any(p.default is None for p in (*params.posonly_params, *params.params[1:],
                                            *params.kwonly_params))


def _fresh_var(stmts: Sequence[cst.BaseStatement], taken: set[str], base: str) -> str:
    used = names_in(cst.IndentedBlock(body=list(stmts))) | taken
    name = base
    while name in used:
        name += "_mm"
    return name


def _renamed(stmts: Sequence[cst.BaseStatement], old: str, new: str
             ) -> list[cst.BaseStatement]:
    out = []
    for line in stmts:
        renamed = line.visit(_Rename({old: new}))
        assert isinstance(renamed, cst.BaseStatement)
        out.append(renamed)
    return out


def _function(name: str, params: cst.Parameters, body: Sequence[cst.BaseStatement]
              ) -> cst.FunctionDef:
    return cst.FunctionDef(name=cst.Name(name), params=params,
                           body=cst.IndentedBlock(body=list(body)),
                           leading_lines=[cst.EmptyLine(), cst.EmptyLine()])


def _params(*names: str) -> cst.Parameters:
    return cst.Parameters(params=[cst.Param(cst.Name(n)) for n in names])


def _with_body(fn: cst.FunctionDef, body: Sequence[cst.BaseStatement]) -> cst.FunctionDef:
    assert isinstance(fn.body, cst.IndentedBlock)
    return fn.with_changes(body=fn.body.with_changes(body=list(body) or [stmt("pass\n")]))


def _members(cls: cst.ClassDef) -> list[cst.BaseStatement]:
    return list(cls.body.body) if isinstance(cls.body, cst.IndentedBlock) else []


def _with_members(cls: cst.ClassDef, members: Sequence[cst.BaseStatement]) -> cst.ClassDef:
    assert isinstance(cls.body, cst.IndentedBlock)
    return cls.with_changes(body=cls.body.with_changes(body=list(members)))


def _find_init(cls: cst.ClassDef) -> tuple[int, cst.FunctionDef, str] | None:
    for index, member in enumerate(_members(cls)):
        if isinstance(member, cst.FunctionDef) and member.name.value == "__init__":
            self_name = _self_name(member)
            return (index, member, self_name) if self_name else None
    return None


# --- where the files of a moved unit go ---------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where a fixture file lives once its init code moves out: ``home`` (the model module),
    a sibling module ``sibling(stem)`` importable as ``.stem``, a script beside the package
    importing the model as ``dotted``; ``extra`` files to create (a package ``__init__``)."""

    origin: str
    home: str
    package_dir: str | None  # the package holding ``home`` (for a sibling module)
    script_dir: str  # where a training script goes
    dotted: str  # how the script imports the model module
    extra: tuple[tuple[str, str], ...] = ()


def _layout(rel: str, paths: set[str], package: bool) -> _Layout | None:
    """A file of a package unit stays where it is (siblings go in its directory); a
    standalone fixture becomes ``<stem>_mm/<stem>.py`` with siblings beside it: a package
    (``__init__.py``) where ``package``, else a flat project (``model.py`` + ``train.py``)."""
    path = PurePosixPath(rel)
    if any(p.endswith("__init__.py") for p in paths):
        parts = path.parts
        top = next((i for i in range(len(parts) - 1)
                    if str(PurePosixPath(*parts[:i + 1], "__init__.py")) in paths), None)
        if top is None or str(path.parent / "__init__.py") not in paths or path.stem == "__init__":
            return None
        dotted_name = ".".join((*parts[top:-1], path.stem))
        script_dir = str(PurePosixPath(*parts[:top])) if top else ""
        return _Layout(rel, rel, str(path.parent), script_dir, dotted_name)
    folder = path.parent / f"{path.stem}_mm"
    home = str(folder / path.name)
    if package:
        return _Layout(rel, home, str(folder), str(folder.parent), f"{folder.name}.{path.stem}",
                       ((str(folder / "__init__.py"), ""),))
    return _Layout(rel, home, None, str(folder), path.stem)


def _free_path(folder: str, stem: str, taken: set[str], origin_stem: str) -> str:
    for name in (stem, f"{stem}_{origin_stem}"):
        candidate = str(PurePosixPath(folder) / f"{name}.py") if folder else f"{name}.py"
        if candidate not in taken:
            return candidate
    raise AssertionError("no free file name")


def _absolute_imports(lines: Sequence[cst.SimpleStatementLine], package: str
                      ) -> list[cst.SimpleStatementLine]:
    """Relative imports of a module in ``package`` spelled absolute (for a script beside the
    package)."""
    out = []
    for line in lines:
        small = line.body[0]
        if isinstance(small, cst.ImportFrom) and small.relative:
            parts = package.split(".") if package else []
            base = parts[:len(parts) - (len(small.relative) - 1)]
            target = ".".join([*base, *([dotted(small.module) or ""] if small.module else [])])
            line = line.with_changes(body=[small.with_changes(
                relative=[], module=expr(target) if target else None)])
        out.append(line)
    return out


def _import_from(source: str, names: Sequence[str]) -> cst.SimpleStatementLine:
    line = stmt(f"from {source} import {', '.join(sorted(set(names)))}\n")
    assert isinstance(line, cst.SimpleStatementLine)
    return line


# --- 1, 2: init code out of the class, into a builder or a training script -----------------


@dataclass(frozen=True)
class _Taken:
    """Init statements that ended a class's ``__init__``, now run on the built instance."""

    cls: str
    self_name: str
    stmts: tuple[cst.BaseStatement, ...]


def _take_tails(module: cst.Module, sources: Sequence[str], allowed: set[str],
                no_arguments: bool) -> tuple[cst.Module, list[_Taken]]:
    """Cut the trailing init statements out of the ``__init__`` of each class no other code
    builds, subclasses or names (else its other constructions would lose their init):
    ``allowed`` the free names the code may read where it goes; ``no_arguments``: only
    classes that build without arguments (a script builds them so)."""
    out: list[cst.BaseStatement] = []
    taken: list[_Taken] = []
    for line in module.body:
        found = _find_init(line) if isinstance(line, cst.ClassDef) else None
        if found is None or _mentions(line.name.value, sources) != 1:  # type: ignore[union-attr]
            out.append(line)
            continue
        assert isinstance(line, cst.ClassDef)
        index, init, self_name = found
        body = list(init.body.body) if isinstance(init.body, cst.IndentedBlock) else []
        start = _tail(init, self_name)
        tail = body[start:]
        if (not tail or start == 0 or (no_arguments and _required_params(init))
                or _free(tail) - {self_name} - allowed - _BUILTINS):
            out.append(line)
            continue
        members = _members(line)
        members[index] = _with_body(init, body[:start])
        out.append(_with_members(line, members))
        taken.append(_Taken(line.name.value, self_name, tuple(tail)))
    return module.with_changes(body=out), taken


def _move_out(files: Files, script: bool) -> Moved | None:
    texts = dict(files)
    sources = tuple(texts.values())
    paths = set(texts)
    out: dict[str, str] = {}
    origins: dict[str, str] = {}
    homes: dict[str, str] = {}
    entries: list[Entry] = []
    changed = False
    for rel, text in files:
        layout = _layout(rel, paths, package=not script)
        module = _parse(text) if layout is not None and rel.endswith(".py") else None
        if layout is None or module is None or (not script and layout.package_dir is None):
            out[rel], origins[rel], homes[rel] = text, rel, rel
            continue
        imports = _import_lines(module)
        defined = _defined_names(module)
        new, taken = _take_tails(module, sources, _imported_names(module) | defined, script)
        if not taken:
            out[rel], origins[rel], homes[rel] = text, rel, rel
            continue
        changed = True
        out[layout.home], origins[layout.home], homes[rel] = new.code, rel, layout.home
        for extra, body in layout.extra:
            out[extra], origins[extra] = body, rel
        stem = PurePosixPath(rel).stem
        if script:
            # one training script per model (a failing init in one must not stop another)
            header = _absolute_imports(imports, layout.dotted.rpartition(".")[0])
            for item in taken:
                target = _free_path(layout.script_dir, "train", set(out) | paths,
                                    item.cls.lower())
                var = _fresh_var(item.stmts, defined | _imported_names(module), "model")
                needed = {item.cls} | (_free(item.stmts) & defined)
                guard = stmt('if __name__ == "__main__":\n    pass\n')
                assert isinstance(guard, cst.If) and isinstance(guard.body, cst.IndentedBlock)
                main = [stmt(f"{var} = {item.cls}()\n"),
                        *_renamed(item.stmts, item.self_name, var)]
                body: list[cst.BaseStatement] = [
                    *header, _import_from(layout.dotted, sorted(needed)),
                    guard.with_changes(body=guard.body.with_changes(body=main),
                                       leading_lines=[cst.EmptyLine(), cst.EmptyLine()])]
                out[target], origins[target] = cst.Module(body=body).code, rel
                entries.append(Entry(rel, item.cls, target, var, script=True))
            continue
        assert layout.package_dir is not None
        target = _free_path(layout.package_dir, "builders", set(out) | paths, stem)
        needed = {t.cls for t in taken} | (set().union(*(_free(t.stmts) for t in taken))
                                           & defined)
        body = [*imports, _import_from(f".{PurePosixPath(layout.home).stem}", sorted(needed))]
        for item in taken:
            var = _fresh_var(item.stmts, defined | _imported_names(module), "model")
            name = f"build_{item.cls}"
            body.append(_function(name, cst.Parameters(
                star_arg=cst.Param(cst.Name("args")), star_kwarg=cst.Param(cst.Name("kwargs"))),
                [stmt(f"{var} = {item.cls}(*args, **kwargs)\n"),
                 *_renamed(item.stmts, item.self_name, var), stmt(f"return {var}\n")]))
            entries.append(Entry(rel, item.cls, target, name))
        out[target], origins[target] = cst.Module(body=body).code, rel
    if not changed:
        return None
    return Moved(tuple(out.items()), tuple(origins.items()), tuple(homes.items()),
                 tuple(entries))


def to_builder_module(files: Files) -> Moved | None:
    return _move_out(files, script=False)


def to_train_script(files: Files) -> Moved | None:
    return _move_out(files, script=True)


# --- 3: a helper handed ``self`` ------------------------------------------------------------


def _method_to_function(cls: cst.ClassDef, member: cst.FunctionDef, sources: Sequence[str],
                        taken: set[str]) -> tuple[cst.FunctionDef, str] | None:
    """``def _init_weights(self, std=0.02)`` called only as ``self._init_weights(...)``
    inside its class → a module-level ``def _init_weights(net, std=0.02)``; (the
    function, the instance parameter it had)."""
    name = member.name.value
    self_name = _self_name(member)
    if (self_name is None or member.decorators or name.startswith("__") or name in taken
            or not _INIT_LIKE.search(name) or member.asynchronous is not None):
        return None
    selves = len(re.findall(rf"(?<![\w.]){re.escape(self_name)}\.{re.escape(name)}\(",
                            _bare(code_of(cls))))
    if (selves == 0 or _attr_mentions(name, sources) != selves or _mentions(name, sources) != 1
            or {"super", "__class__"} & names_in(member.body)
            or re.search(r"\.__(?!\w+__)", code_of(member.body))):
        return None
    var = _fresh_var(list(member.body.body) if isinstance(member.body, cst.IndentedBlock)
                     else [], taken, "net")
    body = member.body.visit(_Rename({self_name: var}))
    params = member.params
    first = params.params[0].with_changes(name=cst.Name(var), annotation=None)
    fn = member.with_changes(params=params.with_changes(params=[first, *params.params[1:]]),
                             body=body, leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    return fn, self_name


class _CallsToFunction(cst.CSTTransformer):
    """``self.name(args)`` → ``name(self, args)`` for the methods turned into functions."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if (isinstance(func, cst.Attribute) and func.attr.value in self.names
                and isinstance(func.value, cst.Name)):
            return updated.with_changes(func=cst.Name(func.attr.value),
                                        args=[cst.Arg(func.value), *updated.args])
        return updated


def _helperize(module: cst.Module, sources: Sequence[str], allowed: set[str] | None
               ) -> tuple[cst.Module, list[cst.FunctionDef]]:
    """Init methods called on ``self`` and the init statements ending ``__init__`` become
    module-level functions handed the instance. ``allowed``: the free names a function may
    read where it goes (None: anything this module defines)."""
    taken = _defined_names(module) | _imported_names(module)
    functions: list[cst.FunctionDef] = []
    out: list[cst.BaseStatement] = []
    for line in module.body:
        if not isinstance(line, cst.ClassDef):
            out.append(line)
            continue
        members: list[cst.BaseStatement] = []
        moved: set[str] = set()
        for member in _members(line):
            made = (_method_to_function(line, member, sources, taken)
                    if isinstance(member, cst.FunctionDef) else None)
            if made is not None and (allowed is None or not (
                    _free([made[0]]) - allowed - _BUILTINS - {made[0].name.value})):
                functions.append(made[0])
                moved.add(made[0].name.value)
                taken.add(made[0].name.value)
                continue
            members.append(member)
        found = _find_init(line.with_changes(body=line.body.with_changes(body=members)))
        if found is not None:
            index, init, self_name = found
            body = list(init.body.body) if isinstance(init.body, cst.IndentedBlock) else []
            start = _tail(init, self_name)
            tail = body[start:]
            name = f"init_{line.name.value.lower()}"
            if tail and start > 0 and name not in taken and (
                    allowed is None or not (_free(tail) - {self_name} - allowed - _BUILTINS)):
                var = _fresh_var(tail, taken, "net")
                helper = _function(name, _params(var), _renamed(tail, self_name, var))
                functions.append(helper.visit(_CallsToFunction(moved)) if moved else helper)
                taken.add(name)
                call = _with_trailing(stmt(f"{name}({self_name})\n"), _trailing(tail[0]))
                members[index] = _with_body(init, [*body[:start], call.with_changes(
                    leading_lines=tail[0].leading_lines)])
        if moved:
            members = [m.visit(_CallsToFunction(moved)) for m in members]  # type: ignore[misc]
        out.append(_with_members(line, members))
    return module.with_changes(body=out), functions


def helper_self(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Init methods and the init code ending ``__init__`` → module-level functions handed
    ``self`` (``init_weights(self)``)."""
    new, functions = _helperize(module, unit.sources, None)
    if not functions:
        return None
    body = list(new.body)
    at = next((i for i, s in enumerate(body) if isinstance(s, cst.ClassDef)), len(body))
    return new.with_changes(body=[*body[:at], *functions, *body[at:]])


def helper_self_utils(files: Files) -> Moved | None:
    """The same functions in ``utils.py`` of the package, imported by the model."""
    texts = dict(files)
    sources = tuple(texts.values())
    paths = set(texts)
    out: dict[str, str] = {}
    origins: dict[str, str] = {}
    homes: dict[str, str] = {}
    changed = False
    for rel, text in files:
        layout = _layout(rel, paths, package=True)
        if layout is None or layout.package_dir is None:
            out[rel], origins[rel], homes[rel] = text, rel, rel
            continue
        module = _parse(text)
        new, functions = _helperize(module, sources, _imported_names(module))
        if not functions:
            out[rel], origins[rel], homes[rel] = text, rel, rel
            continue
        changed = True
        target = _free_path(layout.package_dir, "utils", set(out) | paths,
                            PurePosixPath(rel).stem)
        new = _insert_after_imports(new, [_import_from(
            f".{PurePosixPath(target).stem}", [f.name.value for f in functions])])
        out[layout.home], origins[layout.home], homes[rel] = new.code, rel, layout.home
        for extra, body in layout.extra:
            out[extra], origins[extra] = body, rel
        out[target] = cst.Module(body=[*_import_lines(module), *functions]).code
        origins[target] = rel
    if not changed:
        return None
    return Moved(tuple(out.items()), tuple(origins.items()), tuple(homes.items()))


# --- 4, 5: a closure factory, a registry -------------------------------------------------------


def _callbacks(module: cst.Module, sources: Sequence[str]) -> dict[str, cst.FunctionDef]:
    """Module-level ``def f(m)`` handed to ``.apply(f)``, named nowhere else in the unit but
    in this file."""
    here = _bare(_code(module))
    out = {}
    for line in module.body:
        if not (isinstance(line, cst.FunctionDef) and not line.decorators
                and len(line.params.params) == 1 and not line.params.kwonly_params
                and not line.params.posonly_params and line.params.params[0].default is None
                and not isinstance(line.params.star_arg, cst.Param)
                and line.params.star_kwarg is None and line.asynchronous is None):
            continue
        name = line.name.value
        applies = len(re.findall(rf"\.apply\(\s*{re.escape(name)}\s*\)", here))
        if applies and _mentions(name, sources) == applies + 1:
            out[name] = line
    return out


class _NameUses(cst.CSTTransformer):
    """Replace reads of module-level names (not attributes, keywords or definitions)."""

    def __init__(self, make: dict[str, Callable[[], cst.BaseExpression]],
                 only_apply: bool) -> None:
        self.make = make
        self.only_apply = only_apply
        self.changed = False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (self.only_apply and isinstance(updated.func, cst.Attribute)
                and updated.func.attr.value == "apply" and len(updated.args) == 1):
            return updated
        value = updated.args[0].value
        if isinstance(value, cst.Name) and value.value in self.make:
            self.changed = True
            return updated.with_changes(args=[updated.args[0].with_changes(
                value=self.make[value.value]())])
        return updated


def _literal_params(fn: cst.FunctionDef) -> tuple[cst.FunctionDef, list[str], list[str]]:
    """The callback with its literal call arguments read from new parameters: (the new body
    as a function, the parameter names, the literals in order)."""
    names: list[str] = []
    values: list[str] = []

    def make(value: cst.BaseExpression, cls: cst.ClassDef | None) -> cst.BaseExpression:
        name = f"k{len(names)}"
        while name in names_in(fn):
            name += "_"
        names.append(name)
        values.append(code_of(value))
        return cst.Name(name)

    new = fn.visit(_Literals(lambda f, classes: True, make))
    assert isinstance(new, cst.FunctionDef)
    return new, names, values


def closure_factory(module: cst.Module, unit: Unit) -> cst.Module | None:
    """``def init(m): ... normal_(m.weight, 0, 0.02)`` + ``self.apply(init)`` →
    ``def make_init(k0, k1): def init(m): ...(k0, k1); return init`` +
    ``self.apply(make_init(0, 0.02))``; an init method used only as ``self.apply(self.f)`` →
    ``def make_f(owner): def f(m): ...; return f`` + ``self.apply(make_f(self))``."""
    taken = _defined_names(module) | _imported_names(module)
    callbacks = _callbacks(module, unit.sources)
    factories: dict[str, str] = {}
    calls: dict[str, str] = {}
    body: list[cst.BaseStatement] = []
    for line in module.body:
        if isinstance(line, cst.FunctionDef) and line.name.value in callbacks:
            name = line.name.value
            maker = f"make_{name.lstrip('_')}"
            if maker in taken:
                body.append(line)
                continue
            inner, params, values = _literal_params(line)
            factories[name] = maker
            calls[name] = f"{maker}({', '.join(values)})"
            taken.add(maker)
            body.append(_function(maker, _params(*params), [
                inner.with_changes(leading_lines=[]), stmt(f"return {name}\n")]).with_changes(
                    leading_lines=line.leading_lines))
            continue
        if isinstance(line, cst.ClassDef):
            line, made = _bound_callbacks(line, unit.sources, taken)
            body += made
        body.append(line)
    new = module.with_changes(body=body)
    if calls:
        rewrite = _NameUses({k: (lambda v=v: expr(v)) for k, v in calls.items()}, True)
        new = new.visit(rewrite)
    return new if (calls or len(body) != len(module.body)) else None


def _bound_callbacks(cls: cst.ClassDef, sources: Sequence[str], taken: set[str]
                     ) -> tuple[cst.ClassDef, list[cst.FunctionDef]]:
    """Methods ``def f(self, m)`` used only as ``self.apply(self.f)`` → factories closing
    over the instance."""
    made: list[cst.FunctionDef] = []
    members = []
    code = _bare(code_of(cls))
    replaced: dict[str, str] = {}
    for member in _members(cls):
        name = member.name.value if isinstance(member, cst.FunctionDef) else ""
        self_name = _self_name(member) if isinstance(member, cst.FunctionDef) else None
        maker = f"make{name}" if name.startswith("_") else f"make_{name}"
        if (not isinstance(member, cst.FunctionDef) or self_name is None or member.decorators
                or name.startswith("__") or maker in taken
                or len(member.params.params) != 2 or member.params.params[1].default
                or member.params.kwonly_params or isinstance(member.params.star_arg, cst.Param)
                or member.params.star_kwarg or not _INIT_LIKE.search(code_of(member.body))):
            members.append(member)
            continue
        applies = re.findall(rf"(\w+)\.apply\(\s*\1\.{re.escape(name)}\s*\)", code)
        if (not applies or _attr_mentions(name, sources) != len(applies)
                or {"super", "__class__"} & names_in(member.body)
                or re.search(r"\.__(?!\w+__)", code_of(member.body))):
            members.append(member)
            continue
        owner = _fresh_var(list(member.body.body) if isinstance(
            member.body, cst.IndentedBlock) else [], taken, "owner")
        inner = member.with_changes(
            params=member.params.with_changes(params=[member.params.params[1]]),
            body=member.body.visit(_Rename({self_name: owner})), leading_lines=[])
        made.append(_function(maker, _params(owner), [inner, stmt(f"return {name}\n")]))
        taken.add(maker)
        replaced[name] = maker
    if not replaced:
        return cls, []

    class Calls(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            if not (isinstance(updated.func, cst.Attribute) and updated.func.attr.value == "apply"
                    and len(updated.args) == 1):
                return updated
            value = updated.args[0].value
            if (isinstance(value, cst.Attribute) and value.attr.value in replaced
                    and isinstance(value.value, cst.Name)):
                new = expr(f"{replaced[value.attr.value]}({value.value.value})")
                return updated.with_changes(args=[updated.args[0].with_changes(value=new)])
            return updated

    new_members = [m.visit(Calls()) for m in members]
    return _with_members(cls, new_members), made  # type: ignore[arg-type]


def registry_callback(module: cst.Module, unit: Unit) -> cst.Module | None:
    """Callbacks handed to ``.apply(f)`` → looked up in a registry:
    ``INITS = {"f": f}`` after them, ``self.apply(INITS["f"])``."""
    callbacks = _callbacks(module, unit.sources)
    if not callbacks:
        return None
    taken = _defined_names(module) | _imported_names(module)
    registry = "INITS" if "INITS" not in taken else "_MM_INITS"
    rewrite = _NameUses({k: (lambda k=k: expr(f'{registry}["{k}"]')) for k in callbacks}, True)
    new = module.visit(rewrite)
    if not rewrite.changed:
        return None
    body = list(new.body)
    last = max(i for i, s in enumerate(body)
               if isinstance(s, cst.FunctionDef) and s.name.value in callbacks)
    table = ", ".join(f'"{k}": {k}' for k in sorted(callbacks))
    entry = stmt(f"{registry} = {{{table}}}\n").with_changes(
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    return new.with_changes(body=[*body[:last + 1], entry, *body[last + 1:]])


def registry_init_fn(module: cst.Module, unit: Unit) -> cst.Module | None:
    """``nn.init.kaiming_normal_(w, mode="fan_out")`` → looked up by name in a table:
    ``INIT_FNS = dict(kaiming_normal_=nn.init.kaiming_normal_)`` after the imports,
    ``INIT_FNS["kaiming_normal_"](w, mode="fan_out")``."""
    prefixes = _init_prefixes(module)
    taken = _defined_names(module) | _imported_names(module)
    registry = "INIT_FNS" if "INIT_FNS" not in taken else "_MM_INIT_FNS"
    used: dict[str, str] = {}

    class Rewrite(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            name = dotted(updated.func) or ""
            prefix, _, fn = name.rpartition(".")
            if prefix not in prefixes or not fn.endswith("_") or fn.startswith("_"):
                return updated
            used[fn] = name
            return updated.with_changes(func=expr(f'{registry}["{fn}"]'))

    new = module.visit(Rewrite())
    if not used:
        return None
    table = ", ".join(f"{k}={v}" for k, v in sorted(used.items()))
    return _insert_after_imports(new, [stmt(f"{registry} = dict({table})\n")])


# --- 6: a flag-guarded init in the correlated form -----------------------------------------------

#: Layers taking ``bias=True`` by default, and the position ``bias`` has among their
#: positional parameters.
_BIAS_AT = {"Linear": 2, "Bilinear": 3, "Conv1d": 7, "Conv2d": 7, "Conv3d": 7,
            "ConvTranspose1d": 7, "ConvTranspose2d": 7, "ConvTranspose3d": 7}


def _biased_layer(line: cst.BaseStatement, self_name: str, prefixes: set[str]) -> str | None:
    """``self.fc = nn.Linear(a, b)`` (bias left True) → "fc"."""
    if not (isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
            and isinstance(assign := line.body[0], cst.Assign) and len(assign.targets) == 1
            and _is_self_attr(assign.targets[0].target, self_name)
            and isinstance(call := assign.value, cst.Call)):
        return None
    name = dotted(call.func) or ""
    prefix, _, cls = name.rpartition(".")
    if prefix not in prefixes or cls not in _BIAS_AT or any(a.star for a in call.args):
        return None
    positional = [a for a in call.args if a.keyword is None]
    bias = next((a for a in call.args if a.keyword and a.keyword.value == "bias"), None)
    if len(positional) > _BIAS_AT[cls] or (bias is not None and not (
            isinstance(bias.value, cst.Name) and bias.value.value == "True")):
        return None
    target = assign.targets[0].target
    assert isinstance(target, cst.Attribute)
    return target.attr.value


def _bias_writes(body: Sequence[cst.BaseStatement], self_name: str, attr: str
                 ) -> list[int]:
    """Top-level simple statements of ``body`` that write ``self.<attr>.bias``."""
    pattern = re.compile(rf"\b{re.escape(self_name)}\.{re.escape(attr)}\.bias\b")
    out = []
    for index, line in enumerate(body):
        text = _bare(code_of(line))
        if (isinstance(line, cst.SimpleStatementLine) and pattern.search(text)
                and "= " not in text.split(f"{attr}.bias")[0]):
            out.append(index)
    return out


def _guarded(line: cst.BaseStatement, test: str) -> cst.BaseStatement:
    guard = stmt(f"if {test}:\n    pass\n")
    assert isinstance(guard, cst.If) and isinstance(guard.body, cst.IndentedBlock)
    header = line.trailing_whitespace if isinstance(line, cst.SimpleStatementLine) else None
    return guard.with_changes(
        body=guard.body.with_changes(body=[line.with_changes(leading_lines=[])],
                                     header=header or guard.body.header),
        leading_lines=line.leading_lines)


def _with_bias_flag(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """``self.fc = nn.Linear(a, b)`` → ``self.fc = nn.Linear(a, b, bias=bias)``."""
    assign = line.body[0]
    assert isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call)
    call = assign.value
    args = [a for a in call.args if not (a.keyword and a.keyword.value == "bias")]
    if args and isinstance(args[-1].comma, cst.MaybeSentinel):
        args[-1] = args[-1].with_changes(comma=cst.Comma(
            whitespace_after=cst.SimpleWhitespace(" ")))
    args.append(cst.Arg(cst.Name("bias"), keyword=cst.Name("bias"), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    return line.with_changes(body=[assign.with_changes(value=call.with_changes(args=args))])


def _correlate(cls: cst.ClassDef, prefixes: set[str]) -> cst.ClassDef | None:
    found = _find_init(cls)
    if found is None:
        return None
    index, init, self_name = found
    params = init.params
    if ("bias" in _function_locals(init) or "bias" in names_in(init.body)
            or params.star_kwarg is not None or "use_bias" in code_of(cls)):
        return None
    body = list(init.body.body) if isinstance(init.body, cst.IndentedBlock) else []
    layers = {i: attr for i, s in enumerate(body)
              if (attr := _biased_layer(s, self_name, prefixes)) is not None}
    members = _members(cls)
    here: set[int] = set()  # statements of __init__ to guard with ``if bias:``
    there: dict[int, set[int]] = {}  # member index -> statements guarded by self.use_bias
    used: set[int] = set()
    for at, attr in layers.items():
        writes = [i for i in _bias_writes(body, self_name, attr) if i > at and i not in layers]
        here.update(writes)
        used.update([at] if writes else [])
        for position, member in enumerate(members):
            method_self = _self_name(member) if isinstance(member, cst.FunctionDef) else None
            if position == index or method_self is None:
                continue
            assert isinstance(member, cst.FunctionDef)
            inner = list(member.body.body) if isinstance(member.body, cst.IndentedBlock) else []
            writes = _bias_writes(inner, method_self, attr)
            there.setdefault(position, set()).update(writes)
            used.update([at] if writes else [])
    super_at = next((i for i, s in enumerate(body) if "super(" in code_of(s)), None)
    if not used or (any(there.values()) and (super_at is None or super_at > min(used))):
        return None
    new_body: list[cst.BaseStatement] = []
    for i, line in enumerate(body):
        if i in used:
            assert isinstance(line, cst.SimpleStatementLine)
            line = _with_bias_flag(line)
        elif i in here:
            line = _guarded(line, "bias")
        new_body.append(line)
        if i == super_at and any(there.values()):
            new_body.append(stmt(f"{self_name}.use_bias = bias\n"))
    param = cst.Param(cst.Name("bias"), default=cst.Name("True"), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        new_params = params.with_changes(kwonly_params=[*params.kwonly_params, param])
    else:
        new_params = params.with_changes(params=[*params.params, param])
    members[index] = _with_body(init, new_body).with_changes(params=new_params)
    for position, rows in there.items():
        member = members[position]
        if not rows:
            continue
        assert isinstance(member, cst.FunctionDef) and isinstance(member.body, cst.IndentedBlock)
        method_self = _self_name(member)
        inner = [_guarded(s, f"{method_self}.use_bias") if i in rows else s
                 for i, s in enumerate(member.body.body)]
        members[position] = _with_body(member, inner)
    return _with_members(cls, members)


def correlated_bias(module: cst.Module, unit: Unit) -> cst.Module | None:
    """``self.fc = nn.Linear(a, b)`` + ``zeros_(self.fc.bias)`` → ``__init__(..., bias=True)``,
    ``nn.Linear(a, b, bias=bias)``, and each statement writing that bias guarded: by
    ``if bias:`` in ``__init__``, by ``if self.use_bias:`` (set from ``bias``) in another
    method (``_reset_parameters``)."""
    prefixes = _nn_prefixes(module)
    out: list[cst.BaseStatement] = []
    changed = False
    for line in module.body:
        new = _correlate(line, prefixes) if isinstance(line, cst.ClassDef) else None
        changed |= new is not None
        out.append(new or line)
    return module.with_changes(body=out) if changed else None


MOVES: tuple[Transform, ...] = (
    Transform("to_builder_module", "moved", None,
              "the init statements ending `__init__` → `def build_Net(*args, **kwargs)` in "
              "`builders.py` of the package, which builds the model and runs them on it",
              needs=("__init__",), move=to_builder_module),
    Transform("to_train_script", "moved", None,
              "the init statements ending `__init__` → a `train.py` beside the model: "
              "`if __name__ == \"__main__\": model = Net(); <init code on model>`",
              needs=("__init__",), move=to_train_script),
    Transform("helper_self", "moved", helper_self,
              "init methods called on self and the init code ending `__init__` → "
              "module-level functions handed the instance: `init_weights(self)`",
              needs=("__init__",)),
    Transform("helper_self_utils", "moved", None,
              "the same functions in `utils.py` of the package, imported by the model",
              needs=("__init__",), move=helper_self_utils),
    Transform("closure_factory", "moved", closure_factory,
              "an `apply` callback → `def make_init(k0, k1): def init(m): ...; return init` "
              "with its literal arguments as the factory's, `self.apply(make_init(0, 0.02))`; "
              "a bound method callback → a factory closing over the instance",
              needs=(".apply(",)),
    Transform("registry_callback", "moved", registry_callback,
              "`self.apply(init)` → `INITS = {\"init\": init}` and "
              "`self.apply(INITS[\"init\"])`",
              needs=(".apply(",)),
    Transform("registry_init_fn", "moved", registry_init_fn,
              "`nn.init.xavier_uniform_(w)` → `INIT_FNS = dict(xavier_uniform_=...)` and "
              "`INIT_FNS[\"xavier_uniform_\"](w)`",
              needs=("init.",)),
    Transform("correlated_bias", "moved", correlated_bias,
              "`self.fc = nn.Linear(a, b)` + an unguarded bias init → `__init__(..., "
              "bias=True)`, `nn.Linear(a, b, bias=bias)`, `if bias:` around the bias init",
              needs=(".bias",)),
)
