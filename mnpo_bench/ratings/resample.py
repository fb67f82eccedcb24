"""Cluster-bootstrap helpers over prompts for per-prompt quantities (the Nash gap, paired differences).

A resample draws the K prompts K times with replacement; a prompt drawn m times counts m times. The draws
are one multinomial matrix (R, K), so a statistic that is a weighted mean over prompts costs one matrix
product for all rounds.
"""

from __future__ import annotations

import numpy as np


def prompt_draws(k: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """(rounds, k) how often each of the k prompts is drawn in each round (rows sum to k)."""
    return rng.multinomial(k, np.full(k, 1.0 / k), size=rounds).astype(float)


def bootstrap_mean(per_prompt: np.ndarray, rounds: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(mean, lo, hi, prompts), each (n,): the mean over prompts of `per_prompt` (K, n; NaN = no value), its
    95% percentile interval from `rounds` cluster-bootstrap resamples of the K prompts, and the prompts
    with a value. lo/hi are NaN without rounds or without a value."""
    has = ~np.isnan(per_prompt)
    values = np.where(has, per_prompt, 0.0)
    count = has.sum(0)
    mean = np.divide(values.sum(0), count, out=np.full(count.shape, np.nan), where=count > 0)
    if rounds <= 0 or len(per_prompt) == 0:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan), count
    draws = prompt_draws(len(per_prompt), rounds, rng)  # (R, K)
    sums, counts = draws @ values, draws @ has  # (R, n)
    means = np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)
    lo, hi = percentiles(means)
    return mean, np.where(count > 0, lo, np.nan), np.where(count > 0, hi, np.nan), count


def percentiles(values: np.ndarray, q: tuple[float, float] = (2.5, 97.5)) -> tuple[np.ndarray, np.ndarray]:
    """The q percentiles over axis 0 of `values` (R, m), NaNs ignored (all NaN: NaN), with numpy's default
    linear interpolation. Our own because np.nanpercentile loops over columns in Python (slow at 2,000)."""
    ordered = np.sort(values, axis=0)  # NaNs sort last
    count = (~np.isnan(values)).sum(0)
    out = []
    for level in q:
        position = level / 100 * np.maximum(count - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        low = np.take_along_axis(ordered, below[None], 0)[0]
        high = np.take_along_axis(ordered, above[None], 0)[0]
        value = low + (high - low) * (position - below)
        out.append(np.where(count > 0, value, np.nan))
    return out[0], out[1]


