"""Each file's findings under one state of its project, kept for the next run that links the
same files: how an editor opening a file of a project that ``initlint`` (or an earlier
editor session) has just checked shows its findings without loading the project's facts.

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

from initlint.cache import Cache
from initlint.findings import Finding

KIND = "run"  # entries live beside the run entries (their keys never meet: other prefixes)


def state(cache: Cache, files: Iterable[tuple[str, str]]) -> str:
    """The state of the linked ``files``: (real path, facts key) of each, in any order."""
    return cache.run_key("linked-files", sorted(files))


def _key(cache: Cache, state_key: str, real_path: str, config_id: str) -> str:
    return cache.run_key(f"findings-of|{config_id}", [(real_path, state_key)])


def store(cache: Cache, state_key: str, files: Iterable[tuple[str, str, Iterable[Finding]]],
          spellings: Iterable[str]) -> int:
    """Keep each file's findings: ``files`` gives (its real path, the id of its settings
    (:func:`~initlint.cache.config_key`), its findings); ``spellings``, how the run spelled
    every linked file. Returns how many files' findings were kept."""
    names = {name for name in spellings if name}
    kept = 0
    for real_path, config_id, found in files:
        found = tuple(found)
        if any(name in text for f in found for text in (f.message, f.why) for name in names):
            continue
        cache.put(KIND, _key(cache, state_key, real_path, config_id), found)
        kept += 1
    return kept


def lookup(cache: Cache, state_key: str, real_path: str, config_id: str,
           path: str) -> tuple[Finding, ...] | None:
    """The findings kept for the file at ``real_path`` under ``state_key``, spelled ``path``;
    None when there are none."""
    hit = cache.get(KIND, _key(cache, state_key, real_path, config_id))
    if not isinstance(hit, tuple) or not all(isinstance(f, Finding) for f in hit):
        return None
    return tuple(f if f.path == path else replace(f, path=path) for f in hit)
