"""INI210 init-after-load: the order of loads and per-module inits in what construction runs,
the loaded subtree's module classes against the init's dispatch, and per-construction loads
(a ``pretrained`` flag). Equivalent programs give the same finding."""

from __future__ import annotations

from conftest import codes

from initlint.core.config import Config
from initlint.engine.fix import fix_text

TRUNK = """
import torch
import torch.nn as nn


class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)


def init_conv(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight)
"""


def ini210(lint, code: str) -> list[str]:
    """The lines INI210 reports."""
    lines = (TRUNK + code).splitlines()
    return sorted(lines[f.span.row - 1].strip() for f in lint(TRUNK + code)
                  if f.code == "INI210")


def test_apply_after_load_state_dict_is_reported_and_before_it_is_not(lint):
    after = """
class Net(nn.Module):
    def __init__(self, state):
        super().__init__()
        self.trunk = Trunk()
        self.trunk.load_state_dict(state)
        self.apply(init_conv)
"""
    load, init = "        self.trunk.load_state_dict(state)\n", "        self.apply(init_conv)\n"
    before = after.replace(load + init, init + load)
    assert ini210(lint, after) == ["self.apply(init_conv)"]
    assert ini210(lint, before) == []


def test_the_same_program_spelled_as_a_loop_a_helper_method_and_a_loader_function(lint):
    """apply vs a modules() loop, a load in a method __init__ calls, a project loader handed
    the submodule: the same finding each time."""
    loop = """
class Net(nn.Module):
    def __init__(self, state):
        super().__init__()
        self.trunk = Trunk()
        self._load(state)
        for m in self.modules():
            init_conv(m)

    def _load(self, state):
        self.trunk.load_state_dict(state)
"""
    loader = """
def restore_weights(module, path):
    module.load_state_dict(torch.load(path, map_location="cpu"))


class Net(nn.Module):
    def __init__(self, path):
        super().__init__()
        self.trunk = Trunk()
        restore_weights(self.trunk, path)
        self.apply(init_conv)
"""
    assert ini210(lint, loop) == ["init_conv(m)"]
    assert ini210(lint, loader) == ["self.apply(init_conv)"]


def test_a_callback_for_classes_the_loaded_subtree_cannot_hold_is_quiet(lint):
    code = """
def init_linear(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


class Net(nn.Module):
    def __init__(self, state):
        super().__init__()
        self.trunk = Trunk()
        self.trunk.load_state_dict(state)
        self.head = nn.Linear(8, 2)
        self.apply(init_linear)
        self.head.apply(init_conv)
"""
    assert ini210(lint, code) == []
    assert ini210(lint, code.replace("self.head.apply(init_conv)", "self.apply(init_conv)")) == [
        "self.apply(init_conv)"]


def test_a_pretrained_flag_loads_only_in_the_constructions_that_pass_it(lint):
    flag = """
class Encoder(nn.Module):
    def __init__(self, pretrained=False):
        super().__init__()
        self.trunk = Trunk()
        if pretrained:
            self.trunk.load_state_dict(torch.load("trunk.pt"))
        self.apply(init_conv)
"""
    holder = """

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder(pretrained=True)
"""
    assert ini210(lint, flag) == []
    findings = [f for f in lint(TRUNK + flag + holder) if f.code == "INI210"]
    assert len(findings) == 1 and "when `Model` builds it" in findings[0].message
    assert ini210(lint, flag + holder) == ["self.apply(init_conv)"]
    assert ini210(lint, flag.replace("pretrained=False", "pretrained=True")) == [
        "self.apply(init_conv)"]


def test_library_builders_by_what_their_networks_hold(lint):
    code = """
import timm
import torchvision
from transformers import AutoModel


class Resnet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torchvision.models.resnet18(weights="IMAGENET1K_V1")
        self.apply(init_conv)


class Unknown(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = timm.create_model("my_private_net", pretrained=True)
        self.text = AutoModel.from_pretrained("bert-base-uncased")
        self.apply(init_conv)


class NoWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torchvision.models.resnet18(weights=None)
        self.apply(init_conv)
"""
    findings = [f for f in lint(TRUNK + code) if f.code == "INI210"]
    assert [f.subject for f in findings] == ["model.Resnet::net"]


def test_the_unsafe_fix_moves_the_init_before_the_load():
    source = TRUNK + """
class Net(nn.Module):
    def __init__(self, state):
        super().__init__()
        self.trunk = Trunk()
        self.trunk.load_state_dict(state)
        self.apply(init_conv)
"""
    config = Config(select=("INI210",))
    assert fix_text("m.py", source, config).fixed == 0
    result = fix_text("m.py", source, config, unsafe=True)
    assert result.fixed == 1 and codes(result.findings) == []
    assert ("        self.apply(init_conv)\n        self.trunk.load_state_dict(state)\n"
            in result.after)


def test_no_fix_when_a_layer_is_built_after_the_load():
    """Moving the init before the load would leave the head uninitialized."""
    source = TRUNK + """
class Net(nn.Module):
    def __init__(self, state):
        super().__init__()
        self.trunk = Trunk()
        self.trunk.load_state_dict(state)
        self.head = nn.Conv2d(8, 2, 1)
        self.apply(init_conv)
"""
    result = fix_text("m.py", source, Config(select=("INI210",)), unsafe=True)
    assert result.fixed == 0 and codes(result.findings) == ["INI210"]


def test_a_gradient_checkpointing_switch_is_not_a_load(lint):
    code = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = Trunk()
        self.trunk.set_grad_checkpointing(True)
        self.apply(init_conv)
"""
    assert ini210(lint, code) == []
    loads = code.replace("set_grad_checkpointing(True)", "load_state_dict(torch.load('t.pt'))")
    assert ini210(lint, loads) == ["self.apply(init_conv)"]
