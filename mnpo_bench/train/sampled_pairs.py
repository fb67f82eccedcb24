"""Preference rows of the loop shapes that do not label every pair among one policy's samples (shapes.py):
the cross pairs of two samplers (Nash-MD, XPO) and SPIN's demonstration pairs."""

from __future__ import annotations

import pandas as pd

from mnpo_bench.prompts.demonstrations import demonstration

COLUMNS = ["prompt_id", "prompt", "chosen", "rejected", "prob", "annotators", "chosen_id", "rejected_id",
           "chosen_other", "rejected_other"]


def cross_pairs(rows: pd.DataFrame, other_ids: set[str]) -> pd.DataFrame:
    """The preference `rows` pairing one response of `other_ids` (the other sampler's) with one that is not,
    with `chosen_other` and `rejected_other` (1.0 on the other sampler's side, else 0.0)."""
    chosen = rows["chosen_id"].isin(other_ids)
    rejected = rows["rejected_id"].isin(other_ids)
    keep = chosen != rejected
    out = rows[keep].copy()
    out["chosen_other"], out["rejected_other"] = chosen[keep].astype(float), rejected[keep].astype(float)
    return out.reset_index(drop=True)


def demonstration_pairs(prompts: pd.DataFrame, generations: pd.DataFrame) -> pd.DataFrame:
    """SPIN's rows: for every sample of a prompt that has a demonstration (prompts/demonstrations.py), the
    demonstration as chosen against the sample, prob 1, `chosen_other` 1. A sample equal to the demonstration
    is dropped (there is nothing to tell apart)."""
    by_id = prompts.set_index("prompt_id")
    rows = []
    for g in generations.itertuples(index=False):
        if g.prompt_id not in by_id.index:
            continue
        info = by_id.loc[g.prompt_id]
        demo = demonstration(info["gold"], info["meta"])
        if demo is None or demo.strip() == str(g.text).strip():
            continue
        rows.append({"prompt_id": g.prompt_id, "prompt": info["prompt"], "chosen": demo, "rejected": g.text,
                     "prob": 1.0, "annotators": "demonstration", "chosen_id": f"demonstration-{g.prompt_id}",
                     "rejected_id": g.response_id, "chosen_other": 1.0, "rejected_other": 0.0})
    return pd.DataFrame(rows, columns=COLUMNS)
