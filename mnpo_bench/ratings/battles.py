"""Reading and checking battles files (FastChat's schema), and scoring each battle.

A battle is one verdict: `model_a, model_b, winner` with winner in `model_a | model_b | tie`, plus
`prompt_id, annotator, order ("ab"/"ba": which side was shown first), prob_a, len_a, len_b, error` where
known. A row whose winner is empty or whose `error` is set is a *failure*: it is kept for the annotator
report and left out of every rating, never counted as a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError

REQUIRED = ("model_a", "model_b", "winner")
OPTIONAL = ("prompt_id", "annotator", "order", "prob_a", "len_a", "len_b", "error")
WINNERS = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}  # FastChat writes "tie (bothbad)"
SCHEMA_FIX = "a battles file needs columns model_a, model_b, winner (model_a|model_b|tie)"
READERS = {
    ".parquet": lambda p: pd.read_parquet(p, engine="pyarrow"),
    ".jsonl": lambda p: pd.read_json(p, lines=True),
    ".json": lambda p: pd.read_json(p),
    ".csv": lambda p: pd.read_csv(p),
}


@dataclass
class Battles:
    """Checked battles: `frame` has every row (failures included) with model codes and a score."""

    frame: pd.DataFrame  # + columns a, b (int codes into models), score_a (float, NaN for failures), failed
    models: list[str]
    source: str

    @property
    def valid(self) -> pd.DataFrame:
        """The rows that count: not failed."""
        return self.frame[~self.frame["failed"].to_numpy()]


def read_battles_file(path: Path) -> pd.DataFrame:
    """The raw table in `path` (.parquet, .jsonl, .json or .csv); a UserError when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UserError("file not found", where=str(path), fix="check the path")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UserError(f"unknown battles format '{path.suffix}'", where=str(path), fix="use .parquet, .jsonl, .json or .csv")
    try:
        frame = reader(path)
    except Exception as exc:  # every reader has its own error types; all mean "unreadable"
        raise UserError(f"cannot read as {path.suffix[1:]} ({type(exc).__name__}: {exc})".replace("\n", " "),
                        where=str(path), fix="check the file is complete and in the format its suffix says") from None
    if not isinstance(frame, pd.DataFrame):
        raise UserError("expected a table of battles", where=str(path), fix=SCHEMA_FIX)
    return frame


def check_battles(raw: pd.DataFrame, source: str, *, soft: bool = True) -> Battles:
    """Validate `raw` and score it: score_a is prob_a where given (when `soft`), else 1 / ½ / 0 from winner.

    Raises one UserError naming `source`, the column and the fix for: missing columns, unknown winner values,
    empty model names, a model against itself, prob_a outside [0, 1], no valid battles, or a model whose
    battles all failed.
    """
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)} (has: {', '.join(map(str, raw.columns))})",
                        where=source, fix=SCHEMA_FIX)
    frame = pd.DataFrame({c: raw[c] for c in REQUIRED})
    for column in OPTIONAL:
        frame[column] = raw[column] if column in raw.columns else None
    for column in ("model_a", "model_b"):
        if frame[column].isna().any():
            raise UserError(f"column '{column}' is empty in {int(frame[column].isna().sum())} row(s)",
                            where=source, fix="name both models in every battle")
    frame["model_a"] = frame["model_a"].astype(str)
    frame["model_b"] = frame["model_b"].astype(str)
    same = frame["model_a"] == frame["model_b"]
    if same.any():
        raise UserError(f"{int(same.sum())} battle(s) pit a model against itself (e.g. '{frame.loc[same, 'model_a'].iloc[0]}')",
                        where=f"{source}: model_a/model_b", fix="drop those rows")
    winner = frame["winner"].astype(object).where(frame["winner"].notna(), None)
    winner = winner.map(lambda w: w.strip().lower() if isinstance(w, str) else w).replace({"": None})
    unknown = winner.notna() & ~winner.isin(list(WINNERS))
    if unknown.any():
        examples = ", ".join(repr(v) for v in pd.unique(winner[unknown])[:3])
        raise UserError(f"column 'winner' has {int(unknown.sum())} row(s) with unknown values ({examples})",
                        where=source, fix="use model_a, model_b or tie (leave it empty for a failed judgment)")
    frame["winner"] = winner.replace({"tie (bothbad)": "tie"})
    frame["prob_a"] = _numeric(frame["prob_a"], "prob_a", source)
    for column in ("len_a", "len_b"):
        frame[column] = _numeric(frame[column], column, source)
    bad_prob = frame["prob_a"].notna() & ~frame["prob_a"].between(0.0, 1.0)
    if bad_prob.any():
        raise UserError(f"column 'prob_a' has {int(bad_prob.sum())} value(s) outside [0, 1]", where=source,
                        fix="prob_a is the probability that model_a wins")
    error = frame["error"].astype(object)
    frame["error"] = error.where(error.notna() & (error.astype(str).str.strip() != ""), None)
    frame["failed"] = frame["winner"].isna().to_numpy() | frame["error"].notna().to_numpy()
    hard = frame["winner"].map(WINNERS).astype(float)
    use_prob = soft & frame["prob_a"].notna()
    frame["score_a"] = np.where(frame["failed"], np.nan, np.where(use_prob, frame["prob_a"], hard))
    frame["annotator"] = frame["annotator"].astype(object).where(frame["annotator"].notna(), "unknown").astype(str)
    return _encode(frame, source)


def _numeric(column: pd.Series, name: str, source: str) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce").astype(float)
    bad = values.isna() & column.notna()
    if bad.any():
        raise UserError(f"column '{name}' has non-numeric values (e.g. {column[bad].iloc[0]!r})", where=source,
                        fix=f"write {name} as a number or leave it empty")
    return values


def _encode(frame: pd.DataFrame, source: str) -> Battles:
    """Add integer model codes; refuse a table with no valid battle or a model with none."""
    codes, models = pd.factorize(pd.concat([frame["model_a"], frame["model_b"]], ignore_index=True), sort=True)
    n = len(frame)
    frame["a"], frame["b"] = codes[:n], codes[n:]
    models = [str(m) for m in models]
    valid = ~frame["failed"].to_numpy()
    if not valid.any():
        raise UserError(f"no valid battles ({n} row(s), all failed or without a winner)", where=source,
                        fix="check the judge's errors; a battles file needs at least one decided battle")
    counts = np.bincount(frame["a"].to_numpy()[valid], minlength=len(models))
    counts += np.bincount(frame["b"].to_numpy()[valid], minlength=len(models))
    empty = [m for m, c in zip(models, counts) if c == 0]
    if empty:
        raise UserError(f"model(s) {', '.join(empty)} have no valid battles (every row of theirs failed)",
                        where=source, fix="drop those models' rows or re-judge their battles")
    return Battles(frame=frame, models=models, source=source)
