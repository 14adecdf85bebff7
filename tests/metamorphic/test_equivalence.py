"""The transforms preserve semantics: the rewritten fixtures build the same models.

For a (fixture, transform) pair whose fixture runs with torch alone, every model class of the
rewritten files that builds without arguments is built before and after under fixed seeds
and compared (equivalence.compare). A pair that fails here is a bug in the transform, not in
initlint; a finding that changes on a pair that passes here is initlint's bug.

By default each transform is checked on ``PER_TRANSFORM`` fixtures it applies to (the suite
must stay fast): pairs the invariance suite lists as exceptions first (they claim initlint is
wrong, so their programs must be proven equivalent), then a fixed sample of the rest.
``INITLINT_META_FULL=1`` checks every pair (a few minutes; run it after changing a
transform or the exception list).
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalogue import TRANSFORMS
from conftest import safe_to_import
from equivalence import (
    build,
    build_with,
    compare,
    compare_builds,
    compare_instance,
    forget,
    instances,
    load,
    model_classes,
    run_script,
)
from exceptions import EXCEPTIONS
from harness import UNITS, tagged_unit, transform_unit
from transforms import Entry, Transform

pytest.importorskip("torch")

FULL = os.environ.get("INITLINT_META_FULL") == "1"
PER_TRANSFORM = 2

#: Pairs whose rewritten program is known NOT to build the same model, with the reason. The
#: invariance suite must not count them against initlint. Kept exact: a listed pair that is
#: checked and builds the same model fails the test.
_SUBCLASS_NAME = ("nn.MultiheadAttention's out_proj is NonDynamicallyQuantizableLinear, a "
                  "Linear subclass: `isinstance(m, nn.Linear)` matches it, a test on the class "
                  "name does not (the rewrite changes which layers get the init)")
NOT_EQUIVALENT: dict[str, str] = {
    "runtime/clean_architectures.py::dispatch_startswith": _SUBCLASS_NAME,
    "runtime/clean_architectures.py::dispatch_name_eq": _SUBCLASS_NAME,
    "runtime/clean_architectures.py::dispatch_type_in": _SUBCLASS_NAME,
}


def _write(root: Path, texts: dict[str, str]) -> None:
    for rel, text in texts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def check_pair(uid: str, files: list[Path], transform: Transform, tmp: Path) -> str | None:
    """What differs between the models built before and after (""), or None when the pair
    cannot be checked (the transform does not apply, nothing builds with torch alone).

    A model whose init code moved to a builder or a training script is built through it
    (the package imported, the script run as ``__main__``, from the temp directory)."""
    original = tagged_unit(files)
    moved = transform_unit(original, transform)
    if moved is None:
        return None
    new = dict(moved.files)
    before_root, after_root = tmp / f"{uid}-before", tmp / f"{uid}-{transform.name}"
    _write(before_root, original)
    _write(after_root, new)
    homes = dict(moved.homes)
    entries = {(e.origin, e.cls): e for e in moved.entries}
    touched = {origin for rel, origin in moved.origins if new[rel] != original.get(rel)}
    problems: list[str] = []
    checked = False
    relabels = transform.relabels_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rel in sorted(touched):
            try:
                before = load(before_root, rel, "b")
            except Exception:  # the original itself does not run (a real bug that raises
                continue  # at import): there is no model to compare with
            classes = model_classes(before) if before is not None else []
            models = instances(before) if before is not None else []
            if not classes and not models:
                continue
            home = homes.get(rel, rel)
            after = load(after_root, home, transform.name)
            assert after is not None, f"{uid}::{transform.name}: {home} no longer imports"
            for cls in classes:
                entry = entries.get((rel, cls))
                if entry is None:
                    problems.append(compare(before, after, cls, relabels))
                    continue
                problems.append(compare_builds(
                    lambda seed, again=False, cls=cls, mod=before: build(mod, cls, seed, again),
                    _entry_build(after_root, entry, transform.name), cls, relabels))
            for name in models:
                problems.append(compare_instance(
                    lambda seed, rel=rel: load(before_root, rel, "b", seed),
                    lambda seed, home=home: load(after_root, home, transform.name, seed),
                    name, relabels))
            checked = True
            forget(before)
            forget(after)
    return "; ".join(p for p in problems if p) if checked else None


def _entry_build(root: Path, entry: Entry, tag: str):
    """``seed -> Built`` through the builder function or the script that now makes the
    model."""
    if entry.script:
        return lambda seed: build_with(lambda: run_script(root / entry.path, entry.name), seed)
    module = load(root, entry.path, tag)
    assert module is not None, f"{entry.path} does not import"
    return lambda seed: build_with(getattr(module, entry.name), seed)


def _units_for(transform: Transform) -> list[tuple[str, list[Path]]]:
    """The listed exceptions first, then the rest in a fixed shuffled order."""
    listed = [u for u in UNITS if f"{u[0]}::{transform.name}" in EXCEPTIONS
              or f"{u[0]}::{transform.name}" in NOT_EQUIVALENT]
    rest = [u for u in UNITS if u not in listed and all(map(safe_to_import, u[1]))]
    random.Random(f"meta-{transform.name}").shuffle(rest)
    return listed + rest


@pytest.mark.parametrize("transform", TRANSFORMS, ids=[t.name for t in TRANSFORMS])
def test_transform_builds_the_same_models(transform: Transform, tmp_path: Path):
    checked: dict[str, str] = {}
    for uid, files in _units_for(transform):
        if not FULL and len(checked) >= PER_TRANSFORM:
            break
        result = check_pair(uid, files, transform, tmp_path)
        if result is not None:
            checked[f"{uid}::{transform.name}"] = result
    if not checked:
        pytest.skip(f"{transform.name} applies to no fixture that builds with torch alone")
    broken = {key for key, why in checked.items() if why}
    expected = {key for key in NOT_EQUIVALENT if key in checked}
    assert broken == expected, "\n".join(
        f"{key}: {checked[key] or 'builds the same model now'}"
        for key in sorted(broken ^ expected))


@pytest.mark.parametrize(("name", "model"), [("deeplab_bn_gamma_zero", "ASPPHead"),
                                             ("d2l_apply_ignores_argument", "net"),
                                             ("pytorch_examples_decoder_bias", "TransformerModel")])
def test_the_check_tells_a_bug_from_its_fix(name: str, model: str):
    """The checker is not vacuous: a real bug and its fix (different programs) differ."""
    root = Path(__file__).resolve().parents[2] / "fixtures" / "real_bugs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bug = load(root, f"{name}_bug.py", "bug")
        fixed = load(root, f"{name}_fixed.py", "fixed")
        assert bug is not None and fixed is not None
        if model in model_classes(bug):
            problem = compare(bug, fixed, model, relabels=False)
            assert compare(bug, bug, model, relabels=False) == ""
        else:
            problem = compare_instance(lambda s: load(root, f"{name}_bug.py", "bug", s),
                                       lambda s: load(root, f"{name}_fixed.py", "fixed", s),
                                       model, relabels=False)
        forget(bug)
        forget(fixed)
    assert problem, f"{name}: the bug and its fix built the same {model}"
