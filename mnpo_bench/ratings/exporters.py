"""Exporters: battles in other projects' formats, the inverse of importers.py.

`alpaca_annotations` turns the battles of every model against a baseline into AlpacaEval annotation rows:
instruction, output_1 (the baseline's answer), generator_1 (the baseline), dataset, output_2 (the model's
answer), generator_2 (the model), annotator (the persona), preference = 1 + P(the model wins), in [1, 2]
(1.5 a tie; empty for a failed judgment, which AlpacaEval drops as "not a preference", as we leave failures
out), plus our prompt_id, order ("ab": output_1 shown first) and error. A battle is scored exactly as the
leaderboard scores it (`check_battles`: prob_a where given, else the winner), so `alpaca_eval.metrics.
get_winrate` over one model's rows equals our win_rate_vs_ref of that model (times 100).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.ratings.battles import check_battles

ANNOTATION_KEYS = ("instruction", "output_1", "generator_1", "dataset", "output_2", "generator_2", "annotator",
                   "preference", "prompt_id", "order", "error")


def alpaca_annotations(battles: pd.DataFrame, baseline: str, *, instructions: Mapping[str, str],
                       texts: Mapping[str, str], datasets: Mapping[str, str] | None = None, soft: bool = True,
                       source: str = "battles") -> tuple[pd.DataFrame, int]:
    """AlpacaEval annotation rows (columns ANNOTATION_KEYS), one per battle between `baseline` and another
    model, in the battles' order; and the number of battles left out because neither side is the baseline.

    instructions: prompt_id -> prompt text; texts: response_id -> answer text; datasets: prompt_id -> family.
    A UserError names what is missing (the baseline, a prompt's text, an answer's text).
    """
    checked = check_battles(battles, source, soft=soft)
    if baseline not in checked.models:
        raise UserError(f"baseline '{baseline}' has no battles", where=source,
                        fix=did_you_mean(baseline, checked.models))
    frame, ref = checked.frame, checked.models.index(baseline)
    mine = ((frame["a"] == ref) | (frame["b"] == ref)).to_numpy()
    rows = frame[mine]
    base_is_a = (rows["a"] == ref).to_numpy()
    model = np.where(base_is_a, rows["b"], rows["a"])
    p_model = np.where(base_is_a, 1.0 - rows["score_a"], rows["score_a"])  # NaN for a failed judgment
    ids = {side: rows[f"response_{side}_id"].astype(object).to_numpy() for side in ("a", "b")}
    base_id, model_id = np.where(base_is_a, ids["a"], ids["b"]), np.where(base_is_a, ids["b"], ids["a"])
    order = rows["order"].astype(object).to_numpy()
    flipped = np.where(order == "ab", "ba", np.where(order == "ba", "ab", None))
    errors = battles["error"].to_numpy()[mine] if "error" in battles.columns else np.full(len(rows), None)
    prompt_ids = rows["prompt_id"].astype(object).to_numpy()
    out = pd.DataFrame({
        "instruction": _lookup(prompt_ids, instructions, "prompt text", source),
        "output_1": _lookup(base_id, texts, "answer text", source),
        "generator_1": baseline,
        "dataset": [None if datasets is None else datasets.get(p) for p in prompt_ids],
        "output_2": _lookup(model_id, texts, "answer text", source),
        "generator_2": [checked.models[m] for m in model],
        "annotator": rows["annotator"].astype(str).to_numpy(),
        "preference": np.where(rows["failed"].to_numpy(), np.nan, 1.0 + p_model),
        "prompt_id": prompt_ids,
        "order": np.where(base_is_a, order, flipped),
        "error": [None if e is None or (isinstance(e, float) and np.isnan(e)) else str(e) for e in errors],
    })
    return out, int((~mine).sum())


def _lookup(keys: np.ndarray, table: Mapping[str, str], what: str, source: str) -> list[str]:
    """`table[k]` for every key; a UserError naming the first key without an entry."""
    missing = [k for k in keys if k not in table]
    if missing:
        raise UserError(f"no {what} for {missing[0]!r} ({len(set(missing))} missing)", where=source,
                        fix="export from a run whose prompts.parquet and responses.parquet the battles came from")
    return [table[k] for k in keys]
