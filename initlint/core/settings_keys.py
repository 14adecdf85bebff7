"""Every configuration key as data: its name, what kind of value it takes, its default and
what it does. The config loaders check tables against it (with "did you mean" for a
misspelled key), and ``scripts/settings_schema.py`` generates the JSON schema for
``[tool.initlint]`` from it, so the schema cannot drift from what the loaders accept."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

#: What a key's value is. ``selectors``: rule codes or prefixes (``INI1``, ``ALL``);
#: ``strings``: glob patterns; ``per-file-ignores``: a table of glob = selectors; ``table``:
#: a sub-table whose keys are described by another tuple of :class:`Key`; ``models``: a table
#: of ``"pkg.mod:factory"`` = a model table; ``kwargs``: any table; ``shape``: positive
#: integers; ``inputs``: a list of inputs (positional) or a table of name = input.
Kind = Literal["selectors", "strings", "per-file-ignores", "bool", "int", "number", "choice",
               "device", "table", "models", "kwargs", "shape", "inputs"]

#: The report formats (``--output-format``, ``output-format``, ``INITLINT_OUTPUT_FORMAT``);
#: the reporters registered in ``initlint.report`` are exactly these (a test keeps them so).
OUTPUT_FORMATS = ("text", "concise", "json", "sarif", "github")
#: dtype names a runtime input may take (``runtime_settings.DTYPES`` maps them to torch's).
#: What directory walks skip unless ``exclude`` replaces it.
DEFAULT_EXCLUDE = (".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".tox", ".nox",
                   "build", "dist", "node_modules", ".mypy_cache", ".ruff_cache",
                   ".pytest_cache", ".eggs", "site-packages")
DTYPE_NAMES = ("float", "float32", "double", "float64", "half", "float16", "bfloat16", "long",
               "int64", "int", "int32", "bool")


@dataclass(frozen=True)
class Key:
    """One configuration key."""

    name: str
    kind: Kind
    description: str
    default: Any = None  # None: no default worth stating (or "absent")
    minimum: float | None = None  # int/number: the smallest value accepted
    exclusive_minimum: bool = False  # number: ``minimum`` itself is not accepted
    choices: tuple[str, ...] = ()  # choice: the values accepted
    pattern: str = ""  # device: the regular expression a value matches
    keys: tuple[Key, ...] = ()  # table: its keys


TENSOR_KEYS = (
    Key("shape", "shape", "The input's full shape, batch first, e.g. [4, 128]."),
    Key("dtype", "choice", "The input's dtype (default: from the model's first layer).",
        choices=DTYPE_NAMES),
    Key("high", "int", "Integer inputs are drawn in [0, high) (default: the first "
        "Embedding's size).", minimum=1),
)

MODEL_KEYS = (
    Key("kwargs", "kwargs", "Keyword arguments the factory is called with."),
    Key("input", "shape", "One input's full shape, batch first, e.g. [8, 3, 224, 224]."),
    Key("dtype", "choice", "That input's dtype (default: from the model's first layer).",
        choices=DTYPE_NAMES),
    Key("inputs", "inputs", "Several inputs: a list (positional) or a table of name = input "
        "(keyword); each input is a shape or {shape, dtype, high}. Not with `input`."),
)

RUNTIME_KEYS = (
    Key("device", "device", "Where `--runtime` builds and measures the models: cpu, cuda, "
        "cuda:N or mps.", default="cpu", pattern=r"^(cpu|mps|cuda(:\d+)?)$"),
    Key("seed", "int", "The seed every model is built and measured under.", default=0,
        minimum=0),
    Key("batch", "int", "The batch size of synthesized inputs.", default=8, minimum=2),
    Key("timeout", "number", "Seconds each model may take (build and measurement).",
        default=300, minimum=0, exclusive_minimum=True),
    Key("memory-gb", "number", "Memory each model may use, in GB (default: half of the "
        "memory available).", minimum=0, exclusive_minimum=True),
    Key("only-named", "bool", "Build only the models named in `models` or with "
        "`--runtime-model`, not every default-constructible class of the linted files.",
        default=False),
    Key("models", "models", "Factories to build: \"pkg.mod:factory\" = {kwargs = {...}, "
        "input = [...]} (a class or a function).", keys=MODEL_KEYS),
)

LINT_KEYS = (
    Key("select", "selectors", "Rule codes or prefixes to enable (replaces the default "
        "selection: every rule on by default).", default=[]),
    Key("ignore", "selectors", "Rule codes or prefixes to disable.", default=[]),
    Key("extend-select", "selectors", "Rule codes or prefixes to enable on top of `select` "
        "(e.g. INI206's info-level findings, INI901).", default=[]),
    Key("extend-ignore", "selectors", "Rule codes or prefixes to disable on top of `ignore`.",
        default=[]),
    Key("per-file-ignores", "per-file-ignores", "Rule codes or prefixes to ignore in the "
        "files matching each glob, e.g. {\"tests/*\" = [\"INI1\"]}.", default={}),
    Key("exclude", "strings", "Glob patterns of files and directories to skip (replaces "
        "the default exclusions).", default=list(DEFAULT_EXCLUDE)),
    Key("extend-exclude", "strings", "Glob patterns to skip on top of `exclude`.",
        default=[]),
    Key("min-depth", "int", "INI101's shortest reported chain of weight layers.", default=4,
        minimum=2),
    Key("respect-gitignore", "bool", "Directory walks skip the files git ignores.",
        default=True),
    Key("force-exclude", "bool", "Exclude patterns also apply to files named on the command "
        "line (pre-commit and editors name every file).", default=False),
    Key("fixable", "selectors", "The rules whose fixes are offered and applied.",
        default=["ALL"]),
    Key("unfixable", "selectors", "Rules whose findings carry no fix (taken out of "
        "`fixable`).", default=[]),
    Key("extend-safe-fixes", "selectors", "Rules whose unsafe fixes plain `--fix` applies.",
        default=[]),
    Key("extend-unsafe-fixes", "selectors", "Rules whose safe fixes wait for "
        "`--unsafe-fixes`.", default=[]),
    Key("output-format", "choice", "How findings are printed (the environment variable "
        "INITLINT_OUTPUT_FORMAT and `--output-format` win over it).", default="text",
        choices=OUTPUT_FORMATS),
    Key("runtime", "table", "Settings of the runtime mode (`--runtime`).", keys=RUNTIME_KEYS),
)


def names(keys: Iterable[Key]) -> frozenset[str]:
    return frozenset(key.name for key in keys)


def key(keys: Iterable[Key], name: str) -> Key:
    """The key called ``name`` (a KeyError names a key the table lacks: a bug)."""
    return {k.name: k for k in keys}[name]


def unknown_keys(found: Iterable[str], keys: Iterable[Key], table: str) -> str | None:
    """The error for the keys of ``found`` that ``keys`` does not name (None if none): each
    with the known key it most resembles ("did you mean"), then every known key."""
    known = sorted(names(keys))
    unknown = sorted(set(found) - set(known))
    if not unknown:
        return None
    guesses = {name: difflib.get_close_matches(name, known, n=1, cutoff=0.6)
               for name in unknown}
    hints = [f"`{guess[0]}`" + (f" for `{name}`" if len(unknown) > 1 else "")
             for name, guess in guesses.items() if guess]
    hint = f"did you mean {', '.join(hints)}?; " if hints else ""
    return (f"unknown key(s) in {table}: {', '.join(unknown)} "
            f"({hint}known: {', '.join(known)})")
