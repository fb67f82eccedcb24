"""Non-transitivity of the panel on each prompt's responses (the policy's own K samples in training data).

Three measures, from the panel's pair win rates (prompt_id, response_a_id, response_b_id, prob_a):
- cyclic triad share: cyclic triads among decided triads (added by panel.diagnostics);
- Hodge curl share: per prompt with >= 3 responses, the share of the logit flow on the decided pairs that
  no score difference explains (ratings.diagnostics.cyclic_share, one battle per pair), averaged over
  those prompts with weights 1 (each prompt counts once);
- mixed maximal-lottery share: the share of prompts (>= 2 responses) whose panel maximal lottery over its
  responses (ratings.equilibria.maximal_lottery, maximum-entropy when not unique) puts more than 1e-6 on
  two or more responses. Undecided or missing pairs count as P = 1/2, so a tie for the best is mixed too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mnpo_bench.ratings.diagnostics import cyclic_share
from mnpo_bench.ratings.equilibria import maximal_lottery

MASS = 1e-6  # lottery mass below this is no support


def prompt_matrix(group: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(P, N), each (n, n) over the prompt's responses in sorted id order: P[i, j] = panel P(i beats j)
    (1/2 where not decided or not compared), N[i, j] = 1 where the pair was decided."""
    ids = sorted(set(group["response_a_id"]) | set(group["response_b_id"]))
    index = {r: i for i, r in enumerate(ids)}
    P = np.full((len(ids), len(ids)), 0.5)
    N = np.zeros_like(P)
    for row in group.itertuples(index=False):
        i, j = index[row.response_a_id], index[row.response_b_id]
        P[i, j], P[j, i] = row.prob_a, 1.0 - row.prob_a
        N[i, j] = N[j, i] = float(abs(row.prob_a - 0.5) > 1e-9)
    return P, N


def non_transitivity(pair_table: pd.DataFrame) -> dict[str, Any]:
    """{"curl_share", "curl_prompts", "mixed_lottery_share", "lottery_prompts"} of the panel's pair win
    rates (see module docstring); shares are None without data."""
    curls, mixed, lotteries = [], 0, 0
    for _, group in pair_table.groupby("prompt_id", sort=False):
        P, N = prompt_matrix(group)
        if len(P) >= 3 and N.any():
            curls.append(cyclic_share(P, N))
        if len(P) >= 2:
            lotteries += 1
            mixed += int((maximal_lottery(P) > MASS).sum() >= 2)
    return {"curl_share": float(np.mean(curls)) if curls else None, "curl_prompts": len(curls),
            "mixed_lottery_share": mixed / lotteries if lotteries else None, "lottery_prompts": lotteries}
