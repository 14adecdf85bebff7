"""A cache entry that is not exactly what this build wrote is a miss, never another report:
digits changed on disk (JSON still valid) fail the entry's digest; a validly sealed entry of
the wrong types (ints as strings, nulls) fails the codec's field types."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from initlint.cache import codec
from initlint.cache.store import Cache, seal, unseal
from initlint.core.config import Config
from initlint.core.findings import Finding, Severity, Span
from initlint.engine.lint import Parsed, lint_paths, parse_path

from .hostile import MODEL, model

#: An integer inside a JSON array (a row, a column, a count), not inside a string.
_NUMBER = re.compile(rb"(?<=[\[,])(\d+)(?=[,\]])")


def _project(root: Path) -> list[str]:
    """Two models and a helper file: facts, a run entry and kept findings to corrupt."""
    return [str(model(root, "a.py")),
            str(model(root, "b.py", "\n\n" + MODEL.replace("Net", "Other")))]


def _tamper_every_entry(cache_root: Path, change: Callable[[bytes], bytes],
                        reseal: bool) -> int:
    entries = [p for p in Cache(cache_root).base.rglob("*") if p.is_file()]
    for entry in entries:
        data = entry.read_bytes()
        payload = unseal(data) if reseal else None
        entry.write_bytes(seal(change(payload)) if payload is not None else change(data))
    return len(entries)


def _shifted(data: bytes) -> bytes:
    return _NUMBER.sub(lambda m: str(int(m.group(1)) + 1).encode(), data)


def _as_strings(data: bytes) -> bytes:
    return _NUMBER.sub(lambda m: b'"' + m.group(1) + b'"', data)


def _as_nulls(data: bytes) -> bytes:
    return _NUMBER.sub(b"null", data)


@pytest.mark.parametrize(("change", "reseal"), [
    (_shifted, False),  # silently corrupted: a few digits changed, JSON still valid
    (_as_strings, True),  # a writer that got the types wrong, with a valid digest
    (_as_nulls, True),
], ids=["digits-changed", "ints-as-strings", "nulls"])
def test_a_tampered_cache_gives_the_report_of_no_cache(tmp_path: Path, change, reseal) -> None:
    files = _project(tmp_path / "src")
    expected = lint_paths(files, Config(), jobs=1).findings
    assert [f.span.row for f in expected] == [8, 10]
    lint_paths(files, Config(), jobs=1, cache=Cache(tmp_path / "cache"))
    assert _tamper_every_entry(tmp_path / "cache", change, reseal) >= 3
    again = lint_paths(files, Config(), jobs=1, cache=Cache(tmp_path / "cache"))
    assert again.findings == expected and not again.from_cache and again.cached == 0


def _document(value: object, change: Callable[[bytes], bytes]) -> bytes:
    header, _, body = codec.dumps(value).partition(b"\n")
    return header + b"\n" + change(body)


@pytest.mark.parametrize("change", [_as_strings, _as_nulls], ids=["strings", "nulls"])
def test_fields_of_the_wrong_type_are_decode_errors(tmp_path: Path, change) -> None:
    parsed = parse_path(str(model(tmp_path)))
    finding = Finding("INI001", Severity.ERROR, "m.py", Span(8, 17, 8, 31), "msg", "why")
    for value in (Span(1, 2, 3, 4), finding, parsed):
        with pytest.raises(codec.DecodeError):
            codec.loads(_document(value, change))


@pytest.mark.parametrize("body", [
    b'{"\\u00000": [8, 17, 8, true]}', b'{"\\u00000": [8, 17, 8, 1.5]}',
    b'{"\\u00000": [8, 17, 8, [31]]}', b'{"\\u00000": [8, 17, 8, {"a": 1}]}',
], ids=["bool", "float", "array", "object"])
def test_a_span_of_anything_but_ints_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(codec.DecodeError):
        codec.loads(b'["initlint.core.findings:Span"]\n' + body)


def test_the_right_types_still_round_trip(tmp_path: Path) -> None:
    parsed = parse_path(str(model(tmp_path)))
    assert isinstance(codec.loads(codec.dumps(parsed)), Parsed)
    assert unseal(seal(b"x\ny")) == b"x\ny" and unseal(b"0" * 32 + b"\nx") is None
