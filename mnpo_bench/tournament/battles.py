"""Judgments of policy-vs-policy pairs → battles in FastChat's schema.

One battle per persona verdict and presentation order. `model_a` is the policy of the pair's response a,
`order` says which was shown first ("ab": model_a first, "ba": model_b first), and `prob_a` is the
probability that model_a wins, so P(first shown wins) measures position bias. A failed judgment stays a
battle with `winner` null and `error` set: counted as a failure, never a tie.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from mnpo_bench.schemas import BATTLE_COLUMNS, PAIR_COLUMNS
from mnpo_bench.seeds import stream_seed

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


def policy_pairs(prompts: pd.DataFrame, responses: pd.DataFrame, *, max_pairs: int | None = None,
                 seed: int = 0) -> pd.DataFrame:
    """Every cross-policy pair of answers on every prompt, as a pairs table for the panel
    (prompt_id, prompt, gold, meta, response_a_id, response_a, response_b_id, response_b).

    With k answers per policy, each pair of policies meets k_a * k_b times per prompt. max_pairs keeps at
    most that many of them per (prompt, policy pair): a balanced subsample (`balanced_subsample`) drawn from a
    stream seeded by (seed, prompt id, policy pair), so it does not change when other policies are added.
    """
    policies = sorted(responses["policy"].unique())
    groups = {key: group for key, group in responses.sort_values("response_id").groupby(["prompt_id", "policy"])}
    rows = []
    for prompt in prompts.itertuples(index=False):
        for i, first in enumerate(policies):
            for second in policies[i + 1:]:
                a_rows, b_rows = groups.get((prompt.prompt_id, first)), groups.get((prompt.prompt_id, second))
                if a_rows is None or b_rows is None:
                    continue
                combos = list(itertools.product(range(len(a_rows)), range(len(b_rows))))
                if max_pairs is not None and len(combos) > max_pairs:
                    rng = np.random.default_rng(stream_seed(seed, prompt.prompt_id, first, second))
                    combos = balanced_subsample(len(a_rows), len(b_rows), max_pairs, rng)
                for ia, ib in combos:
                    a, b = a_rows.iloc[ia], b_rows.iloc[ib]
                    rows.append({"prompt_id": prompt.prompt_id, "prompt": prompt.prompt, "gold": prompt.gold,
                                 "meta": prompt.meta, "response_a_id": a["response_id"], "response_a": a["text"],
                                 "response_b_id": b["response_id"], "response_b": b["text"]})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def balanced_subsample(k_a: int, k_b: int, size: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """`size` distinct answer pairs (i, j), i < k_a, j < k_b, spread evenly over the answers, sorted: pair n
    (n = 0, 1, ...) is i = (t + n) mod k_a, j = (s + n + n // L) mod k_b with L = lcm(k_a, k_b) and seeded
    offsets t, s. Within each block of L pairs every answer is used equally often and the shift n // L moves
    the next block onto unused pairs, so the first k_a * k_b pairs are the whole grid (distinct: equal i and
    j would need equal blocks, then n = n' mod L). With k_a = k_b = k and size = k it is a random matching.

    Measured on the smoke experiment's battles, the noise of a policy's score against the reference is almost
    all per answer (which answer was sampled), not per pair: k matched pairs estimate it nearly as well as all
    k^2 (docs/experiment.md). A uniform subsample uses some answers twice and leaves others out; this one uses
    each answer the same number of times, within one.
    """
    t, s = int(rng.integers(k_a)), int(rng.integers(k_b))
    block = math.lcm(k_a, k_b)
    return sorted(((t + n) % k_a, (s + n + n // block) % k_b) for n in range(min(size, k_a * k_b)))


def identical_answers(responses: pd.DataFrame) -> pd.DataFrame:
    """For every pair of policies, the share of their answer pairs on a common prompt whose texts are
    identical: columns policy_a, policy_b, n_pairs, identical_share (a fraction in [0, 1])."""
    policies = sorted(responses["policy"].unique())
    rows = []
    for i, first in enumerate(policies):
        for second in policies[i + 1:]:
            a = responses.loc[responses["policy"] == first, ["prompt_id", "text"]]
            b = responses.loc[responses["policy"] == second, ["prompt_id", "text"]]
            joined = a.merge(b, on="prompt_id", suffixes=("_a", "_b"))
            share = float((joined["text_a"] == joined["text_b"]).mean()) if len(joined) else float("nan")
            rows.append({"policy_a": first, "policy_b": second, "n_pairs": len(joined), "identical_share": share})
    return pd.DataFrame(rows, columns=["policy_a", "policy_b", "n_pairs", "identical_share"])
