"""From judgments to panel verdicts: per comparison, per pair, and preference rows.

Per comparison (pair x order) the panel's probability that `a` wins is
- mean: the weighted mean of the personas' prob_a;
- vote: the weighted share of votes for `a` (a tie vote counts half);
- sample: the one sampled persona's prob_a (the mean over the rows present).
Per pair, the panel win rate of `a` is the mean over the orders that have a verdict. Failed rows never
count, as a tie or otherwise; a pair whose every verdict failed has no win rate and no preference row.
"""

from __future__ import annotations

import pandas as pd

from mnpo_bench.panel.personas import Panel
from mnpo_bench.schemas import PREFERENCE_COLUMNS

COMPARISON_KEYS = ["prompt_id", "response_a_id", "response_b_id", "order"]
PAIR_KEYS = ["prompt_id", "response_a_id", "response_b_id"]


def comparison_probs(judgments: pd.DataFrame, weights: dict[str, float], aggregation: str) -> pd.DataFrame:
    """One row per comparison with a verdict: COMPARISON_KEYS, prob_a (panel P(a wins)), annotators."""
    ok = judgments[judgments["error"].isna() & judgments["prob_a"].notna()].copy()
    if ok.empty:
        return pd.DataFrame(columns=[*COMPARISON_KEYS, "prob_a", "annotators"])
    ok["w"] = ok["persona"].map(weights).fillna(1.0)
    if aggregation == "vote":
        ok["value"] = ok["label"].map({"a": 1.0, "b": 0.0, "tie": 0.5})
    else:
        ok["value"] = ok["prob_a"].astype(float)
    ok["wv"] = ok["w"] * ok["value"]
    grouped = ok.groupby(COMPARISON_KEYS, sort=False)
    out = grouped[["wv", "w"]].sum()
    out["prob_a"] = out["wv"] / out["w"]
    out["annotators"] = grouped["persona"].agg(lambda s: ",".join(sorted(set(s))))
    return out.reset_index()[[*COMPARISON_KEYS, "prob_a", "annotators"]]


def pair_probs(judgments: pd.DataFrame, weights: dict[str, float], aggregation: str) -> pd.DataFrame:
    """One row per pair with a verdict: PAIR_KEYS, prob_a (panel win rate of a over b, mean over orders),
    annotators (comma-joined personas whose verdicts counted)."""
    per_comparison = comparison_probs(judgments, weights, aggregation)
    if per_comparison.empty:
        return pd.DataFrame(columns=[*PAIR_KEYS, "prob_a", "annotators"])
    grouped = per_comparison.groupby(PAIR_KEYS, sort=False)
    out = grouped["prob_a"].mean().to_frame()
    out["annotators"] = grouped["annotators"].agg(lambda s: ",".join(sorted({n for x in s for n in x.split(",")})))
    return out.reset_index()


def preferences(judgments: pd.DataFrame, pairs: pd.DataFrame, panel: Panel) -> pd.DataFrame:
    """Preference rows (PREFERENCE_COLUMNS, TRL's prompt/chosen/rejected plus extras): one per pair the
    panel decided, chosen = the response with panel win rate > 0.5, prob = that win rate. Pairs the panel
    rates exactly 0.5 (ties) and pairs with no successful verdict give no row."""
    won = pair_probs(judgments, panel.weights, panel.aggregation)
    if won.empty:
        return pd.DataFrame(columns=PREFERENCE_COLUMNS)
    merged = won.merge(pairs[[*PAIR_KEYS, "prompt", "response_a", "response_b"]], on=PAIR_KEYS, how="left")
    decided = merged[(merged["prob_a"] - 0.5).abs() > 1e-9].copy()
    a_wins = decided["prob_a"] > 0.5
    decided["chosen"] = decided["response_a"].where(a_wins, decided["response_b"])
    decided["rejected"] = decided["response_b"].where(a_wins, decided["response_a"])
    decided["chosen_id"] = decided["response_a_id"].where(a_wins, decided["response_b_id"])
    decided["rejected_id"] = decided["response_b_id"].where(a_wins, decided["response_a_id"])
    decided["prob"] = decided["prob_a"].where(a_wins, 1.0 - decided["prob_a"]).astype(float)
    return decided[PREFERENCE_COLUMNS].reset_index(drop=True)
