"""Generate the JSON schema of ``[tool.initlint]`` (and of an ``initlint.toml``) from the
settings definition, ``initlint/core/settings_keys.py``, in SchemaStore's format (draft-07,
``$id``, a description on every key, ``additionalProperties: false``, rule selectors as an
enum), for editors' TOML completion.

    python scripts/settings_schema.py           # rewrite docs/schema/initlint.json
    python scripts/settings_schema.py --check   # exit 1 if the committed file is stale (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from initlint.core.codes import RULE_CODES  # noqa: E402  (after the path above)
from initlint.core.settings_keys import (  # noqa: E402
    LINT_KEYS,
    MODEL_KEYS,
    TENSOR_KEYS,
    Key,
)

SCHEMA_FILE = ROOT / "docs" / "schema" / "initlint.json"
#: Where the documentation site publishes it (docs/ is the site's source).
SCHEMA_ID = "https://initlint.github.io/initlint/schema/initlint.json"


def selectors() -> list[str]:
    """Every value a rule selector may take: ``ALL``, ``INI``, and each code's prefixes."""
    prefixes = {code[:n] for code in RULE_CODES for n in range(4, len(code) + 1)}
    return ["ALL", "INI", *sorted(prefixes)]


def shape() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1}


def value_schema(key: Key) -> dict[str, Any]:
    """The schema of one key's value, by its kind."""
    kinds: dict[str, dict[str, Any]] = {
        "selectors": {"type": "array", "items": {"$ref": "#/definitions/RuleSelector"}},
        "strings": {"type": "array", "items": {"type": "string"}},
        "per-file-ignores": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"$ref": "#/definitions/RuleSelector"}}},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "number": {"type": "number"},
        "choice": {"type": "string", "enum": list(key.choices)},
        "device": {"type": "string", "pattern": key.pattern},
        "table": table(key.keys),
        "models": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Model"}},
        "kwargs": {"type": "object"},
        "shape": shape(),
        "inputs": {"oneOf": [
            {"type": "array", "items": {"$ref": "#/definitions/Input"}, "minItems": 1},
            {"type": "object", "minProperties": 1,
             "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
             "additionalProperties": {"$ref": "#/definitions/Input"}}]},
    }
    out = dict(kinds[key.kind])
    if key.minimum is not None:
        out["exclusiveMinimum" if key.exclusive_minimum else "minimum"] = key.minimum
    return out


def prop(key: Key) -> dict[str, Any]:
    out: dict[str, Any] = {"description": key.description, **value_schema(key)}
    if key.default is not None:
        out["default"] = key.default
    return out


def table(keys: tuple[Key, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {key.name: prop(key) for key in keys},
            "additionalProperties": False}


def schema() -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "initlint",
        "description": "Settings of initlint, the PyTorch weight-initialization linter: "
                       "[tool.initlint] in pyproject.toml, or the top level of "
                       "initlint.toml. Generated from initlint/core/settings_keys.py by "
                       "scripts/settings_schema.py.",
        **table(LINT_KEYS),
        "definitions": {
            "RuleSelector": {"description": "A rule code (INI101), a prefix of codes (INI1) "
                                            "or ALL.",
                             "type": "string", "enum": selectors()},
            "Model": {"description": "How to build and feed one factory.", **table(MODEL_KEYS)},
            "Input": {"description": "One input: its shape, or {shape, dtype, high}.",
                      "oneOf": [shape(), {**table(TENSOR_KEYS), "required": ["shape"]}]},
        },
    }


def render() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed schema differs from the generated one")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.is_file() else ""
        if current != text:
            print(f"{SCHEMA_FILE.relative_to(ROOT)} is stale: run "
                  "python scripts/settings_schema.py", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
