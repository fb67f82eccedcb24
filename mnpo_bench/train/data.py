"""Preference data in TRL's format: read, check and normalise.

Accepted rows have `prompt`, `chosen`, `rejected`, each plain text or a conversational list of
{"role", "content"} messages (TRL's two formats), and optionally `prob` (the panel probability that
chosen beats rejected, in [0, 1]; 1.0 when absent) and `prompt_id`. Sources: a local `.parquet`,
`.jsonl` or `.json` file, or a Hugging Face dataset name (`hf:<name>` or `<name>`, optionally
`<name>:<split>`), which must already be in the local cache when offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pyarrow import ArrowException

from mnpo_bench.errors import UserError
from mnpo_bench.registry import Registry
from mnpo_bench.settings import read_text
from mnpo_bench.store import stable_hash

REQUIRED = ("prompt", "chosen", "rejected")
COLUMNS = ["prompt_id", "prompt", "chosen", "rejected", "prob"]


def read_preferences(source: str) -> pd.DataFrame:
    """Normalised preference rows from `source` (see module docstring): columns prompt_id, prompt
    (str or message list), chosen (str), rejected (str), prob (float), plus any extra columns kept."""
    path = Path(source).expanduser()
    if path.exists():
        frame = _read_file(path)
    elif path.suffix in (".parquet", ".jsonl", ".json") or source.startswith((".", "/", "~")):
        raise UserError("preference file not found", where=source, fix="check the path passed to --data")
    else:
        frame = _read_hub(source[3:] if source.startswith("hf:") else source)
    rows = normalise_preferences(frame, source)
    same = np.flatnonzero((rows["chosen"] == rows["rejected"]).to_numpy())
    if len(same):
        raise UserError(f"{len(same)} row(s) have chosen identical to rejected (first: row {int(same[0])})", where=source,
                        fix="drop those rows: a pair of identical responses says nothing about preference")
    return rows


def normalise_preferences(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """`frame` with TRL columns checked and responses reduced to plain text; UserError naming the field."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}", where=where,
                        fix="preference rows need prompt, chosen and rejected (TRL format)")
    if frame.empty:
        raise UserError("no preference rows", where=where, fix="give at least one row")
    out = frame.copy()
    out["prompt"] = [_prompt(p, f"{where}: row {i} field 'prompt'") for i, p in enumerate(out["prompt"])]
    for column in ("chosen", "rejected"):
        out[column] = [_response(v, f"{where}: row {i} field '{column}'") for i, v in enumerate(out[column])]
    if "prob" not in out.columns:
        out["prob"] = 1.0
    prob = pd.to_numeric(out["prob"], errors="coerce").astype(float)
    unreadable = prob.isna() & out["prob"].notna()
    if unreadable.any():
        raise UserError(f"row {int(np.flatnonzero(unreadable)[0])} field 'prob' is not a number", where=where,
                        fix="prob is the probability that chosen beats rejected, in [0, 1]")
    bad = prob.notna() & ((prob < 0) | (prob > 1))
    if bad.any():
        raise UserError(f"row {int(np.flatnonzero(bad)[0])} field 'prob' is outside [0, 1]", where=where,
                        fix="prob is the probability that chosen beats rejected")
    out["prob"] = prob.fillna(1.0)
    if "prompt_id" not in out.columns:
        out["prompt_id"] = [stable_hash(p) for p in out["prompt"]]
    out["prompt_id"] = out["prompt_id"].astype(str)
    return out[COLUMNS + [c for c in out.columns if c not in COLUMNS]].reset_index(drop=True)


def is_empty(text: str) -> bool:
    """True for a response with no visible text (the empty-response guard skips such pairs)."""
    return not str(text).strip()


def _read_file(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if path.suffix == ".json":
            records = json.loads(read_text(path, "preference file"))
            if not isinstance(records, list):
                raise UserError(f"expected a JSON list of rows, got a {type(records).__name__}", where=str(path),
                                fix="write [{\"prompt\": ..., \"chosen\": ..., \"rejected\": ...}, ...]")
            return pd.DataFrame(records)
    except (ValueError, OSError, ArrowException) as exc:
        raise UserError(f"cannot read preference file ({exc})", where=str(path), fix="give TRL-format rows") from None
    raise UserError(f"unsupported file type '{path.suffix}'", where=str(path), fix="use .parquet, .jsonl or .json")


def _read_hub(name: str) -> pd.DataFrame:
    dataset, _, split = name.partition(":")
    try:
        import datasets

        return datasets.load_dataset(dataset, split=split or "train").to_pandas()
    except Exception as exc:  # noqa: BLE001 - the hub raises many types; all mean "cannot load"
        raise UserError(f"cannot load dataset '{dataset}' ({type(exc).__name__})", where="--data",
                        fix="give a local file, or a dataset already in the Hugging Face cache when offline") from None


def _messages(value: Any) -> list[dict[str, str]] | None:
    """A message list from a list/array of {"role", "content"} mappings, else None."""
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) and all(
            isinstance(m, dict) and "role" in m and "content" in m for m in value):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in value]
    return None


def _prompt(value: Any, where: str) -> str | list[dict[str, str]]:
    if isinstance(value, str):
        return value
    messages = _messages(value)
    if messages is None:
        raise UserError("expected text or a list of chat messages", where=where, fix="use TRL's preference format")
    return messages


def _response(value: Any, where: str) -> str:
    """The response text: the string itself, or the content of the last assistant message."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""  # a missing response is empty; the empty-response guard skips the pair
    messages = _messages(value)
    if messages is None:
        raise UserError("expected text or a list of chat messages", where=where, fix="use TRL's preference format")
    return next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), messages[-1]["content"])


def best_vs_worst(pairs: pd.DataFrame) -> pd.DataFrame:
    """One pair per prompt, as in iterative DPO/INPO/SPPO: its best response against its worst, ranked by
    mean win probability over the prompt's labelled pairs (chosen scores `prob`, rejected `1 - prob`), but
    never against the panel's direct verdict.

    The pair is always one the panel decided, in the panel's orientation (a row with prob < 0.5 counts
    reversed; prob = 0.5 is undecided): among those, the one whose winner and loser differ most in mean
    score. That is (best, worst) when the panel judged best over worst directly. In a cycle (A > B > C > A,
    best A, worst C, but C > A directly) it is another decided pair, never (A, C). A prompt with no decided
    pair is skipped. Responses are identified by `chosen_id`/`rejected_id` when present, else by text.
    Rows keep every column of `pairs`; `attrs` of the result count "prompts", "skipped_prompts" (no decided
    pair) and "not_best_vs_worst" (prompts whose best-vs-worst pair contradicted or missed the panel).
    """
    has_ids = {"chosen_id", "rejected_id"} <= set(pairs.columns)
    rows, skipped, redirected = [], 0, 0
    groups = pairs.groupby("prompt_id", sort=False)
    for _, group in groups:
        ids_c = list(group["chosen_id"] if has_ids else group["chosen"])
        ids_r = list(group["rejected_id"] if has_ids else group["rejected"])
        probs = [float(p) for p in group["prob"]]
        scores: dict[str, list[float]] = {}
        for c, r, prob in zip(ids_c, ids_r, probs):
            scores.setdefault(c, []).append(prob)
            scores.setdefault(r, []).append(1.0 - prob)
        mean = {k: sum(v) / len(v) for k, v in scores.items()}
        decided = []  # (score gap, position, reversed?) of each decided row, in the panel's orientation
        for i, (c, r, prob) in enumerate(zip(ids_c, ids_r, probs)):
            if prob != 0.5:
                win, lose = (c, r) if prob > 0.5 else (r, c)
                decided.append((mean[win] - mean[lose], -i, prob < 0.5))
        if not decided:
            skipped += 1
            continue
        gap, neg_i, flip = max(decided)
        row = group.iloc[-neg_i].to_dict()
        if flip:  # every chosen*/rejected* column pair swaps (text, ids, win rates, sampler tags)
            swapped = {c: row["rejected" + c[len("chosen"):]] for c in row
                       if c.startswith("chosen") and "rejected" + c[len("chosen"):] in row}
            swapped.update({"rejected" + c[len("chosen"):]: row[c] for c in swapped})
            row.update(swapped, prob=1.0 - row["prob"])
        best, worst = max(mean, key=mean.get), min(mean, key=mean.get)
        picked = (row["chosen_id"], row["rejected_id"]) if has_ids else (row["chosen"], row["rejected"])
        redirected += picked != (best, worst)
        rows.append(row)
    out = pd.DataFrame(rows, columns=pairs.columns).reset_index(drop=True)
    out.attrs.update(prompts=groups.ngroups, skipped_prompts=skipped, not_best_vs_worst=redirected)
    return out


WIN_RATES = ("chosen_winrate", "rejected_winrate")


def add_win_rates(pairs: pd.DataFrame) -> pd.DataFrame:
    """`pairs` with each response's mean win rate against its prompt's K samples, as SPPO's release computes
    it (uclaml/SPPO scripts/compute_prob.py: the mean of row i of the K × K preference matrix, whose diagonal
    is ½): for a response y with labelled pairs against y_1..y_m of its prompt,
        w(y) = (½ + Σ_j P(y ≻ y_j)) / (m + 1),
    P(y ≻ y_j) being the row's `prob` (chosen) or 1 − `prob` (rejected). With every pair of K samples
    labelled, m = K − 1. Columns `chosen_winrate`, `rejected_winrate` (floats in [0, 1]); rows given with both
    columns (a dataset that carries the release's chosen_probs_win/lose) keep their own. Responses are
    identified by `chosen_id`/`rejected_id` when present, else by text."""
    if set(WIN_RATES) <= set(pairs.columns):
        given = pairs[list(WIN_RATES)].apply(pd.to_numeric, errors="coerce")
        if given.isna().any().any() or ((given < 0) | (given > 1)).any().any():
            raise UserError("chosen_winrate/rejected_winrate must be numbers in [0, 1]", where="preference rows",
                            fix="give each response's mean win rate against its prompt's samples, or drop both columns")
        return pairs
    has_ids = {"chosen_id", "rejected_id"} <= set(pairs.columns)
    out = pairs.reset_index(drop=True).copy()
    ids_c = list(out["chosen_id"] if has_ids else out["chosen"])
    ids_r = list(out["rejected_id"] if has_ids else out["rejected"])
    probs = out["prob"].astype(float).tolist()
    totals: dict[tuple[str, str], list[float]] = {}  # (prompt_id, response) -> [wins incl. the ½ of itself, games]
    for prompt, c, r, prob in zip(out["prompt_id"], ids_c, ids_r, probs):
        for who, win in ((c, prob), (r, 1.0 - prob)):
            entry = totals.setdefault((prompt, who), [0.5, 1.0])
            entry[0] += win
            entry[1] += 1.0
    rate = {key: wins / games for key, (wins, games) in totals.items()}
    out["chosen_winrate"] = [rate[(p, c)] for p, c in zip(out["prompt_id"], ids_c)]
    out["rejected_winrate"] = [rate[(p, r)] for p, r in zip(out["prompt_id"], ids_r)]
    return out


def all_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Every labelled pair, as is."""
    return pairs.reset_index(drop=True)


# a recipe's `pairs:` -> (preference rows -> the rows it trains on); imported on first use
SELECTIONS: Registry = Registry("pair selection")
SELECTIONS.add("all", "mnpo_bench.train.data:all_pairs")
SELECTIONS.add("best_vs_worst", "mnpo_bench.train.data:best_vs_worst")
