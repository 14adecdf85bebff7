"""INI001–INI006: a model snippet, the finding expected (code, row, column, fix)."""

from __future__ import annotations

import pytest
from conftest import codes

from initlint.checks import ALL_RULES
from initlint.core.config import Config
from initlint.core.findings import Severity
from initlint.engine.fix import apply_fixes

API = Config(select=("INI0",))


def only(findings, code):
    return [f for f in findings if f.code == code]


# --- INI001 deprecated-init-alias ------------------------------------------------------

SPELLINGS = [
    ("import torch.nn as nn", "nn.init.xavier_uniform(w)", 9),
    ("import torch", "torch.nn.init.xavier_uniform(w)", 15),
    ("from torch import nn", "nn.init.xavier_uniform(w)", 9),
    ("from torch.nn import init", "init.xavier_uniform(w)", 6),
    ("from torch.nn import init as I", "I.xavier_uniform(w)", 3),
    ("import torch.nn.init as init", "init.xavier_uniform(w)", 6),
    ("import torch.nn.init", "torch.nn.init.xavier_uniform(w)", 15),
    ("from torch.nn.init import xavier_uniform", "xavier_uniform(w)", 1),
    ("from torch.nn.init import xavier_uniform as xu", "xu(w)", 1),
]


@pytest.mark.parametrize(("imports", "call", "column"), SPELLINGS,
                         ids=[s[0] for s in SPELLINGS])
def test_every_spelling_of_torch_nn_init_resolves(lint, imports, call, column):
    findings = lint(f"{imports}\n\n\ndef init_weights(w):\n    {call}\n", API)
    assert [(f.code, f.span.row, f.span.column) for f in findings] == \
        [("INI001", 5, column + 4)]
    assert "xavier_uniform_" in findings[0].message


@pytest.mark.parametrize("alias", ["uniform", "normal", "constant", "xavier_uniform",
                                   "xavier_normal", "kaiming_uniform", "kaiming_normal",
                                   "orthogonal", "sparse"])
def test_each_deprecated_alias(lint, alias):
    findings = lint(_text(alias), API)
    assert codes(findings) == ["INI001"]
    assert f"torch.nn.init.{alias}_`" in findings[0].message


def _text(alias: str) -> str:
    return f"import torch.nn as nn\n\n\ndef f(w):\n    nn.init.{alias}(w, 0.1)\n"


@pytest.mark.parametrize("alias", ["normal", "kaiming_uniform", "sparse"])
def test_alias_fix_adds_the_underscore(lint, alias):
    text = _text(alias)
    findings = lint(text, API)
    fix = findings[0].fix
    assert fix is not None and fix.applicability == "safe"
    assert apply_fixes(text, findings).text == text.replace(f".{alias}(", f".{alias}_(")


def test_no_fix_for_a_bare_imported_alias(lint):
    findings = lint("from torch.nn.init import normal\n\n\ndef f(w):\n    normal(w)\n", API)
    assert codes(findings) == ["INI001"] and findings[0].fix is None


LOOK_ALIKES = {
    "pyg inits module": """
        from torch_geometric.nn import inits

        def reset(self):
            inits.kaiming_uniform(self.weight, fan=self.in_channels, a=5 ** 0.5)
            inits.glorot(self.weight)
            inits.uniform(self.in_channels, self.bias)
        """,
    "pyg relative helpers": """
        from ..inits import glorot, zeros, uniform, normal

        def reset(self):
            glorot(self.weight)
            zeros(self.bias)
            normal(self.weight, 0, 1)
        """,
    "transformers initialization": """
        from ...initialization import normal, constant
        from ... import initialization as init

        def _init_weights(self, module):
            normal(module.weight, std=0.02)
            constant(module.bias, 0.0)
            init.normal(module.weight)
        """,
    "parameter named init": """
        from torch.nn import init

        def reset(module, init):
            init.xavier_uniform(module.weight)
        """,
    "local variable named init": """
        import torch.nn.init as init

        def reset(module, registry):
            init = registry.get("xavier")
            init.xavier_uniform(module.weight)
        """,
    "nested function parameter": """
        from torch.nn import init

        def outer(module):
            def inner(init):
                init.normal(module.weight)
            return inner
        """,
    "own helper with the alias name": """
        def xavier_uniform(t):
            return t

        def reset(module):
            xavier_uniform(module.weight)
        """,
    "attribute of another object": """
        def reset(self, module):
            self.init.normal(module.weight)
            module.init.kaiming_normal(module.weight)
        """,
}


@pytest.mark.parametrize("code", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alikes_are_not_torch_nn_init(lint, code):
    assert lint(code, API) == []


def test_shadowing_is_local_to_the_function(lint):
    findings = lint("""
        from torch.nn import init

        def a(module, init):
            init.normal(module.weight)

        def b(module):
            init.normal(module.weight)
    """, API)
    assert [(f.code, f.span.row) for f in findings] == [("INI001", 8)]


# --- INI002 init-on-a-copy -------------------------------------------------------------

COPY_MODEL = """
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        {line}
"""


@pytest.mark.parametrize("expr", ["self.fc.weight.clone()", "self.fc.weight.cpu()",
                                  "self.fc.weight.to('cuda')", "self.fc.weight.float()",
                                  "self.fc.weight.half()", "self.fc.weight.double()",
                                  "self.fc.weight.to(torch.float16)"])
def test_init_on_a_copy(lint, expr):
    findings = lint(COPY_MODEL.format(line=f"nn.init.normal_({expr}, std=0.02)"), API)
    assert [(f.code, f.span.row, f.span.column) for f in findings] == [("INI002", 10, 9)]
    assert "self.fc.weight" in findings[0].message


@pytest.mark.parametrize("expr", ["self.fc.weight.detach().clone()",
                                  "self.fc.weight.clone().detach()"])
def test_init_on_a_detached_copy(lint, expr):
    findings = lint(COPY_MODEL.format(line=f"nn.init.normal_({expr}, std=0.02)"), API)
    assert codes(findings) == ["INI002"]


def test_in_place_method_on_a_copy(lint):
    findings = lint(COPY_MODEL.format(line="self.fc.bias.clone().zero_()"), API)
    assert codes(findings) == ["INI002"]


def test_discarded_fresh_tensor(lint):
    findings = lint(COPY_MODEL.format(line="nn.init.zeros_(torch.empty(64))"), API)
    assert codes(findings) == ["INI002"] and "discarded" in findings[0].message


def test_plain_tensor_assigned_to_a_parameter_attribute(lint):
    findings = lint("""
        import torch
        import torch.nn as nn

        def init_head(m):
            if isinstance(m, nn.Linear):
                m.weight = nn.init.normal_(torch.empty(m.out_features, m.in_features))
    """, API)
    assert codes(findings) == ["INI002"]
    assert "TypeError" in findings[0].why


@pytest.mark.parametrize("line", [
    "nn.init.normal_(self.fc.weight.data, std=0.02)",
    "nn.init.normal_(self.fc.weight.view(64, 8, 8), std=0.02)",
    "nn.init.normal_(self.fc.weight[:32], std=0.02)",
    "nn.init.normal_(self.fc.weight.t(), std=0.02)",
    "self.w = nn.Parameter(nn.init.normal_(torch.empty(64, 64), std=0.02))",
    "w = nn.init.normal_(torch.empty(64, 64), std=0.02)",
    "self.register_buffer('w', nn.init.normal_(torch.empty(64, 64)))",
])
def test_writes_that_reach_the_parameter_are_clean(lint, line):
    assert lint(COPY_MODEL.format(line=line), API) == []


# --- INI003 inplace-on-parameter-with-grad ------------------------------------------------

GRAD_MODEL = """
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.gamma = nn.Parameter(torch.ones(64))
        {line}
"""


@pytest.mark.parametrize("line", ["self.fc.weight.normal_(0, 0.02)", "self.fc.bias.zero_()",
                                  "self.gamma.fill_(1e-5)", "self.gamma.mul_(0.1)",
                                  "self.gamma *= 0.1", "self.gamma += 1.0",
                                  "self.gamma.copy_(torch.zeros(64))"])
def test_inplace_on_a_parameter_in_init(lint, line):
    findings = lint(GRAD_MODEL.format(line=line), API)
    assert [(f.code, f.span.row, f.span.column) for f in findings] == [("INI003", 11, 9)]
    assert "leaf Variable" in findings[0].why


@pytest.mark.parametrize("line", [
    "self.fc.weight.data.normal_(0, 0.02)",
    "nn.init.normal_(self.fc.weight, 0, 0.02)",
    "self.gamma.data *= 0.1",
    "with torch.no_grad():\n            self.gamma.mul_(0.1)",
    "with torch.inference_mode():\n            self.gamma.mul_(0.1)",
    "self.running = torch.zeros(64)\n        self.running.add_(1)",
])
def test_inplace_without_grad_is_clean(lint, line):
    assert lint(GRAD_MODEL.format(line=line), API) == []


def test_apply_callback_with_grad(lint):
    findings = lint("""
        import torch.nn as nn

        def init_weights(m):
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.02)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.apply(init_weights)
    """, API)
    assert [(f.code, f.span.row) for f in findings] == [("INI003", 6)]


def test_decorated_or_called_under_no_grad_is_clean(lint):
    assert lint("""
        import torch
        import torch.nn as nn

        @torch.no_grad()
        def init_weights(m):
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.02)

        def fill(m):
            if isinstance(m, nn.Linear):
                m.bias.fill_(0.1)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.apply(init_weights)
                with torch.no_grad():
                    self.apply(fill)
    """, API) == []


def test_unreached_code_is_not_reported(lint):
    """Reachability unknown (a framework hook, or nothing calls it): stay quiet."""
    assert lint("""
        import torch.nn as nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)

            def _init_weights(self, module):
                if isinstance(module, nn.Linear):
                    module.weight.normal_(0, 0.02)
    """, API) == []


# --- INI004 fan-of-1d-tensor ------------------------------------------------------------

FAN_MODEL = """
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)
        self.conv = nn.Conv2d(3, 8, 3)
        self.scale = nn.Parameter(torch.ones(64))
        {line}
"""


@pytest.mark.parametrize("line", [
    "nn.init.xavier_uniform_(self.fc.bias)", "nn.init.kaiming_normal_(self.fc.bias)",
    "nn.init.xavier_normal_(self.norm.weight)", "nn.init.kaiming_uniform_(self.norm.bias)",
    "nn.init.orthogonal_(self.scale)", "nn.init.eye_(self.conv.weight)",
    "nn.init.dirac_(self.fc.weight)", "nn.init.sparse_(self.conv.weight, 0.1)",
])
def test_dimension_rule_violated(lint, line):
    findings = lint(FAN_MODEL.format(line=line), API)
    assert [(f.code, f.span.row, f.span.column) for f in findings] == [("INI004", 13, 9)]
    assert "ValueError" in findings[0].message


@pytest.mark.parametrize("line", [
    "nn.init.xavier_uniform_(self.fc.weight)", "nn.init.kaiming_normal_(self.conv.weight)",
    "nn.init.eye_(self.fc.weight)", "nn.init.dirac_(self.conv.weight)",
    "nn.init.orthogonal_(self.fc.weight)", "nn.init.zeros_(self.fc.bias)",
    "nn.init.ones_(self.norm.weight)", "nn.init.normal_(self.scale, std=0.02)",
    "nn.init.xavier_uniform_(self.fc.weight[:32])",
])
def test_dimension_rule_satisfied(lint, line):
    assert lint(FAN_MODEL.format(line=line), API) == []


def test_named_parameters_loop_filters(lint):
    findings = lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.norm = nn.LayerNorm(4)
                for name, p in self.named_parameters():
                    if "weight" in name:
                        nn.init.xavier_uniform_(p)
                for name, p in self.named_parameters():
                    if "weight" in name and p.dim() > 1:
                        nn.init.xavier_uniform_(p)
                for p in self.parameters():
                    if p.dim() > 1:
                        nn.init.xavier_uniform_(p)
    """, API)
    assert [(f.code, f.span.row) for f in findings] == [("INI004", 11)]
    assert "norm" in findings[0].message


# --- INI005 unguarded-bias --------------------------------------------------------------

BIAS_CALLBACK = """
import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight)
        {line}


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, {conv_args})
        self.apply(init_weights)
"""


def test_unguarded_bias_with_a_bias_free_layer(lint):
    text = BIAS_CALLBACK.format(line="nn.init.zeros_(m.bias)", conv_args="bias=False")
    findings = lint(text, API)
    assert [(f.code, f.span.row, f.span.column) for f in findings] == [("INI005", 8, 9)]
    assert "bias=False" in findings[0].message and "line 14" in findings[0].message
    fixed = apply_fixes(text, findings).text
    assert "        if m.bias is not None:\n            nn.init.zeros_(m.bias)\n" in fixed
    assert lint(fixed, API) == []


@pytest.mark.parametrize(("line", "conv_args"), [
    ("nn.init.zeros_(m.bias)", "bias=True"),
    ("nn.init.zeros_(m.bias)", "padding=1"),
    ("if m.bias is not None:\n            nn.init.zeros_(m.bias)", "bias=False"),
    ("if m.bias is not None: nn.init.zeros_(m.bias)", "bias=False"),
    ("if getattr(m, 'bias', None) is not None:\n            nn.init.zeros_(m.bias)",
     "bias=False"),
    ("if m.bias is None:\n            return\n        nn.init.zeros_(m.bias)", "bias=False"),
])
def test_guarded_or_always_present_bias_is_clean(lint, line, conv_args):
    assert lint(BIAS_CALLBACK.format(line=line, conv_args=conv_args), API) == []


def test_hasattr_is_not_a_guard(lint):
    text = BIAS_CALLBACK.format(line="if hasattr(m, 'bias'):\n            nn.init.zeros_(m.bias)",
                                conv_args="bias=False")
    assert codes(lint(text, API)) == ["INI005"]


def test_positional_bias_false(lint):
    findings = lint("""
        import torch.nn as nn

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 2, False)
                nn.init.zeros_(self.fc.bias)
    """, API)
    assert codes(findings) == ["INI005"]


@pytest.mark.parametrize(("build", "expected"), [
    ("nn.InstanceNorm2d(8)", ["INI005", "INI005"]),
    ("nn.InstanceNorm2d(8, affine=True)", []),
    ("nn.LayerNorm(8, elementwise_affine=False)", ["INI005", "INI005"]),
    ("nn.BatchNorm2d(8, affine=False)", ["INI005", "INI005"]),
    ("nn.BatchNorm2d(8)", []),
])
def test_norm_layers_without_affine(lint, build, expected):
    findings = lint(f"""
        import torch.nn as nn

        def init_norm(m):
            if isinstance(m, (nn.InstanceNorm2d, nn.LayerNorm, nn.BatchNorm2d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm = {build}
                self.apply(init_norm)
    """, API)
    assert codes(findings) == expected


def test_affine_guard_is_clean(lint):
    assert lint("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm = nn.InstanceNorm2d(8)
                for m in self.modules():
                    if isinstance(m, nn.InstanceNorm2d) and m.affine:
                        nn.init.ones_(m.weight)
    """, API) == []


# --- INI006 invalid-init-argument -------------------------------------------------------

ARG_MODEL = """
import torch.nn as nn

ACT = "Tanh"


def init(m):
    {line}
"""


@pytest.mark.parametrize(("line", "column", "replacement"), [
    ("nn.init.calculate_gain('ReLU')", 28, "'relu'"),
    ("nn.init.kaiming_normal_(m.weight, nonlinearity='Leaky_ReLU')", 52, "'leaky_relu'"),
    ("nn.init.kaiming_normal_(m.weight, mode='fan-out')", 44, "'fan_out'"),
    ("nn.init.kaiming_uniform_(m.weight, mode='FAN_IN')", 45, "'fan_in'"),
    ("nn.init.kaiming_uniform_(m.weight, nonlinearity='gelu')", 53, None),
    ("nn.init.kaiming_uniform_(m.weight, nonlinearity=ACT)", 53, None),
    ("nn.init.normal_(m.weight, 0.0, -0.02)", 36, None),
    ("nn.init.normal_(m.weight, std=-1)", 35, None),
    ("nn.init.sparse_(m.weight, sparsity=1.5)", 40, None),
    ("nn.init.sparse_(m.weight, -0.1)", 31, None),
])
def test_invalid_argument(lint, line, column, replacement):
    text = ARG_MODEL.format(line=line)
    findings = lint(text, API)
    assert [(f.code, f.span.row, f.span.column) for f in findings] == [("INI006", 8, column)]
    if replacement is None:
        assert findings[0].fix is None
    else:
        assert findings[0].fix is not None and findings[0].fix.applicability == "safe"
        fixed = apply_fixes(text, findings).text
        assert replacement in fixed and lint(fixed, API) == []


@pytest.mark.parametrize("line", [
    "nn.init.calculate_gain('leaky_relu', 0.2)",
    "nn.init.calculate_gain('conv_transpose3d')",
    "nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')",
    "nn.init.kaiming_normal_(m.weight, nonlinearity=m.act)",
    "nn.init.normal_(m.weight, mean=-1.0, std=0.0)",
    "nn.init.trunc_normal_(m.weight, std=-0.02)",  # mirrored draw: does not raise
    "nn.init.sparse_(m.weight, sparsity=1)",
    "nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain('selu'))",
])
def test_valid_argument(lint, line):
    assert lint(ARG_MODEL.format(line=line), API) == []


# --- the findings themselves ------------------------------------------------------------

def test_api_rules_are_errors_with_docs_urls(lint):
    findings = lint("""
        import torch.nn as nn

        def f(m):
            nn.init.xavier_uniform(m.weight)
    """, API)
    rule = ALL_RULES["INI001"]
    assert findings[0].severity is Severity.ERROR and rule.severity is Severity.ERROR
    assert rule.url.endswith("INI001")
    assert all(ALL_RULES[c].severity is Severity.ERROR for c in ALL_RULES if c < "INI100")


def test_syntax_error_is_ini000_with_position(lint):
    findings = lint("import torch\n\ndef f(:\n    pass\n")
    assert [(f.code, f.span.row) for f in findings] == [("INI000", 3)]
    assert findings[0].span.column == 7
    assert "SyntaxError" in findings[0].message
