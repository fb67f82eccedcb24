"""The annotators' own leaderboard: failures, agreement, position and length bias, and their ratings.

- agreement: over battles that other annotators also judged (same prompt, models and order), the share where
  this annotator's winner equals the majority winner of the others (battles where the others split evenly
  are left out); NaN with a single annotator or without prompt ids;
- position_bias: mean score of the side shown first (from `order`), 0.5 = no bias; NaN when order is unknown;
- length_bias: mean score of the longer response among battles whose lengths differ, 0.5 = no bias;
- failures: rows with an error or no winner; reported here, left out of every rating.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mnpo_bench.ratings.battles import Battles


def annotator_stats(battles: Battles) -> pd.DataFrame:
    """One row per annotator: n_battles, failures, failure_rate, tie_rate, agreement, position_bias,
    length_bias (rates are fractions in [0, 1])."""
    frame = battles.frame
    valid = battles.valid
    agreement = _agreement(valid)
    first = np.where(valid["order"] == "ab", valid["score_a"], np.where(valid["order"] == "ba", 1 - valid["score_a"], np.nan))
    differ = valid["len_a"].notna() & valid["len_b"].notna() & (valid["len_a"] != valid["len_b"])
    longer = np.where(differ, np.where(valid["len_a"] > valid["len_b"], valid["score_a"], 1 - valid["score_a"]), np.nan)
    per_row = pd.DataFrame({"annotator": valid["annotator"].to_numpy(), "first": first, "longer": longer,
                            "tie": (valid["winner"].cat.codes == 2).to_numpy(), "agree": agreement})
    grouped = per_row.groupby("annotator")
    stats = pd.DataFrame({
        "n_battles": grouped.size(),
        "tie_rate": grouped["tie"].mean(),
        "agreement": grouped["agree"].mean(),
        "position_bias": grouped["first"].mean(),
        "length_bias": grouped["longer"].mean(),
    })
    failures = frame.groupby("annotator")["failed"].agg(["sum", "size"])
    stats = stats.reindex(failures.index)
    stats["n_battles"] = stats["n_battles"].fillna(0).astype(int)
    stats.insert(1, "failures", failures["sum"].astype(int))
    stats.insert(2, "failure_rate", failures["sum"] / failures["size"])
    return stats.rename_axis("annotator").reset_index()


def _agreement(valid: pd.DataFrame) -> np.ndarray:
    """Per row: 1.0 if the annotator's winner equals the leave-one-out majority of the other annotators of the
    same battle, 0.0 if not, NaN when no other annotator judged it or the others split evenly."""
    if valid["prompt_id"].isna().all() or valid["annotator"].nunique() < 2:
        return np.full(len(valid), np.nan)
    verdict = np.array([1, -1, 0])[valid["winner"].cat.codes.to_numpy()]  # model_a, model_b, tie
    n = int(max(valid["a"].max(), valid["b"].max())) + 1
    prompt = pd.factorize(valid["prompt_id"])[0].astype(np.int64)
    order = pd.factorize(valid["order"])[0] + 1  # 0 = unknown
    key = ((prompt * n + valid["a"].to_numpy()) * n + valid["b"].to_numpy()) * 3 + order  # one battle, all annotators
    group = pd.factorize(key)[0]
    votes = {v: np.bincount(group, weights=(verdict == v).astype(float)) for v in (1, -1, 0)}
    others = {v: votes[v][group] - (verdict == v) for v in votes}  # leave this annotator out
    stacked = np.stack([others[1], others[-1], others[0]], axis=1)  # (rows, 3)
    top = stacked.max(1)
    unique_top = (stacked == top[:, None]).sum(1) == 1
    majority = np.array([1, -1, 0])[stacked.argmax(1)]
    defined = (stacked.sum(1) > 0) & unique_top
    return np.where(defined, (majority == verdict).astype(float), np.nan)


def rank_spread(per_annotator: pd.DataFrame) -> pd.DataFrame:
    """Per model: best and worst BT rank across annotators and the spread (worst - best) in places."""
    ranks = per_annotator.pivot(index="model", columns="annotator", values="rank")
    best, worst = ranks.min(axis=1), ranks.max(axis=1)
    return pd.DataFrame({"rank_best": best, "rank_worst": worst, "rank_spread": worst - best})
