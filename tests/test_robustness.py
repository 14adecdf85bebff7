"""The engine never raises on arbitrary input: it reports INI000 or findings.

Generated model modules (a small grammar of the constructs the extractor reads), mutations of
real files (truncation, deleted lines, swapped tokens, garbage bytes) and pathological nesting,
linted alone and as a project, in-memory and from disk. Bounded: a few seconds each.
"""

from __future__ import annotations

import io
import random
import tokenize
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlint.checks import ALL_RULES
from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.engine.lint import check_project, lint_paths, lint_text, parse_source
from initlint.files.discover import Source, discover

REPO = Path(__file__).resolve().parent.parent
ALL = Config(select=("ALL",))
KNOWN = set(ALL_RULES) | {"INI000"}
CORPUS = Path("/work/corpus/site")
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seed_files() -> list[Path]:
    """Fixtures, plus a few real model files when the pinned corpus is installed."""
    files = [Path(p) for p in discover([str(REPO / "fixtures")], ALL)]
    for rel in ("torchvision/models/resnet.py", "timm/layers/weight_init.py",
                "segmentation_models_pytorch/base/initialization.py",
                "recbole/model/sequential_recommender/sasrec.py"):
        if (CORPUS / rel).is_file():
            files.append(CORPUS / rel)
    return sorted(files)


SEEDS = _seed_files()
SEED_TEXTS = [p.read_text(encoding="utf-8", errors="replace") for p in SEEDS]


def _check(findings: list[Finding], path: str | None = None) -> None:
    for finding in findings:
        assert isinstance(finding, Finding)
        assert finding.code in KNOWN, finding
        assert "internal error" not in finding.message, finding
        assert finding.span.row >= 1 and finding.span.column >= 1, finding
        if path is not None:
            assert finding.path == path


# --- a grammar of model code ----------------------------------------------------------

LAYERS = ["nn.Linear({a}, {b})", "nn.Linear({a}, {b}, bias=False)", "nn.Conv2d({a}, {b}, 3)",
          "nn.Conv2d({a}, {b}, 3, bias={flag})", "nn.BatchNorm2d({a})",
          "nn.BatchNorm1d({a}, affine={flag})", "nn.InstanceNorm2d({a})", "nn.LayerNorm({a})",
          "nn.LayerNorm({a}, elementwise_affine={flag})", "nn.Embedding({a}, {b}, padding_idx=0)",
          "nn.GRU({a}, {b})", "nn.ConvTranspose2d({a}, {b}, 4, 2, 1)", "Block({a})",
          "nn.Sequential(nn.Linear({a}, {b}), nn.ReLU(), nn.Linear({b}, {a}))",
          "nn.ModuleList([nn.Linear({a}, {a}) for _ in range({b})])",
          "nn.Parameter(torch.zeros(1, {a}))", "nn.Parameter(torch.randn({a}, {b}) * 0.02)",
          "nn.GroupNorm(4, {a})", "nn.MultiheadAttention({a}, 4)", "nn.Identity()"]
TARGETS = ["self.{n}.weight", "self.{n}.bias", "m.weight", "m.bias", "p", "self.{n}",
           "self.{n}[0].weight", "module.weight", "self.{n}.weight.data", "w"]
INITS = ["nn.init.{f}({t})", "nn.init.{f}({t}, {x})", "torch.nn.init.{f}({t}, gain={x})",
         "init.{f}({t}, mode='fan_out', nonlinearity='relu')", "{t}.data.normal_(0, {x})",
         "{t}.normal_(mean=0.0, std={x})", "{t}.fill_({x})", "{t}.zero_()",
         "{t}.data.zero_()", "{t}.uniform_(-{x}, {x})", "{t}.copy_(torch.eye(4))",
         "nn.init.calculate_gain('{act}')", "nn.init.constant_({t}, {x})"]
FUNCS = ["xavier_uniform_", "xavier_normal_", "kaiming_normal_", "kaiming_uniform_",
         "normal_", "uniform_", "zeros_", "ones_", "orthogonal_", "trunc_normal_",
         "constant_", "eye_", "dirac_", "xavier_uniform", "normal", "sparse_"]
WRAPS = ["{s}", "with torch.no_grad():\n    {s}", "if {t0} is not None:\n    {s}",
         "for m in self.modules():\n    if isinstance(m, {cls}):\n        {s}",
         "for name, p in self.named_parameters():\n    if 'weight' in name:\n        {s}",
         "for p in self.parameters():\n    if p.dim() > 1:\n        {s}",
         "for m in self.modules():\n    if isinstance(m, ({cls}, nn.Linear)):\n        {s}\n"
         "    elif isinstance(m, nn.BatchNorm2d):\n        {s}",
         "self.apply(self._init_weights)", "self.apply(init_fn)", "init_fn(self)",
         "self.reset_parameters()", "super().__init__()", "self.{n}.apply(init_fn)",
         "for block in self.{n}:\n    {s}", "if False:\n    {s}",
         "try:\n    {s}\nexcept Exception:\n    pass"]
CLASSES = ["nn.Linear", "nn.Conv2d", "nn.BatchNorm2d", "nn.LayerNorm", "nn.Embedding",
           "(nn.Conv2d, nn.ConvTranspose2d)", "nn.modules.conv._ConvNd", "Block"]
ACTS = ["nn.ReLU()", "nn.GELU()", "nn.Tanh()", "nn.Sigmoid()", "nn.SiLU()", "nn.Identity()"]
IMPORTS = ["import torch", "import torch.nn as nn", "from torch import nn",
           "from torch.nn import init", "import torch.nn.init as init", "import math",
           "from torch.nn import Linear, Conv2d", "from . import helpers",
           "from .helpers import init_fn"]


@st.composite
def statements(draw, depth: int = 0) -> str:
    fill = {"n": draw(st.sampled_from(["fc", "conv", "norm", "layers", "emb", "head", "x"])),
            "f": draw(st.sampled_from(FUNCS)), "x": draw(st.sampled_from(
                ["0.02", "1.0", "0", "math.sqrt(5)", "-1", "1e-5", "std", "None", "'relu'"])),
            "act": draw(st.sampled_from(["relu", "tanh", "leaky_relu", "selu", "bogus"])),
            "cls": draw(st.sampled_from(CLASSES))}
    target = draw(st.sampled_from(TARGETS)).format(**fill)
    stmt = draw(st.sampled_from(INITS)).format(t=target, **fill)
    wrap = draw(st.sampled_from(WRAPS))
    return wrap.format(s=stmt.replace("\n", "\n    "), t0=target, **fill)


def _indent(text: str, by: int) -> str:
    return "\n".join(" " * by + line if line else line for line in text.splitlines())


@st.composite
def modules(draw) -> str:
    parts = draw(st.lists(st.sampled_from(IMPORTS), min_size=0, max_size=5))
    for index in range(draw(st.integers(1, 3))):
        base = draw(st.sampled_from(["nn.Module", "torch.nn.Module", "Block", "PreTrainedModel",
                                     "Base", "object", "nn.Sequential"]))
        name = draw(st.sampled_from(["Block", "Net", "Model", f"Net{index}"]))
        fill = {"a": draw(st.sampled_from(["d", "64", "dim * 2", "0", "n"])),
                "b": draw(st.sampled_from(["d", "10", "hidden", "1"])),
                "flag": draw(st.sampled_from(["True", "False", "bias", "None"]))}
        layers = [f"self.{draw(st.sampled_from(['fc', 'conv', 'norm', 'layers', 'emb', 'head']))}"
                  f"{draw(st.sampled_from(['', '1', '2']))} = "
                  f"{draw(st.sampled_from(LAYERS)).format(**fill)}"
                  for _ in range(draw(st.integers(0, 6)))]
        acts = [f"self.act{i} = {draw(st.sampled_from(ACTS))}"
                for i in range(draw(st.integers(0, 2)))]
        body = ["super().__init__()", *layers, *acts,
                *draw(st.lists(statements(), max_size=4))]
        init_fn = draw(st.lists(statements(), max_size=3))
        forward = draw(st.sampled_from(
            ["return self.fc(x)", "return x + self.layers(x)", "x = self.act0(self.fc(x))\n"
             "return self.head(x)", "for layer in self.layers:\n    x = layer(x)\nreturn x"]))
        parts.append(
            f"class {name}({base}):\n"
            f"    def __init__(self, d=64, n=3, std=0.02, bias=True):\n"
            f"{_indent(chr(10).join(body), 8)}\n\n"
            f"    def _init_weights(self, m):\n"
            f"{_indent(chr(10).join(init_fn) or 'pass', 8)}\n\n"
            f"    def forward(self, x):\n{_indent(forward, 8)}\n")
    if draw(st.booleans()):
        parts.append("def init_fn(m):\n" + _indent("\n".join(
            draw(st.lists(statements(), min_size=1, max_size=3))), 4))
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["model = Net()\nmodel.apply(init_fn)",
                                           "init_fn(Net())", "Net().apply(lambda m: None)"])))
    return "\n\n".join(parts) + "\n"


@SETTINGS
@given(modules())
def test_generated_modules_lint_without_raising(source: str) -> None:
    _check(lint_text("gen.py", source, ALL), "gen.py")


@SETTINGS
@given(modules(), modules())
def test_generated_projects_link_without_raising(first: str, second: str) -> None:
    parsed = [parse_source(Source("pkg/a.py", first)), parse_source(Source("pkg/b.py", second))]
    _check(check_project(parsed, ALL))


# --- mutations of real files ----------------------------------------------------------


def _tokens(text: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text.split(" ")


def _mutate(text: str, kind: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    if kind == "truncate":
        return text[: rng.randrange(len(text) + 1)]
    if kind == "delete_lines":
        for _ in range(rng.randint(1, 5)):
            if lines:
                del lines[rng.randrange(len(lines))]
        return "".join(lines)
    if kind == "swap_tokens":
        tokens = _tokens(text)
        for _ in range(rng.randint(1, 6)):
            if len(tokens) > 1:
                i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
                tokens[i], tokens[j] = tokens[j], tokens[i]
        return " ".join(tokens)
    if kind == "garbage":
        pos = rng.randrange(len(text) + 1)
        junk = "".join(rng.choice(["\x00", "\ufeff", "\t", "\x0c", "(", ")", ":", "\\", "'''",
                                   "é", "\u2028", "\r", "λ", "@", "\x1b"])
                       for _ in range(rng.randint(1, 8)))
        return text[:pos] + junk + text[pos:]
    if kind == "dedent":
        return "".join(line.lstrip() if rng.random() < 0.2 else line for line in lines)
    if kind == "duplicate":
        if lines:
            i = rng.randrange(len(lines))
            lines[i:i] = lines[i: i + rng.randint(1, 20)]
        return "".join(lines)
    raise AssertionError(kind)


MUTATIONS = ["truncate", "delete_lines", "swap_tokens", "garbage", "dedent", "duplicate"]


@SETTINGS
@given(st.integers(0, len(SEEDS) - 1), st.sampled_from(MUTATIONS), st.integers(0, 2**32))
def test_mutated_real_files_lint_without_raising(index: int, kind: str, seed: int) -> None:
    text = _mutate(SEED_TEXTS[index], kind, random.Random(seed))
    _check(lint_text(str(SEEDS[index]), text, ALL), str(SEEDS[index]))


@SETTINGS
@given(st.integers(0, len(SEEDS) - 1), st.binary(min_size=1, max_size=16),
       st.integers(0, 2**32))
def test_garbage_bytes_on_disk_lint_without_raising(tmp_path_factory, index: int,
                                                    junk: bytes, seed: int) -> None:
    data = SEEDS[index].read_bytes()
    pos = random.Random(seed).randrange(len(data) + 1)
    path = tmp_path_factory.mktemp("bytes") / "mutated.py"
    path.write_bytes(data[:pos] + junk + data[pos:])
    result = lint_paths([str(path)], ALL, jobs=1)
    _check(result.findings, str(path))


# --- pathological shapes --------------------------------------------------------------

DEEP = {
    "parens": "import torch\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
    "binop_chain": "import torch\nx = " + " + ".join(["a"] * 30000) + "\n",
    "attr_chain": "import torch\nx = self" + ".a" * 5000 + ".weight\n",
    "call_chain": "import torch.nn as nn\nx = nn.Sequential(" * 300 + ")" * 300 + "\n",
    "nested_defs": "import torch\n" + "".join(" " * (4 * i) + f"def f{i}():\n"
                                               for i in range(90)) + " " * 360 + "pass\n",
    "nested_ifs": "import torch.nn as nn\nclass A(nn.Module):\n    def __init__(self):\n"
                  + "".join(" " * (8 + 4 * i) + f"if m{i}:\n" for i in range(95))
                  + " " * 388 + "nn.init.zeros_(self.fc.weight)\n",
    "nested_lists": "import torch\nx = " + "[" * 2000 + "]" * 2000 + "\n",
    "long_line": "import torch\nx = '" + "a" * 2_000_000 + "'\n",
    "many_classes": "import torch.nn as nn\n" + "".join(
        f"class C{i}(C{i - 1} if {i} else nn.Module):\n    def __init__(self):\n"
        f"        super().__init__()\n        self.l{i} = nn.Linear(2, 2)\n"
        for i in range(400)),
    "cyclic_bases": "import torch.nn as nn\nclass A(B):\n    pass\nclass B(A):\n"
                    "    def __init__(self):\n        self.fc = nn.Linear(2, 2)\n"
                    "        self.apply(self.init)\n    def init(self, m):\n"
                    "        nn.init.zeros_(m.weight)\n",
    "self_container": "import torch.nn as nn\nclass A(nn.Module):\n    def __init__(self):\n"
                      "        self.inner = A()\n        self.fc = nn.Linear(2, 2)\n"
                      "        self.inner.reset_parameters()\n"
                      "    def reset_parameters(self):\n"
                      "        self.apply(self.reset_parameters)\n",
    "null_byte": "import torch\x00\n",
    "lone_surrogate_escape": "import torch\nx = '\\ud800'\n",
    "only_bom": "\ufeff",
    "empty": "",
    "cr_only": "import torch\rclass A(torch.nn.Module):\r    pass\r",
    "tabs_spaces": "import torch\nif 1:\n\tif 2:\n        pass\n",
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_pathological_sources_lint_without_raising(name: str) -> None:
    _check(lint_text("deep.py", DEEP[name], ALL), "deep.py")


def test_pathological_files_through_workers(tmp_path: Path) -> None:
    """The same shapes as files, through worker processes (facts must pickle back)."""
    paths = []
    for index, (name, text) in enumerate(sorted(DEEP.items()) * 2):
        path = tmp_path / f"{name}_{index}.py"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        paths.append(str(path))
    result = lint_paths(paths, ALL, jobs=2)
    _check(result.findings)
    assert result.files == len(paths)
