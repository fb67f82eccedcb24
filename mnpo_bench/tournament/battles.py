"""Judgments of policy-vs-policy pairs → battles in FastChat's schema.

One battle per persona verdict and presentation order. `model_a` is the model whose response was shown
first, so `P(winner == model_a)` measures position bias; `prob_a` is the probability that model_a wins.
A failed judgment stays a battle with `winner` null and `error` set: counted as a failure, never a tie.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PAIR_COLUMNS = ["prompt_id", "prompt", "gold", "meta", "response_a_id", "response_a", "response_b_id", "response_b"]
BATTLE_COLUMNS = ["model_a", "model_b", "winner", "prompt_id", "annotator", "order", "prob_a", "len_a", "len_b",
                  "response_a_id", "response_b_id", "error"]


def judgments_to_battles(judgments: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Battles (BATTLE_COLUMNS) from a judgments table whose response ids are rows of `responses`
    (columns response_id, policy, text)."""
    info = responses.set_index("response_id")
    first_is_a = judgments["order"].to_numpy() == "ab"
    shown_first = np.where(first_is_a, judgments["response_a_id"], judgments["response_b_id"])
    shown_second = np.where(first_is_a, judgments["response_b_id"], judgments["response_a_id"])
    prob_a = judgments["prob_a"].astype("float64").to_numpy()
    label = judgments["label"].to_numpy(dtype=object)
    same = {"a": "model_a", "b": "model_b", "tie": "tie"}
    swapped = {"a": "model_b", "b": "model_a", "tie": "tie"}
    winner = [
        None if lab is None or pd.isna(lab) else (same if a_first else swapped)[lab]
        for lab, a_first in zip(label, first_is_a)
    ]
    texts = info["text"]
    return pd.DataFrame({
        "model_a": info.loc[shown_first, "policy"].to_numpy(),
        "model_b": info.loc[shown_second, "policy"].to_numpy(),
        "winner": winner,
        "prompt_id": judgments["prompt_id"].to_numpy(),
        "annotator": judgments["persona"].to_numpy(),
        "order": judgments["order"].to_numpy(),
        "prob_a": np.where(first_is_a, prob_a, 1.0 - prob_a),
        "len_a": texts.loc[shown_first].str.len().to_numpy(),
        "len_b": texts.loc[shown_second].str.len().to_numpy(),
        "response_a_id": shown_first,
        "response_b_id": shown_second,
        "error": judgments["error"].to_numpy(dtype=object),
    }, columns=BATTLE_COLUMNS)


def policy_pairs(prompts: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Every unordered pair of policies on every prompt, as a pairs table for the panel
    (prompt_id, prompt, gold, meta, response_a_id, response_a, response_b_id, response_b)."""
    policies = sorted(responses["policy"].unique())
    by_prompt = responses.set_index(["prompt_id", "policy"])
    rows = []
    for prompt in prompts.itertuples(index=False):
        for i, first in enumerate(policies):
            for second in policies[i + 1:]:
                a, b = by_prompt.loc[(prompt.prompt_id, first)], by_prompt.loc[(prompt.prompt_id, second)]
                rows.append({"prompt_id": prompt.prompt_id, "prompt": prompt.prompt, "gold": prompt.gold,
                             "meta": prompt.meta, "response_a_id": a["response_id"], "response_a": a["text"],
                             "response_b_id": b["response_id"], "response_b": b["text"]})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
