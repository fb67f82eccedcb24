"""Panel diagnostics: each persona's measured biases, agreement between personas, and non-transitivity.

- per persona: judgments, failures, failure rate, first-position rate (share of decided verdicts won by the
  response shown first), longer rate (share of decided verdicts between responses of different length
  won by the longer one), tie rate, mean latency (s), cost (USD), and this run's calls and cache hits;
- pairwise Cohen's kappa (sklearn) and raw agreement between personas over the comparisons both labelled;
- Krippendorff's alpha (krippendorff package, nominal labels a/b/tie) for the whole panel;
- the share of cyclic triads among each prompt's responses, for the panel and for each persona;
- the panel's non-transitivity (panel.cycles): cyclic triad share, Hodge curl share, mixed maximal lotteries.
"""

from __future__ import annotations

import math
import warnings
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from mnpo_bench.panel.aggregate import COMPARISON_KEYS, pair_probs
from mnpo_bench.panel.cycles import non_transitivity

LABEL_CODE = {"a": 0, "b": 1, "tie": 2}
TABLE_COLUMNS = ["persona", "judgments", "failed", "failure_rate", "first_position_rate", "longer_rate", "tie_rate",
                 "mean_latency_s", "cost_usd", "calls", "cache_hits"]


def persona_table(judgments: pd.DataFrame, pairs: pd.DataFrame, stats: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """One row per persona with its measured biases and costs (see module docstring)."""
    lengths = pairs.set_index(["prompt_id", "response_a_id", "response_b_id"])[["response_a", "response_b"]]
    frame = judgments.join(lengths, on=["prompt_id", "response_a_id", "response_b_id"])
    frame["len_a"] = frame["response_a"].fillna("").str.len()
    frame["len_b"] = frame["response_b"].fillna("").str.len()
    rows = []
    for persona, group in frame.groupby("persona", sort=True):
        failed = group["error"].notna()
        decided = group[~failed & group["label"].isin(["a", "b"])]
        first_won = (decided["label"] == "a") == (decided["order"] == "ab")
        uneven = decided[decided["len_a"] != decided["len_b"]]
        longer_won = (uneven["label"] == "a") == (uneven["len_a"] > uneven["len_b"])
        ok = group[~failed]
        extra = (stats or {}).get(persona, {})
        rows.append({
            "persona": persona, "judgments": len(group), "failed": int(failed.sum()),
            "failure_rate": float(failed.mean()) if len(group) else 0.0,
            "first_position_rate": _mean(first_won), "longer_rate": _mean(longer_won),
            "tie_rate": float((ok["label"] == "tie").mean()) if len(ok) else None,
            "mean_latency_s": float(group["latency_s"].mean()) if len(group) else None,
            "cost_usd": float(group["cost_usd"].sum()),
            "calls": extra.get("calls"), "cache_hits": extra.get("cache_hits"),
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _mean(series: pd.Series) -> float | None:
    return float(series.mean()) if len(series) else None


def agreement(judgments: pd.DataFrame) -> dict[str, Any]:
    """{"kappa": {p: {q: Cohen's kappa}}, "agreement": {p: {q: share of equal labels}}, "krippendorff_alpha"}
    over comparisons labelled by both personas (kappa is None where it is undefined)."""
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    ok = judgments[judgments["error"].isna() & judgments["label"].notna()]
    table = ok.pivot_table(index=COMPARISON_KEYS, columns="persona", values="label", aggfunc="first")
    names = list(table.columns)
    kappa: dict[str, dict[str, float | None]] = {n: {} for n in names}
    agree: dict[str, dict[str, float | None]] = {n: {} for n in names}
    for p, q in combinations(names, 2):
        both = table[[p, q]].dropna()
        value = None
        share = float((both[p] == both[q]).mean()) if len(both) else None
        if len(both) >= 2 and (both[p].nunique() > 1 or both[q].nunique() > 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                k = cohen_kappa_score(both[p], both[q], labels=list(LABEL_CODE))
            value = None if math.isnan(k) else float(k)
        kappa[p][q] = kappa[q][p] = value
        agree[p][q] = agree[q][p] = share
    alpha = None
    if len(names) >= 2 and len(table):
        data = table.apply(lambda col: col.map(LABEL_CODE)).to_numpy(dtype=float).T  # (personas, comparisons)
        pairable = (~np.isnan(data)).sum(axis=0) >= 2
        values = np.unique(data[:, pairable][~np.isnan(data[:, pairable])]) if pairable.any() else []
        if pairable.any() and len(values) > 1:
            alpha = float(krippendorff.alpha(reliability_data=data[:, pairable], level_of_measurement="nominal"))
    return {"kappa": kappa, "agreement": agree, "krippendorff_alpha": alpha}


def cyclic_triad_share(pair_table: pd.DataFrame) -> tuple[float | None, int]:
    """(share of cyclic triads, number of decided triads) among each prompt's responses, from a table of
    pair win rates (prompt_id, response_a_id, response_b_id, prob_a). A triad counts when all three of its
    pairs are decided (win rate != 0.5); it is cyclic when x beats y, y beats z and z beats x."""
    cyclic = decided = 0
    for _, group in pair_table.groupby("prompt_id", sort=False):
        beats: dict[tuple[str, str], bool] = {}
        for row in group.itertuples(index=False):
            if abs(row.prob_a - 0.5) > 1e-9:
                beats[(row.response_a_id, row.response_b_id)] = row.prob_a > 0.5
                beats[(row.response_b_id, row.response_a_id)] = row.prob_a < 0.5
        ids = sorted({i for key in beats for i in key})
        for x, y, z in combinations(ids, 3):
            edges = [(x, y), (y, z), (z, x)]
            if all(e in beats for e in edges):
                decided += 1
                wins = [beats[e] for e in edges]
                cyclic += all(wins) or not any(wins)
    return (cyclic / decided if decided else None), decided


def panel_diagnostics(judgments: pd.DataFrame, pairs: pd.DataFrame, weights: dict[str, float], aggregation: str,
                      stats: dict[str, dict[str, Any]] | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """(diagnostics dict for panel_diagnostics.json, per-persona table for panel_annotators.csv)."""
    table = persona_table(judgments, pairs, stats)
    panel_pairs = pair_probs(judgments, weights, aggregation)
    panel_share, panel_triads = cyclic_triad_share(panel_pairs)
    per_persona = {}
    for persona, group in judgments.groupby("persona", sort=True):
        share, _n = cyclic_triad_share(pair_probs(group, {persona: 1.0}, "mean"))
        per_persona[persona] = share
    table["cyclic_triad_share"] = table["persona"].map(per_persona)
    failed = judgments["error"].notna()
    diagnostics = {
        "counts": {"judgments": len(judgments), "failed": int(failed.sum()), "pairs": len(pairs),
                   "ties": int((judgments["label"] == "tie").sum())},
        "personas": table.to_dict(orient="records"),
        **agreement(judgments),
        "cyclic_triads": {"panel": panel_share, "panel_triads": panel_triads, "per_persona": per_persona},
        "non_transitivity": {"cyclic_triad_share": panel_share, "decided_triads": panel_triads,
                             **non_transitivity(panel_pairs)},
        "calls": stats or {},
    }
    return diagnostics, table
