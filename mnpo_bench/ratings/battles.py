"""Reading and checking battles files (FastChat's schema), and scoring each battle.

A battle is one verdict: `model_a, model_b, winner` with winner in `model_a | model_b | tie`, plus
`prompt_id, annotator, order ("ab"/"ba": which side was shown first), prob_a, len_a, len_b, response_a_id,
response_b_id, error` where known (response ids tell a policy's answers apart, for the Nash gap). A row whose winner is empty or whose `error` is set is a *failure*: it is kept for the annotator
report and left out of every rating, never counted as a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError

REQUIRED = ("model_a", "model_b", "winner")
OPTIONAL = ("prompt_id", "annotator", "order", "prob_a", "len_a", "len_b", "response_a_id", "response_b_id", "error")
OUTCOMES = ["model_a", "model_b", "tie"]
WINNER_NAME = {"tie (bothbad)": "tie"}  # FastChat's spelling of a tie where both answers are bad
WINNERS = OUTCOMES + list(WINNER_NAME)
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

    frame: pd.DataFrame  # a, b (codes into models), winner, prompt_id, annotator, order, response_a_id,
    # response_b_id (categorical),
    # prob_a, len_a, len_b, score_a (float; score_a is NaN for failures), failed (bool)
    models: list[str]
    source: str

    def __post_init__(self) -> None:
        self.valid = self.frame[~self.frame["failed"].to_numpy()]  # the rows that count


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
    for side in ("model_a", "model_b"):
        if raw[side].isna().any():
            raise UserError(f"column '{side}' is empty in {int(raw[side].isna().sum())} row(s)",
                            where=source, fix="name both models in every battle")
    frame = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    frame["model_a"] = pd.Categorical(raw["model_a"].astype(str))
    frame["model_b"] = pd.Categorical(raw["model_b"].astype(str))
    winner_codes, values = pd.factorize(raw["winner"], use_na_sentinel=True)  # code -1 = empty
    spelled = [str(v).strip().lower() for v in values]
    unknown = [v for v, norm in zip(values, spelled) if norm not in WINNERS and norm != ""]
    if unknown:
        count = int(np.isin(winner_codes, [list(values).index(v) for v in unknown]).sum())
        raise UserError(f"column 'winner' has {count} row(s) with unknown values ({', '.join(map(repr, unknown[:3]))})",
                        where=source, fix="use model_a, model_b or tie (leave it empty for a failed judgment)")
    outcome = np.array([OUTCOMES.index(WINNER_NAME.get(v, v)) if v else -1 for v in spelled] + [-1])[winner_codes]
    frame["winner"] = pd.Categorical.from_codes(outcome, categories=OUTCOMES)  # -1 = none
    for name in ("prompt_id", "annotator", "order", "response_a_id", "response_b_id"):
        frame[name] = (pd.Categorical(raw[name]) if name in raw.columns  # an absent column: all missing, no hashing
                       else pd.Categorical.from_codes(np.full(len(raw), -1), categories=pd.Index([], dtype=object)))
    if frame["annotator"].isna().any():
        frame["annotator"] = frame["annotator"].astype(str).where(frame["annotator"].notna(), "unknown").astype("category")
    for name in ("prob_a", "len_a", "len_b", "source_row"):  # source_row: an importer's row in its file
        frame[name] = _numeric(_column(raw, name), name, source).to_numpy()  # by position: raw may have any index
    bad_prob = frame["prob_a"].notna() & ~frame["prob_a"].between(0.0, 1.0)
    if bad_prob.any():
        raise UserError(f"column 'prob_a' has {int(bad_prob.sum())} value(s) outside [0, 1]", where=source,
                        fix="prob_a is the probability that model_a wins")
    error_codes, errors = pd.factorize(_column(raw, "error"), use_na_sentinel=True)
    has_error = np.array([bool(str(e).strip()) for e in errors] + [False])[error_codes]
    frame["failed"] = (outcome < 0) | has_error
    hard = np.array([1.0, 0.0, 0.5])[outcome]
    use_prob = soft & frame["prob_a"].notna().to_numpy()
    frame["score_a"] = np.where(frame["failed"], np.nan, np.where(use_prob, frame["prob_a"], hard))
    return _encode(frame, source)


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    """Column `name` of `raw`, or an all-empty one when the file does not have it."""
    return raw[name] if name in raw.columns else pd.Series(None, index=raw.index, dtype=object)


def _numeric(column: pd.Series, name: str, source: str) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce").astype(float)
    bad = values.isna() & column.notna()
    if bad.any():
        raise UserError(f"column '{name}' has non-numeric values (e.g. {column[bad].iloc[0]!r})", where=source,
                        fix=f"write {name} as a number or leave it empty")
    return values


def _encode(frame: pd.DataFrame, source: str) -> Battles:
    """Add integer model codes; refuse a table with no valid battle or a model with none."""
    names_a, names_b = frame["model_a"].cat.categories, frame["model_b"].cat.categories
    models = sorted(set(names_a) | set(names_b))
    index = {m: k for k, m in enumerate(models)}
    frame["a"] = np.array([index[m] for m in names_a], dtype=np.int64)[frame["model_a"].cat.codes.to_numpy()]
    frame["b"] = np.array([index[m] for m in names_b], dtype=np.int64)[frame["model_b"].cat.codes.to_numpy()]
    same = frame["a"].to_numpy() == frame["b"].to_numpy()
    if same.any():
        raise UserError(f"{int(same.sum())} battle(s) pit a model against itself (e.g. '{models[frame['a'][same].iloc[0]]}')",
                        where=f"{source}: model_a/model_b", fix="drop those rows")
    n = len(frame)
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
    return Battles(frame=frame.drop(columns=["model_a", "model_b"]), models=models, source=source)
