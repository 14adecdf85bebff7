"""``--fix --verify``: a fix is kept only if every default-constructible model of its file
still builds after it, and, for a safe fix, draws the same initial values under a fixed
seed. The models are built by the runtime mode's isolated children
(:mod:`initlint.runtime.verify`): the user's code never runs in this process.

One child per fixed file builds its models from the text before, the text after all fixes,
and the text after each first-round fix alone; the fixes to blame are rejected and the file
is fixed again without them, until the result passes (or, at worst, nothing is applied).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from initlint.core.config import Config
from initlint.core.findings import Finding
from initlint.engine.fix import (
    FixResult,
    applicable,
    apply_fixes,
    fix_key,
    fix_text,
    with_edits,
)
from initlint.engine.lint import Parsed, lint_text
from initlint.runtime.verify import draw_texts

#: Under this seed, before and after (the runtime mode's default).
SEED = 0


def verified(result, config: Config, neighbours: Iterable[Parsed], unsafe: bool,
             isolate: bool = True):
    """``result`` (a :class:`initlint.engine.fix.FixResult`) with the fixes that break a model
    dropped, and a message for each in ``dropped``."""
    neighbours = list(neighbours)
    path, before = result.path, result.before
    first = [f for f in with_edits(before, lint_text(path, before, config, neighbours))
             if applicable(f.fix, unsafe)]
    draws = draw_texts(path, [before, result.after,
                              *(apply_fixes(before, [f]).text for f in first)], SEED, isolate)
    if draws.failure:
        return replace(result, dropped=(*result.dropped, f"{path}: fixes kept unverified "
                                        f"(--verify): its models could not be built "
                                        f"({draws.failure})"))
    if _passes(draws, 1, first):
        return result
    blamed = [(i, f) for i, f in enumerate(first, start=2) if not _passes(draws, i, [f])]
    messages = [f"{path}:{f.span.row}:{f.span.column}: {f.code} fix dropped (--verify): "
                f"{_why(draws, i)}" for i, f in blamed]
    current = fix_text(path, before, config, neighbours, unsafe,
                       reject={fix_key(before, f) for _, f in blamed}) if blamed else None
    if current is not None and current.changed:
        again = draw_texts(path, [before, current.after], SEED, isolate)
        if not again.failure and _passes(again, 1, first):
            return replace(current, dropped=(*current.dropped, *messages))
        draws = again
    elif current is not None:
        return replace(current, dropped=(*current.dropped, *messages))
    messages.append(f"{path}: every fix dropped (--verify): together they "
                    f"{_why(draws, 1)}")
    return FixResult(path, before, before, 0, result.findings, (*result.dropped, *messages))


def _passes(draws, index: int, fixes: list[Finding]) -> bool:
    """Version ``index`` builds every model the original builds, and, when all its fixes
    are safe, draws the same values."""
    safe = all(f.fix is not None and f.fix.applicability == "safe" for f in fixes)
    return not draws.broken(index) and not (safe and draws.redrawn(index))


def _why(draws, index: int) -> str:
    broken = draws.broken(index)
    if broken:
        name, error = sorted(broken.items())[0]
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        return f"`{name}`{more} no longer builds: {error}"
    names = draws.redrawn(index) or ["a model"]
    return f"a safe fix, yet `{names[0]}` draws different initial values under seed {SEED}"
