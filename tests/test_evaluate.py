"""The abstract evaluator: equivalent programs give the same findings, whatever the spelling.

Each test lints a small model the way a user would and checks the finding the evaluator's
computed answer leads to (or its absence), for constructs the old pattern readers missed.
"""

from __future__ import annotations

import pytest

from initlint.core.config import Config
from initlint.extract.expr import Expr
from initlint.extract.values import ClassRef, ModuleVal, ParamVal
from initlint.semantic.classes import ClassIndex
from initlint.semantic.evaluate import Evaluator, World, equal

PAD = Config(select=("INI205",))
GUARD = Config(select=("INI005",))

#: Spellings of "this module is an Embedding" that Python evaluates to the same answer.
DISPATCH = [
    "isinstance(m, nn.Embedding)",
    "type(m) is nn.Embedding",
    "type(m) in (nn.Embedding, nn.EmbeddingBag)",
    "'Embedding' in type(m).__name__",
    "m.__class__.__name__ == 'Embedding'",
    "m.__class__.__name__.find('Embed') != -1",
    "type(m).__name__.lower().startswith('embedding')",
    "type(m).__name__.endswith('ding')",
    "re.match('Emb', type(m).__name__)",
    "not isinstance(m, (nn.Linear, nn.LayerNorm))",
    "any(k in type(m).__name__ for k in ('Embedding', 'Lookup'))",
]


@pytest.mark.parametrize("test", DISPATCH)
def test_dispatch_spellings_all_mean_the_same(lint, test):
    findings = lint(f"""
        import re
        import torch.nn as nn

        def init(m):
            if {test}:
                nn.init.normal_(m.weight)

        class Rec(nn.Module):
            def __init__(self):
                super().__init__()
                self.item = nn.Embedding(100, 8, padding_idx=0)
                self.proj = nn.Linear(8, 8)
                self.apply(init)
    """, PAD)
    assert [(f.code, f.span.row) for f in findings] == [("INI205", 7)]


def test_a_local_holding_the_class_name_is_read_through(lint):
    findings = lint("""
        import torch.nn as nn

        def init(m):
            classname = m.__class__.__name__
            if classname.find("Linear") != -1:
                nn.init.xavier_uniform_(m.weight)
            elif classname.find("Embedding") != -1:
                nn.init.normal_(m.weight)

        class Rec(nn.Module):
            def __init__(self):
                super().__init__()
                self.item = nn.Embedding(100, 8, padding_idx=0)
                self.apply(init)
    """, PAD)
    assert [(f.code, f.span.row) for f in findings] == [("INI205", 9)]


def test_negated_name_filter_is_read_right(lint):
    clean = lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                for name, p in self.named_parameters():
                    if "bias" not in name:
                        nn.init.xavier_uniform_(p)
                    else:
                        nn.init.zeros_(p)
    """, Config(select=("INI004",)))
    assert clean == []


def test_match_statement_dispatch(lint):
    findings = lint("""
        import torch.nn as nn

        def init(m):
            match m:
                case nn.Linear():
                    nn.init.xavier_uniform_(m.weight)
                case nn.Embedding():
                    nn.init.normal_(m.weight)

        class Rec(nn.Module):
            def __init__(self):
                super().__init__()
                self.item = nn.Embedding(100, 8, padding_idx=0)
                self.apply(init)
    """, PAD)
    assert [(f.code, f.span.row) for f in findings] == [("INI205", 9)]


def test_none_guard_in_any_spelling_silences_the_unguarded_bias(lint):
    model = """
        import torch.nn as nn

        def init(m):
            if isinstance(m, nn.Conv2d):
                {guard}
                    nn.init.zeros_(m.bias)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, bias=False)
                self.apply(init)
    """
    assert [f.code for f in lint(model.format(guard="if True:"), GUARD)] == ["INI005"]
    for guard in ("if m.bias is not None:", "if getattr(m, 'bias', None) is not None:",
                  "if not (m.bias is None):", "if m.bias is not None and True:"):
        assert lint(model.format(guard=guard), GUARD) == [], guard


def test_parameters_and_defaults_flow_into_the_layers(lint):
    findings = lint("""
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, c, norm_layer=nn.BatchNorm2d, pad=0):
                super().__init__()
                self.norm = norm_layer(c)
                self.emb = nn.Embedding(10, c, padding_idx=pad)

        class Net(nn.Module):
            def __init__(self, n=3):
                super().__init__()
                self.blocks = nn.ModuleList(
                    [nn.Sequential(Block(8, norm_layer=nn.InstanceNorm2d)) for _ in range(n)])
                for m in self.modules():
                    if isinstance(m, nn.InstanceNorm2d):
                        nn.init.ones_(m.weight)
                    elif isinstance(m, nn.Embedding):
                        nn.init.normal_(m.weight)
    """, Config(select=("INI005", "INI205")))
    assert sorted((f.code, f.span.row) for f in findings) == [("INI005", 17), ("INI205", 19)]
    assert "InstanceNorm2d" in next(f for f in findings if f.code == "INI005").message


def test_config_object_built_with_its_defaults(lint):
    findings = lint("""
        import torch.nn as nn

        class Config:
            def __init__(self, vocab=100, pad_token_id=0):
                self.vocab = vocab
                self.pad_token_id = pad_token_id

        class Rec(nn.Module):
            def __init__(self, config: Config):
                super().__init__()
                self.item = nn.Embedding(config.vocab, 8, padding_idx=config.pad_token_id)
                self.apply(self._init_weights)

            def _init_weights(self, module):
                if isinstance(module, nn.Embedding):
                    module.weight.data.normal_(0.0, 0.02)
    """, PAD)
    assert [(f.code, f.span.row) for f in findings] == [("INI205", 17)]


@pytest.mark.parametrize("build", [
    "model = Rec()\n    model.apply(init)",
    "Rec().apply(init)",
])
def test_init_applied_outside_the_class(lint, build):
    findings = lint(f"""
import torch.nn as nn

def init(m):
    if isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight)

class Rec(nn.Module):
    def __init__(self):
        super().__init__()
        self.item = nn.Embedding(100, 8, padding_idx=0)

def build():
    {build}
""", PAD)
    assert [(f.code, f.span.row) for f in findings] == [("INI205", 6)]


def test_unknown_stays_local(lint):
    findings = lint("""
        import abc
        import torch
        import torch.nn as nn

        class Scale(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

        def scaled(x):
            return Scale.apply(x)

        class MLP(nn.Module, abc.ABC):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                                         nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))

            def forward(self, x):
                return self.net(x)
    """, Config(select=("INI101",)))
    assert [f.code for f in findings] == ["INI101"]


def test_parameter_without_grad_takes_inplace_writes(lint):
    findings = lint("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.freq = nn.Parameter(torch.zeros(4), requires_grad=False)
                self.scale = nn.Parameter(torch.zeros(4))
                self.freq.uniform_()
                self.scale.uniform_()
    """, Config(select=("INI003",)))
    assert [(f.code, f.span.row) for f in findings] == [("INI003", 11)]


def test_loop_calling_a_helper_with_each_module_keeps_the_loop_tests(lint):
    findings = lint("""
        import torch.nn as nn

        def init_fn(module):
            nn.init.normal_(module.weight)

        class Rec(nn.Module):
            def __init__(self):
                super().__init__()
                self.item = nn.Embedding(100, 8, padding_idx=0)
                self.fc = nn.Linear(8, 8)
                for m in self.modules():
                    if isinstance(m, nn.Linear):
                        init_fn(m)
    """, PAD)
    assert findings == []


def test_instance_parameter_spelled_otherwise(lint):
    findings = lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(this):
                super().__init__()
                this.fc = nn.Linear(4, 4, bias=False)
                nn.init.zeros_(this.fc.bias)
    """, GUARD)
    assert [f.code for f in findings] == ["INI005"]
    assert "this.fc.bias" in findings[0].message or findings[0].fix is None or \
        "this.fc.bias" in str(findings[0].fix)


def test_evaluator_three_valued_logic():
    # a project without classes: the evaluator only asks about classes it defines
    evaluator = Evaluator(World(ClassIndex(()), lambda cls: {}))
    linear = ModuleVal("torch.nn.Linear")
    name_of = Expr("attr", (Expr("call", (Expr("name", ("type",)), (Expr("name", ("m",)),),
                                          ())), "__name__"))
    test = Expr("cmp", (Expr("const", ("Lin",)), ("in",), (name_of,)))
    assert evaluator.truth(test, {"m": linear}) is True
    assert evaluator.truth(test, {"m": ModuleVal("torch.nn.Conv2d")}) is False
    assert evaluator.truth(test, {}) is None  # m unknown: the test is unknown, not false
    dim = Expr("cmp", (Expr("call", (Expr("attr", (Expr("name", ("p",)), "dim")), (), ())),
                       (">",), (Expr("const", (1,)),)))
    assert evaluator.truth(dim, {"p": ParamVal("bias", 1)}) is False
    assert evaluator.truth(dim, {"p": ParamVal("weight")}) is None
    assert equal(evaluator.world, ClassRef("torch.nn.Linear"), ClassRef("torch.nn.Conv2d")) \
        is False


def test_factory_callbacks_and_tensor_helpers_are_followed(lint):
    findings = lint("""
        import torch.nn as nn

        def make_init(std):
            def init(m):
                if isinstance(m, nn.Embedding):
                    nn.init.normal_(m.weight, std=std)
            return init

        def fill(t):
            t.data.normal_(0, 0.02)

        class Rec(nn.Module):
            def __init__(self):
                super().__init__()
                self.item = nn.Embedding(100, 8, padding_idx=0)
                self.apply(make_init(0.02))

        class Rec2(nn.Module):
            def __init__(self):
                super().__init__()
                self.item = nn.Embedding(100, 8, padding_idx=0)
                fill(self.item.weight)
    """, PAD)
    assert sorted((f.code, f.span.row) for f in findings) == [("INI205", 7), ("INI205", 11)]


def test_last_element_of_a_container(lint):
    findings = lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.ModuleList([nn.Embedding(10, 4, padding_idx=0),
                                          nn.Embedding(10, 4, padding_idx=1)])
                self.emb[-1].weight.data.normal_()
    """, PAD)
    assert [(f.code, f.span.row) for f in findings] == [("INI205", 9)]
    assert "padding_idx=1" in findings[0].message


@pytest.mark.parametrize("default", [
    "norm_layer = norm_layer or partial(nn.GroupNorm, 4)",
    "norm_layer = partial(nn.GroupNorm, 4) if norm_layer is None else norm_layer",
    "if norm_layer is None:\n                    norm_layer = partial(nn.GroupNorm, 4, eps=1e-3)",
])
def test_a_defaulted_norm_class_is_the_class_python_would_pick(lint, default):
    findings = lint(f"""
        from functools import partial
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, norm_layer=None):
                super().__init__()
                {default}
                self.norm = norm_layer(8)
                for m in self.modules():
                    if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                        nn.init.zeros_(m.weight)
    """, Config(select=("INI207", "INI208")))
    assert [f.code for f in findings] == ["INI207"]
    assert "every GroupNorm is" in findings[0].message


def test_a_layer_class_nobody_can_know_is_unknown_not_absent(lint):
    findings = lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, norm_layer, n=len("abc")):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.norm = norm_layer(8)
                for m in self.modules():
                    if isinstance(m, nn.GroupNorm):
                        nn.init.ones_(m.weight)
    """, Config(select=("INI208",)))
    assert findings == []


def test_apply_of_a_bound_method_is_looked_up_on_the_built_class(lint):
    """``self.apply(self.init_weights)`` in a subclass, the method in its base (BERT 0.4):
    the callback runs, and its unknown std (an untyped config) still centres γ on 0."""
    findings = lint("""
        import torch
        import torch.nn as nn

        class Norm(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(d))
                self.bias = nn.Parameter(torch.zeros(d))

            def forward(self, x):
                u = x.mean(-1, keepdim=True)
                return self.weight * (x - u) / torch.sqrt(x.var(-1, keepdim=True)) + self.bias

        class Base(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.config = config

            def init_weights(self, module):
                if isinstance(module, Norm):
                    module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)

        class Model(Base):
            def __init__(self, config):
                super().__init__(config)
                self.norm = Norm(8)
                self.apply(self.init_weights)
    """, Config(select=("INI207", "INI201")))
    assert [(f.code, f.span.row) for f in findings] == [("INI207", 22)]
    assert "N(0, σ)" in findings[0].message


@pytest.mark.parametrize("setup, use", [
    ("with_bias = False", "with_bias"),
    ("self.with_bias = False", "self.with_bias"),
    ("norm = None\n                with_bias = True\n                if norm is None:\n"
     "                    with_bias = False", "with_bias"),
])
def test_names_in_init_keep_the_values_python_gives_them(lint, setup, use):
    findings = lint(f"""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, use_norm=False):
                super().__init__()
                {setup}
                self.conv = nn.Conv2d(3, 8, 3, bias={use})
                nn.init.constant_(self.conv.bias, 0)
    """, Config(select=("INI005",)))
    assert [f.code for f in findings] == ["INI005"]


def test_a_name_that_follows_the_arguments_is_not_a_known_default(lint):
    findings = lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, bias=True):
                super().__init__()
                with_bias = not bias
                for _ in range(2):
                    with_bias = False
                self.conv = nn.Conv2d(3, 8, 3, bias=with_bias)
                nn.init.constant_(self.conv.bias, 0)
                keep = True
                if bias:
                    keep = False
                self.proj = nn.Conv2d(3, 8, 3, bias=keep)
                nn.init.constant_(self.proj.bias, 0)
    """, Config(select=("INI005",)))
    assert findings == []
