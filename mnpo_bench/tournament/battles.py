"""Judgments of policy-vs-policy pairs → battles in FastChat's schema.

One battle per persona verdict and presentation order. `model_a` is the policy of the pair's response a,
`order` says which was shown first ("ab": model_a first, "ba": model_b first), and `prob_a` is the
probability that model_a wins, so P(first shown wins) measures position bias. A failed judgment stays a
battle with `winner` null and `error` set: counted as a failure, never a tie.
"""

from __future__ import annotations

import pandas as pd

PAIR_COLUMNS = ["prompt_id", "prompt", "gold", "meta", "response_a_id", "response_a", "response_b_id", "response_b"]
BATTLE_COLUMNS = ["model_a", "model_b", "winner", "prompt_id", "annotator", "order", "prob_a", "len_a", "len_b",
                  "response_a_id", "response_b_id", "error"]
WINNER = {"a": "model_a", "b": "model_b", "tie": "tie"}


def judgments_to_battles(judgments: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Battles (BATTLE_COLUMNS) from a judgments table whose response ids are rows of `responses`
    (columns response_id, policy, text)."""
    info = responses.set_index("response_id")
    a, b = judgments["response_a_id"], judgments["response_b_id"]
    return pd.DataFrame({
        "model_a": info.loc[a, "policy"].to_numpy(),
        "model_b": info.loc[b, "policy"].to_numpy(),
        "winner": judgments["label"].map(WINNER).to_numpy(dtype=object),  # null label (failure) stays null
        "prompt_id": judgments["prompt_id"].to_numpy(),
        "annotator": judgments["persona"].to_numpy(),
        "order": judgments["order"].to_numpy(),
        "prob_a": judgments["prob_a"].astype("float64").to_numpy(),
        "len_a": info.loc[a, "text"].str.len().to_numpy(),
        "len_b": info.loc[b, "text"].str.len().to_numpy(),
        "response_a_id": a.to_numpy(),
        "response_b_id": b.to_numpy(),
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
