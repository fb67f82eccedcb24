"""Paired comparisons of every two models over the same prompts (paired.csv).

A model's score on a prompt is its mean score over that prompt's battles: against the reference
(`win_rate_vs_ref`), or against the field (`win_rate`: the mean over the opponents it met there of its mean
score against each, so every opponent weighs the same). For models i and j, the per-prompt difference
d_p = score_i(p) - score_j(p) on the prompts where both have a score pairs them on the same questions. Per pair:

- diff: the mean of d_p; diff_lo/diff_hi: 2.5/97.5% percentiles of a cluster bootstrap over prompts (each
  drawn prompt counts as often as drawn), the same resampling as the leaderboard's intervals;
- t, p_value: the paired t-test over prompts, t = mean(d) / (sd(d) / sqrt(n)) with n - 1 degrees of freedom,
  two-sided (scipy's t distribution; the same numbers as scipy.stats.ttest_rel on the paired scores);
- p_holm: Holm's step-down adjustment over all pairs of the metric (equal to statsmodels' multipletests
  with method="holm"), which controls the family-wise error rate; `significant` is p_holm < 0.05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mnpo_bench.ratings.battles import Battles
from mnpo_bench.ratings.resample import percentiles, prompt_draws

ALPHA = 0.05
COLUMNS = ["metric", "model_a", "model_b", "n_prompts", "diff", "diff_lo", "diff_hi", "t", "p_value", "p_holm",
           "significant"]


def prompt_scores(battles: Battles, reference: int | None) -> dict[str, np.ndarray]:
    """{metric: (K, n)} each model's score on each prompt (NaN where it has none), in [0, 1]: win_rate
    against the field and, with a reference, win_rate_vs_ref (the reference itself gets NaN)."""
    valid, n = battles.valid, len(battles.models)
    prompt = valid["prompt_id"].cat.codes.to_numpy().astype(np.int64)
    prompt = np.where(prompt < 0, 0, prompt)  # no prompt ids: one prompt
    k = int(prompt.max()) + 1
    a, b, s = valid["a"].to_numpy(), valid["b"].to_numpy(), valid["score_a"].to_numpy()
    size = k * n * n
    ab, ba = (prompt * n + a) * n + b, (prompt * n + b) * n + a
    won = (np.bincount(ab, s, size) + np.bincount(ba, 1 - s, size)).reshape(k, n, n)
    met = (np.bincount(ab, minlength=size) + np.bincount(ba, minlength=size)).reshape(k, n, n)
    P = won / np.maximum(met, 1)  # (K, n, n) mean score of i vs j; 0 where they did not meet (won is 0 there)
    opponents = (met > 0).sum(-1)
    field = np.divide(P.sum(-1), opponents, out=np.full((k, n), np.nan), where=opponents > 0)
    scores = {"win_rate": field}
    if reference is not None:
        vs_ref = np.where(met[:, :, reference] > 0, P[:, :, reference], np.nan)
        vs_ref[:, reference] = np.nan
        scores["win_rate_vs_ref"] = vs_ref
    return scores


def paired_differences(scores: np.ndarray, rounds: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Paired statistics for every pair (i, j), i < j, of the columns of `scores` (K prompts, n models; NaN =
    no score): {i, j, n_prompts, diff, diff_lo, diff_hi, t, p_value}, each (n(n-1)/2,). diff is in score units;
    the interval resamples prompts (`rounds` rounds from `rng`; NaN without rounds); p_value is the two-sided
    paired t-test over the prompts where both have a score (NaN with fewer than 2 or no variance)."""
    k, n = scores.shape
    i, j = np.triu_indices(n, 1)
    both = ~np.isnan(scores[:, i]) & ~np.isnan(scores[:, j])  # (K, pairs)
    filled = np.nan_to_num(scores)
    d = np.where(both, filled[:, i] - filled[:, j], 0.0)  # (K, pairs)
    count = both.sum(0)
    diff = np.divide(d.sum(0), count, out=np.full(count.shape, np.nan), where=count > 0)
    # paired t: our own nan-aware vectorised mean and SD over ~thousands of pairs; the t distribution from scipy
    square = np.where(both, (d - np.nan_to_num(diff)) ** 2, 0.0).sum(0)
    sd = np.sqrt(np.divide(square, count - 1, out=np.full(count.shape, np.nan), where=count > 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(sd > 0, diff / (sd / np.sqrt(count)), np.nan)
    p_value = np.where(np.isfinite(t), 2 * stats.t.sf(np.abs(t), np.maximum(count - 1, 1)), np.nan)
    lo = hi = np.full(count.shape, np.nan)
    if rounds > 0 and k > 0:
        draws = prompt_draws(k, rounds, rng)  # (R, K)
        if both.all():  # every pair scored on every prompt: each round's count is k
            means = (draws @ d) / k  # (R, pairs)
        else:
            sums, counts = draws @ d, draws @ both.astype(float)  # (R, pairs)
            means = np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)
        lo, hi = percentiles(means)
    return {"i": i, "j": j, "n_prompts": count, "diff": diff, "diff_lo": lo, "diff_hi": hi, "t": t, "p_value": p_value}


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (NaN kept NaN): sorted ascending, the k-th smallest (k = 0..m-1) times (m - k),
    running maximum, capped at 1. Written here rather than calling statsmodels' multipletests(method="holm"),
    whose Holm branch runs gc.collect() on every call (0.2 s each with a large heap, measured); the tests check
    these numbers against multipletests."""
    adjusted = np.full(len(p_values), np.nan)
    have = np.flatnonzero(~np.isnan(p_values))
    order = have[np.argsort(p_values[have], kind="stable")]
    m = len(order)
    adjusted[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p_values[order]), 1.0)
    return adjusted


def paired_table(battles: Battles, reference: int | None, order: list[str], rounds: int, seed: int) -> pd.DataFrame:
    """paired.csv: COLUMNS, one row per metric and pair, model_a ranked above model_b in `order` (the
    leaderboard's order), so diff > 0 means the higher-ranked model scores more. Seeded by `seed`."""
    rng = np.random.default_rng([seed, 0x70616972])
    position = np.array([order.index(m) for m in battles.models])
    rank = np.argsort(position)  # model codes in leaderboard order
    frames = []
    for metric, scores in prompt_scores(battles, reference).items():
        keep = rank if metric == "win_rate" else rank[rank != reference]
        pairs = paired_differences(scores[:, keep], rounds, rng)
        frame = pd.DataFrame({"metric": metric, "model_a": [battles.models[m] for m in keep[pairs["i"]]],
                              "model_b": [battles.models[m] for m in keep[pairs["j"]]],
                              **{c: pairs[c] for c in ("n_prompts", "diff", "diff_lo", "diff_hi", "t", "p_value")}})
        frame["p_holm"] = holm(frame["p_value"].to_numpy())
        frame["significant"] = frame["p_holm"] < ALPHA
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[COLUMNS]
