"""A game from a run: the panel's preference matrix over one prompt's samples (`mnpo-bench game --from-run`).

Kept apart from `matrices.py` because it reads the panel's aggregation (panel/): the planted games the
dashboard's Game lab page plays import nothing from the panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.game.matrices import Matrix, check
from mnpo_bench.panel.aggregate import pair_probs


def from_run(run: Path, prompt_id: str) -> Matrix:
    """The panel's matrix over one prompt's samples in run directory `run`: P[i, j] = the panel win rate of
    sample i over sample j (personas' prob_a averaged, then the two orders), from judgments.parquet. Every pair
    must have a verdict: a pair whose judgments all failed is an error, never a tie."""
    path = Path(run) / "judgments.parquet"
    if not path.exists():
        raise UserError("no judgments.parquet in this run", where=str(path), fix="run the annotate stage first")
    judgments = pd.read_parquet(path)
    rows = judgments[judgments["prompt_id"].astype(str) == str(prompt_id)]
    if rows.empty:
        known = sorted(judgments["prompt_id"].astype(str).unique())
        raise UserError(f"no judgments for prompt '{prompt_id}'", where="--prompt", fix=did_you_mean(prompt_id, known))
    pairs = pair_probs(rows, {}, "mean")
    labels = sorted(set(rows["response_a_id"].astype(str)) | set(rows["response_b_id"].astype(str)))
    index = {label: i for i, label in enumerate(labels)}
    n = len(labels)
    P = np.full((n, n), np.nan)
    np.fill_diagonal(P, 0.5)
    for r in pairs.itertuples():
        i, j = index[str(r.response_a_id)], index[str(r.response_b_id)]
        P[i, j], P[j, i] = r.prob_a, 1.0 - r.prob_a
    missing = np.argwhere(np.isnan(P))
    if len(missing):
        i, j = missing[0]
        raise UserError(f"pair ({labels[i]}, {labels[j]}) has no successful judgment", where=str(path),
                        fix="re-run annotate for this prompt or pick another --prompt")
    check(P, str(path))
    return Matrix(P, tuple(labels), f"{run} prompt {prompt_id}")
