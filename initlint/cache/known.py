"""Each file's findings under one state of its project, kept for the next run that links the
same files: how an editor opening a file of a project that ``initlint`` (or an earlier
editor session) has just checked shows its findings without loading the project's facts,
and how a commit hook after ``initlint .`` (or after saving the files in the editor, which
keeps them on save) reports on the committed files without linking the project.

A file's findings depend on nothing but its own text and settings and the facts of every
file linked with it. So they are kept under the code fingerprint, the file's real path and
settings, and the *state* of the linked files: each one's real path and facts key (which
hashes its content; open buffers count with their text). A run that links another set of
files, or any file with other contents, computes another state and finds nothing.

Findings are stored with the path the run spelled its file with, and relabelled on the way
out. A file whose findings name another file in their text (``models/x.py:12``) is not
kept: a run that spells that file otherwise would word the finding otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from initlint.cache.store import Cache
from initlint.core.findings import Finding

KIND = "run"  # entries live beside the run entries (their keys never meet: other prefixes)

#: What one state keeps: real path → (the id of the file's settings, its findings).
Kept = dict[str, tuple[str, tuple[Finding, ...]]]


def state(cache: Cache, files: Iterable[tuple[str, str]]) -> str:
    """The state of the linked ``files``: (real path, facts key) of each, in any order."""
    return cache.run_key("linked-files", sorted(files))


def _key(cache: Cache, state_key: str) -> str:
    return cache.run_key("findings-kept", [("", state_key)])


def store(cache: Cache, state_key: str, files: Iterable[tuple[str, str, Iterable[Finding]]],
          spellings: Iterable[str], merge: bool = False) -> int:
    """Keep each file's findings, all in one entry per state (a run of 3,000 files writes
    one file, not 3,000): ``files`` gives (its real path, the id of its settings
    (:func:`~initlint.cache.store.config_key`), its findings); ``spellings``, how the run spelled
    every linked file; ``merge``: add to what the state keeps already (an editor keeps one
    document at a time). Returns how many files' findings were kept."""
    names = {name for name in spellings if name}
    kept: Kept = dict(load(cache, state_key)) if merge else {}
    added = 0
    for real_path, config_id, found in files:
        found = tuple(found)
        if any(name in text for f in found for text in (f.message, f.why) for name in names):
            continue
        kept[real_path] = (config_id, found)
        added += 1
    if added:
        cache.put(KIND, _key(cache, state_key), kept)
    return added


def load(cache: Cache, state_key: str) -> Kept:
    """What ``state_key`` keeps (empty when nothing)."""
    hit = cache.get(KIND, _key(cache, state_key))
    return hit if isinstance(hit, dict) else {}


def findings_of(kept: Kept, real_path: str, config_id: str,
                path: str) -> tuple[Finding, ...] | None:
    """The findings ``kept`` for the file at ``real_path`` with these settings, spelled
    ``path``; None when it keeps none."""
    item = kept.get(real_path)
    if not (isinstance(item, tuple) and len(item) == 2 and item[0] == config_id
            and isinstance(item[1], tuple) and all(isinstance(f, Finding) for f in item[1])):
        return None
    return tuple(f if f.path == path else replace(f, path=path) for f in item[1])


def lookup(cache: Cache, state_key: str, real_path: str, config_id: str,
           path: str) -> tuple[Finding, ...] | None:
    """The findings kept under ``state_key`` for one file (see :func:`findings_of`)."""
    return findings_of(load(cache, state_key), real_path, config_id, path)
