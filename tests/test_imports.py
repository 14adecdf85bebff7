"""Name resolution from a module's imports: one qualified name per spelling, no look-alikes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from initlint.extract.imports import Resolver, build_import_table, dotted, module_name_for


def table(source: str, module: str = "pkg.models.net", is_package: bool = False):
    return build_import_table(ast.parse(source), module, is_package)


def qualify(source: str, expr: str, module: str = "pkg.models.net", is_package: bool = False,
            shadowed: frozenset[str] = frozenset(), local_defs: frozenset[str] = frozenset()):
    resolver = Resolver(table(source, module, is_package), local_defs)
    return resolver.qualify(ast.parse(expr, mode="eval").body, shadowed)


@pytest.mark.parametrize(("source", "expr"), [
    ("import torch", "torch.nn.init.normal_"),
    ("import torch.nn as nn", "nn.init.normal_"),
    ("from torch import nn", "nn.init.normal_"),
    ("from torch.nn import init", "init.normal_"),
    ("from torch.nn import init as I", "I.normal_"),
    ("import torch.nn.init as init", "init.normal_"),
    ("import torch.nn.init", "torch.nn.init.normal_"),
    ("from torch.nn.init import normal_", "normal_"),
    ("from torch.nn.init import normal_ as n", "n"),
    ("def f():\n    import torch.nn as nn", "nn.init.normal_"),  # function-local import
])
def test_every_spelling_is_one_qualified_name(source, expr):
    assert qualify(source, expr) == "torch.nn.init.normal_"


@pytest.mark.parametrize(("source", "expr", "expected"), [
    ("from torch_geometric.nn import inits", "inits.glorot", "torch_geometric.nn.inits.glorot"),
    ("from transformers import initialization as init", "init.normal_",
     "transformers.initialization.normal_"),
    ("from ... import initialization as init", "init.normal_", "initialization.normal_"),
    ("import numpy as np", "np.random.normal", "numpy.random.normal"),
])
def test_look_alikes_keep_their_own_names(source, expr, expected):
    assert qualify(source, expr) == expected


def test_unknown_and_shadowed_names_are_none():
    assert qualify("import torch.nn as nn", "init.normal_") is None
    assert qualify("from torch.nn import init", "init.normal_",
                   shadowed=frozenset({"init"})) is None
    assert qualify("import torch", "x.y") is None
    assert qualify("import torch", "f().normal_") is None


def test_local_definitions_get_the_module_prefix():
    assert qualify("", "helper", local_defs=frozenset({"helper"})) == "pkg.models.net.helper"
    assert qualify("", "helper", module="", local_defs=frozenset({"helper"})) == "helper"


def test_torch_internal_module_paths_are_canonical():
    assert qualify("from torch.nn.modules.conv import Conv2d", "Conv2d") == "torch.nn.Conv2d"
    assert qualify("import torch.nn.modules.linear as L", "L.Linear") == "torch.nn.Linear"


@pytest.mark.parametrize(("source", "module", "is_package", "name", "expected"), [
    ("from . import layers", "pkg.models.net", False, "layers", "pkg.models.layers"),
    ("from .layers import Block", "pkg.models.net", False, "Block", "pkg.models.layers.Block"),
    ("from ..utils import init_fn", "pkg.models.net", False, "init_fn", "pkg.utils.init_fn"),
    ("from .net import Net", "pkg.models", True, "Net", "pkg.models.net.Net"),
    ("from .. import utils", "pkg.models", True, "utils", "pkg.utils"),
    ("from .... import far", "pkg.models.net", False, "far", "far"),
])
def test_relative_imports(source, module, is_package, name, expected):
    assert table(source, module, is_package).as_dict()[name] == expected


def test_star_imports_are_ignored():
    assert table("from torch.nn.init import *").as_dict() == {}


def test_plain_import_binds_the_head():
    assert table("import torch.nn.functional").as_dict() == {"torch": "torch"}


def test_dotted():
    assert dotted(ast.parse("a.b.c", mode="eval").body) == "a.b.c"
    assert dotted(ast.parse("a().b", mode="eval").body) is None
    assert dotted(ast.parse("a[0].b", mode="eval").body) is None


def test_module_name_for(tmp_path: Path):
    pkg = tmp_path / "pkg" / "models"
    pkg.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "net.py").write_text("", encoding="utf-8")
    (tmp_path / "script.py").write_text("", encoding="utf-8")
    assert module_name_for(str(pkg / "net.py")) == "pkg.models.net"
    assert module_name_for(str(pkg / "__init__.py")) == "pkg.models"
    assert module_name_for(str(tmp_path / "script.py")) == "script"
