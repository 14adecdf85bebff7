"""The JSON schema of ``[tool.initlint]`` (issue 22 item 9): generated from the settings
definition (``initlint/core/settings_keys.py``) by ``scripts/settings_schema.py``, committed
as ``docs/schema/initlint.json`` in SchemaStore's format, and agreeing with what the loader
accepts; and "did you mean" for a misspelled key in both tables the loader checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import tomllib
from click.testing import CliRunner

from initlint.cli.main import main
from initlint.core.codes import RULE_CODES
from initlint.core.config import ConfigError, load_config
from initlint.core.runtime_settings import DTYPES
from initlint.core.settings_keys import DTYPE_NAMES, OUTPUT_FORMATS
from initlint.report import REPORTERS

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test extra")

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "schema" / "initlint.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def errors(table: dict[str, Any]) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(table)]


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.initlint]\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def test_regenerating_gives_the_committed_schema():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "settings_schema.py"),
                             "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_schemastore_format():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert SCHEMA["$id"].startswith("https://") and SCHEMA["$id"].endswith(".json")

    def objects(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
        found = []
        if isinstance(node, dict):
            if "properties" in node:
                found.append((where, node))
            for key, value in node.items():
                found += objects(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                found += objects(value, f"{where}/{i}")
        return found

    tables = objects(SCHEMA)
    assert len(tables) >= 4  # [tool.initlint], runtime, a model, an input table
    for where, table in tables:
        assert table["additionalProperties"] is False, where
        for name, prop in table["properties"].items():
            assert prop.get("description"), f"{where}/{name}"


def test_rule_selectors_are_an_enum_of_every_code_and_prefix():
    enum = SCHEMA["definitions"]["RuleSelector"]["enum"]
    assert {"ALL", "INI", "INI1", "INI10", *RULE_CODES} <= set(enum)
    assert all(code == "ALL" or any(c.startswith(code) for c in RULE_CODES) for code in enum)
    assert errors({"select": ["INI1", "INI205"], "ignore": ["ALL"]}) == []
    assert errors({"select": ["INI999"]})  # no such rule
    assert errors({"per-file-ignores": {"tests/*": ["E501"]}})


def test_closed_sets_are_the_codes():
    assert set(OUTPUT_FORMATS) == set(REPORTERS)
    assert set(DTYPE_NAMES) == set(DTYPES)
    assert SCHEMA["properties"]["output-format"]["enum"] == list(OUTPUT_FORMATS)


def readme_configs() -> list[str]:
    """Every TOML example of the README (the docs site's home page) holding initlint's
    settings."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block for block in re.findall(r"```toml\n(.*?)```", text, re.S)
            if "[tool.initlint" in block]


@pytest.mark.parametrize("block", readme_configs())
def test_every_documented_config_validates_and_loads(block: str, tmp_path: Path):
    table = tomllib.loads(block)["tool"]["initlint"]
    assert errors(table) == []
    path = tmp_path / "pyproject.toml"
    path.write_text(block, encoding="utf-8")
    load_config(path)  # and the loader accepts it


def test_the_documented_configs_are_found():
    blocks = readme_configs()
    assert len(blocks) >= 2 and any("[tool.initlint.runtime.models]" in b for b in blocks)


@pytest.mark.parametrize("table", [
    {"min-depth": 1},
    {"min-depth": "4"},
    {"respect-gitignore": "yes"},
    {"output-format": "xml"},
    {"runtime": {"device": "tpu"}},
    {"runtime": {"batch": 1}},
    {"runtime": {"timeout": 0}},
    {"runtime": {"models": {"a.b:c": {"shape": [8]}}}},
    {"runtime": {"models": {"a.b:c": {"inputs": [{"shape": [2], "kind": 1}]}}}},
])
def test_what_the_loader_rejects_the_schema_rejects(table: dict[str, Any], tmp_path: Path):
    assert errors(table), table
    path = tmp_path / "initlint.toml"
    path.write_text(toml(table), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)


def toml(table: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for the tables above (strings, numbers, lists, nested tables)."""
    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)
    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in table.items())


# --- did you mean -------------------------------------------------------------------------

def test_a_misspelled_key_names_the_key_it_resembles(tmp_path: Path):
    path = write_config(tmp_path, 'selct = ["INI1"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "unknown key(s) in [tool.initlint]: selct (did you mean `select`?" in str(err.value)


def test_several_misspelled_keys_each_get_their_guess(tmp_path: Path):
    path = write_config(tmp_path, 'extend-selct = ["INI1"]\nper-file-ignore = {}\nzzz = 1\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "`extend-select` for `extend-selct`" in message
    assert "`per-file-ignores` for `per-file-ignore`" in message
    assert "for `zzz`" not in message  # nothing close: no guess


def test_a_misspelled_runtime_key_names_the_key_it_resembles(tmp_path: Path):
    path = write_config(tmp_path, '[tool.initlint.runtime]\ndevise = "cpu"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "unknown key(s) in [tool.initlint.runtime]: devise (did you mean `device`?" \
        in str(err.value)


def test_a_misspelled_model_key_names_the_key_it_resembles(tmp_path: Path):
    path = write_config(tmp_path, '[tool.initlint.runtime.models]\n'
                                  '"pkg.nets:build" = {kwarg = {depth = 2}}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "did you mean `kwargs`?" in str(err.value)


def test_the_command_line_says_it_in_one_line(tmp_path: Path):
    write_config(tmp_path, 'ignor = ["INI1"]\n')
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, [str(tmp_path / "m.py")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "did you mean `ignore`?" in result.stderr
