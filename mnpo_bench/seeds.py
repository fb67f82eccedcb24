"""Seeds derived from the run seed and names: one stream per (policy, method, iteration, ...), stable across
processes (unlike Python's salted hash())."""

from __future__ import annotations

import hashlib


def stream_seed(seed: int, *names: str) -> int:
    """A seed in [0, 2**31) fixed by `seed` and `names` (stable across processes, unlike hash())."""
    digest = hashlib.sha256("|".join([str(seed), *map(str, names)]).encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1
