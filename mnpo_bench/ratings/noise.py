"""Texts that differ only by floating-point noise, so publishing a leaderboard leaves tracked files alone.

Re-running the same pipeline on another machine (another BLAS, thread count or CPU) changes the last digits
of fitted ratings; rewriting `leaderboards/<run>/` with such digits makes a fresh clone's `git status` dirty
with no change of meaning. Two texts are the same here when they split into the same words and their numbers
agree to a relative 1e-9 (absolute 1e-12 near zero).
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
REL_TOL = 1e-9
ABS_TOL = 1e-12


def same_up_to_float_noise(old: str, new: str) -> bool:
    """True when `old` and `new` have the same non-numeric text and their numbers, in order, are equal to
    within REL_TOL relative (ABS_TOL absolute); a different count of numbers is a change."""
    if old == new:
        return True
    if _NUMBER.split(old) != _NUMBER.split(new):
        return False
    a, b = _NUMBER.findall(old), _NUMBER.findall(new)
    return len(a) == len(b) and all(
        x == y or math.isclose(float(x), float(y), rel_tol=REL_TOL, abs_tol=ABS_TOL) for x, y in zip(a, b))


def keep_unchanged(existing: dict[str, str | None], fresh: dict[str, str]) -> dict[str, str]:
    """The files of `fresh` ({name: text}) that differ from `existing` ({name: text or None when absent})
    beyond float noise; the others need no writing."""
    return {name: text for name, text in fresh.items()
            if existing.get(name) is None or not same_up_to_float_noise(existing[name], text)}
