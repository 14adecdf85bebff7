"""Run every transform on every fixture and compare what initlint reports.

A finding's identity in this suite is ``(file, code, subject)``:

- **subject** is the finding's own ``Finding.subject`` when the rule sets one (the layer,
  layers or function the finding is about, e.g. ``padding_idx.SASRec::item_embedding`` or
  ``init_never_called.weights_init``), with the function's enclosing class dropped (a
  transform may move an init function into a class) and container indices written ``#``
  (``layers.*`` for a repeated block and ``layers.3`` for an unrolled one are the same
  layers; attribute names and the number of layers still count). For transforms that nest
  containers, indices are dropped (``net.0`` and ``net.0.0`` both read ``net``).
- Otherwise (the call-site rules INI001–INI006, INI207 today) the subject is the **original
  source line** the finding points at: the harness tags every line of the fixture with a
  ``# @L<n>`` comment before transforming it, transforms carry comments along, and the tag
  on the finding's row names the line it came from. That is robust to line shifts (code
  moved to a helper, constants added at the top) and to renames. INI208's subject names the
  function holding the init code; a transform may move that code to another function, so
  its identity is the model and the tagged line.
- A transform that moves code to other files (a builder module, a training script,
  ``utils.py``) records which original file each new file's lines came from: a finding's
  file is that original file.

Comparing multisets of these identities means: same rules, same layers / functions / call
sites, same number of findings. Messages are not compared (they quote local names).
"""

from __future__ import annotations

import functools
import io
import re
import sys
import tokenize
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import FIXTURES, lint_files  # noqa: E402
from test_fixtures import UNITS, parse_header  # noqa: E402

from initlint.core.config import Config  # noqa: E402
from initlint.core.findings import Finding  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalogue import BY_NAME, TRANSFORMS  # noqa: E402
from transforms import Moved, Transform  # noqa: E402

TAG = re.compile(r"#\s*@L(\d+)\s*$")
_INDEX = re.compile(r"\.(\d+|\*)(?=[.,]|$)")


def tag_lines(text: str) -> str:
    """Append ``# @L<n>`` to every line holding code (not inside a multi-line string, not
    continued by a backslash)."""
    lines = text.splitlines(keepends=True)
    inside: set[int] = set()
    code_rows: set[int] = set()
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING}
    string_kinds = {tokenize.STRING}
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):
        if hasattr(tokenize, name):
            string_kinds.add(getattr(tokenize, name))
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in skip:
            continue
        code_rows.add(token.start[0])
        if token.type in string_kinds and token.end[0] > token.start[0]:
            inside.update(range(token.start[0], token.end[0]))
    out = []
    for row, line in enumerate(lines, 1):
        body = line.rstrip("\r\n")
        ending = line[len(body):] or "\n"
        if row in code_rows and row not in inside and not body.rstrip().endswith("\\"):
            body = f"{body}  # @L{row}"
        out.append(body + ending)
    return "".join(out)


@dataclass(frozen=True)
class Pair:
    """One (fixture unit, transform) pair that applied."""

    unit: str
    transform: str
    before: Counter
    after: Counter
    sources: dict[str, str]  # relative path -> transformed text (files that changed)

    @property
    def key(self) -> str:
        return f"{self.unit}::{self.transform}"

    @property
    def invariant(self) -> bool:
        return self.before == self.after

    def diff(self) -> str:
        lost = sorted((self.before - self.after).elements())
        gained = sorted((self.after - self.before).elements())
        return f"lost {lost}, gained {gained}"


#: Rules whose subject names the model and the function holding the init code: a transform
#: that moves the code to another function (a builder, a helper) keeps the finding about the
#: same init site, so the site's line stands for the function.
_SITE_SUBJECTS = frozenset({"INI208"})


def subject_of(finding: Finding, text: str, relabels: bool) -> str:
    """The finding's identity beyond its code (see the module docstring)."""
    if finding.subject:
        owner, sep, layers = finding.subject.partition("::")
        if not sep:  # a function: drop its module and class
            return "fn:" + owner.rsplit(".", 1)[-1]
        owner = owner.rsplit(".", 1)[-1]
        if finding.code in _SITE_SUBJECTS:
            return f"{owner}::{_tag(finding, text)}"
        layers = _INDEX.sub("" if relabels else ".#", layers)
        return f"{owner}::{layers}"
    return _tag(finding, text)


def _tag(finding: Finding, text: str) -> str:
    """The original line the finding's row came from (``@L12``), ``@?`` if untagged."""
    lines = text.splitlines()
    row = finding.span.row
    if 1 <= row <= len(lines):
        match = TAG.search(lines[row - 1])
        if match:
            return f"@L{match.group(1)}"
    return "@?"


def identities(findings: list[Finding], texts: dict[str, str], root: Path,
               relabels: bool, origins: dict[str, str] | None = None) -> Counter:
    """``origins``: a rewritten file → the original file its lines come from (a transform
    that moves code to another file or a script)."""
    out: Counter = Counter()
    for f in findings:
        rel = Path(f.path).resolve().relative_to(root.resolve()).as_posix()
        origin = (origins or {}).get(rel, rel)
        out[(origin, f.code, subject_of(f, texts.get(rel, ""), relabels))] += 1
    return out


def unit_config(files: list[Path]) -> Config:
    return parse_header(files[0].read_text(encoding="utf-8"))[0]


def lint_tree(root: Path, texts: dict[str, str], config: Config) -> list[Finding]:
    paths = []
    for rel, text in texts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return lint_files(paths, config)


def tagged_unit(files: list[Path]) -> dict[str, str]:
    return {p.relative_to(FIXTURES).as_posix(): tag_lines(p.read_text(encoding="utf-8"))
            for p in files}


def transform_unit(texts: dict[str, str], transform: Transform) -> Moved | None:
    """The unit rewritten (its files, where they came from, how its models are built), or
    None where the transform changes no file."""
    return _transform_unit(tuple(texts.items()), transform.name)


@functools.lru_cache(maxsize=2048)
def _transform_unit(items: tuple[tuple[str, str], ...], name: str) -> Moved | None:
    """Memoized: the invariance and the equivalence tests rewrite the same units."""
    return BY_NAME[name].apply_unit(items)


def run_all(workdir: Path, transforms: tuple[Transform, ...] = TRANSFORMS,
            units: list[tuple[str, list[Path]]] | None = None) -> list[Pair]:
    pairs = []
    for uid, files in units or UNITS:
        config = unit_config(files)
        original = tagged_unit(files)
        base_root = workdir / "orig" / uid.replace("/", "__")
        before_findings = lint_tree(base_root, original, config)
        cache: dict[bool, Counter] = {}
        for transform in transforms:
            moved = transform_unit(original, transform)
            if moved is None:
                continue
            new = dict(moved.files)
            relabels = transform.relabels_layers
            if relabels not in cache:
                cache[relabels] = identities(before_findings, original, base_root, relabels)
            root = workdir / transform.name / uid.replace("/", "__")
            after = identities(lint_tree(root, new, config), new, root, relabels,
                               dict(moved.origins))
            changed = {rel: text for rel, text in new.items() if text != original.get(rel)}
            pairs.append(Pair(uid, transform.name, cache[relabels], after, changed))
    return pairs


def rates(pairs: list[Pair]) -> dict[str, tuple[int, int]]:
    """transform name (and "overall") -> (invariant pairs, applied pairs)."""
    out: dict[str, tuple[int, int]] = {}
    for pair in pairs:
        ok, total = out.get(pair.transform, (0, 0))
        out[pair.transform] = (ok + pair.invariant, total + 1)
    ok = sum(p.invariant for p in pairs)
    out["overall"] = (ok, len(pairs))
    return out


def report(pairs: list[Pair]) -> str:
    lines = ["metamorphic invariance (pairs invariant / pairs applied):"]
    for name, (ok, total) in rates(pairs).items():
        lines.append(f"  {name:<26} {ok:>3}/{total:<3} {ok / total:6.1%}")
    loud = [p for p in pairs if p.before]
    ok = sum(p.invariant for p in loud)
    lines.append(f"  {'(originals with findings)':<26} {ok:>3}/{len(loud):<3} "
                 f"{ok / max(1, len(loud)):6.1%}")
    for pair in pairs:
        if not pair.invariant:
            lines.append(f"  CHANGED {pair.key}: {pair.diff()}")
    return "\n".join(lines)


if __name__ == "__main__":  # python tests/metamorphic/harness.py [transform] [unit]
    import tempfile

    wanted = set(sys.argv[1:])
    chosen = tuple(t for t in TRANSFORMS if not wanted or t.name in wanted) or TRANSFORMS
    chosen_units = [u for u in UNITS if not wanted or u[0] in wanted] or UNITS
    with tempfile.TemporaryDirectory() as tmp:
        result = run_all(Path(tmp), chosen, chosen_units)
        print(report(result))
        if "--show" in wanted or len(sys.argv) > 2:
            for pair in result:
                for rel, text in pair.sources.items():
                    print(f"----- {pair.key} {rel}\n{text}")
