"""Config attributes from another file reach the facts rules read (initlint/link_values.py)."""

from __future__ import annotations

import textwrap

from initlint.engine.lint import parse_source
from initlint.extract.facts import UNKNOWN, AttrOf
from initlint.files.discover import Source
from initlint.semantic.project import ProjectFacts

CONFIG = """
class Cfg:
    def __init__(self, vocab=100, pad_token_id=0):
        self.vocab = vocab
        self.pad_token_id = pad_token_id
"""
MODEL = """
import torch.nn as nn
from .config import Cfg

class Net(nn.Module):
    def __init__(self, config: Cfg):
        super().__init__()
        self.emb = nn.Embedding(config.vocab, 8, padding_idx=config.pad_token_id)
        self.other = nn.Embedding(4, 8, padding_idx=config.not_there)
"""


def _facts(path: str, code: str):
    return parse_source(Source(path, textwrap.dedent(code))).facts


def _kwargs(facts, name: str) -> dict:
    layer = next(layer for layer in facts.classes[0].layers if layer.name == name)
    return dict(layer.kwargs)


def test_values_from_another_file_are_resolved_when_linked():
    config, model = _facts("/p/pkg/config.py", CONFIG), _facts("/p/pkg/model.py", MODEL)
    assert model.deferred and isinstance(_kwargs(model, "emb")["padding_idx"], AttrOf)
    linked = ProjectFacts([config, model]).linked(model)
    assert linked.classes[0].layers[0].args == (100, 8)
    assert _kwargs(linked, "emb")["padding_idx"] == 0
    assert _kwargs(linked, "other")["padding_idx"] is UNKNOWN  # no such attribute: unknown


def test_without_the_config_file_values_stay_unknown():
    model = _facts("/p/pkg/model.py", MODEL)
    linked = ProjectFacts([model]).linked(model)
    assert _kwargs(linked, "emb")["padding_idx"] is UNKNOWN


def test_a_file_the_project_was_not_given_is_resolved_against_it():
    config, model = _facts("/p/pkg/config.py", CONFIG), _facts("/p/pkg/model.py", MODEL)
    project = ProjectFacts([config])
    assert _kwargs(project.linked(model), "emb")["padding_idx"] == 0
