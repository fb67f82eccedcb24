"""Bias modifiers laid on any backend's verdict, so a persona's bias is explicit and measurable.

In logit space, with z0 = logit(p), p the backend's P(first wins) (after the panel's shared-quality mix):

    z = (z0 + position + length * (len_first - len_second) / max(len_first, len_second)) / temperature

then p' = sigmoid(z) (temperature 0: 1, 0 or 0.5 by the sign of the numerator), and with probability
`noise` the verdict is flipped (p' -> 1 - p'). The flip is drawn from a generator seeded with the run seed
and the comparison's cache key, so the same seed always flips the same comparisons, whether the backend's
verdict came from the cache or was recomputed.
"""

from __future__ import annotations

import math
import random

CLIP = 1e-6


def sigmoid(z: float) -> float:
    """1 / (1 + exp(-z)), safe for any z."""
    z = max(-60.0, min(60.0, z))
    return 1.0 / (1.0 + math.exp(-z))


def logit(p: float) -> float:
    """log(p / (1 - p)) with p clipped to [1e-6, 1 - 1e-6]."""
    p = min(1.0 - CLIP, max(CLIP, p))
    return math.log(p / (1.0 - p))


def biased_prob(prob_first: float, *, position: float, length: float, temperature: float,
                len_first: int, len_second: int) -> float:
    """P(first wins) after position and length bias and temperature (formula in the module docstring)."""
    z = logit(prob_first)
    z += position
    longest = max(len_first, len_second)
    if longest:
        z += length * (len_first - len_second) / longest
    if temperature == 0:
        return 1.0 if z > 0 else 0.0 if z < 0 else 0.5
    return sigmoid(z / temperature)


def flip(noise: float, *, seed: int, key: str) -> bool:
    """Whether the comparison `key` is flipped under label noise `noise` for run `seed` (deterministic)."""
    return noise > 0 and random.Random(f"noise:{seed}:{key}").random() < noise


def label(prob_first: float, tie_margin: float) -> str:
    """"first", "second" or "tie" for a probability that the first response wins."""
    if abs(prob_first - 0.5) <= max(tie_margin, 1e-9):  # floor: float rounding of an exact 50/50
        return "tie"
    return "first" if prob_first > 0.5 else "second"
