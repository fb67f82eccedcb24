"""Importers: other projects' verdicts as battles (FastChat's schema), chosen by `--from <source>`.

- `alpaca-eval DIR`: every `annotations.json` / `*annotations.json(.gz)` under DIR (or that one file), as
  AlpacaEval writes them: rows with instruction, output_1 (the baseline, generator_1), output_2 (the model,
  generator_2), annotator and preference (1 = output_1 wins, 2 = output_2 wins, 1.5 or 0 = tie, values in
  between = the judge's probability-weighted verdict, empty = no annotation). The model is named by the file
  (`<model>.annotations.json.gz`, or `results/<model>/<annotator>/annotations.json`), else by generator_2.
  prob_a = 2 - preference, so the win rate of model_b is AlpacaEval's mean(preference - 1).
- `arena FILE`: a Chatbot-Arena battle log (.json list, .jsonl, .parquet or .csv) with model_a, model_b,
  winner (model_a | model_b | tie | tie (bothbad)), question_id, and token counts in conv_metadata or the
  conversations where present. Model A is shown on the left, so order is "ab"; the annotator is "arena".
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.ratings.battles import read_battles_file
from mnpo_bench.registry import Registry

SOURCES: Registry = Registry("battles source")
SOURCES.add("alpaca-eval", "mnpo_bench.ratings.importers:read_alpaca_eval")
SOURCES.add("arena", "mnpo_bench.ratings.importers:read_arena")
ALPACA_KEYS = ("instruction", "output_1", "output_2", "generator_1", "generator_2", "preference")


def load_source(source: str, path: Path) -> pd.DataFrame:
    """Battles imported from `path` by the importer registered as `source`."""
    if source not in SOURCES:
        raise UserError(f"unknown battles source '{source}'", where="--from", fix=did_you_mean(source, SOURCES.names()))
    return SOURCES.get(source, where="--from")(Path(path))


def read_alpaca_eval(root: Path) -> pd.DataFrame:
    """Battles (one per annotation) from every AlpacaEval annotations file under `root`, leaving out (and
    counting in `attrs["notes"]`) annotations of a model against itself."""
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file() and p.name.endswith(("annotations.json", "annotations.json.gz")))
    if not root.exists() or not files:
        raise UserError("no AlpacaEval annotation files found", where=str(root),
                        fix="point --from alpaca-eval at a directory holding annotations.json or *.annotations.json.gz")
    battles = pd.concat([_alpaca_file(path) for path in files], ignore_index=True)
    itself = (battles["model_a"] == battles["model_b"]).to_numpy()
    notes = []
    if itself.any():  # AlpacaEval's results folder holds the baseline's own annotations (baseline vs itself)
        names = sorted(set(battles.loc[itself, "model_a"]))
        notes.append(f"skipped {int(itself.sum())} annotation(s) of a model against itself ({', '.join(names)}: "
                     f"the baseline's own folder)")
        battles = battles[~itself].reset_index(drop=True)
    if battles.empty:
        raise UserError("every annotation compares a model with itself", where=str(root),
                        fix="point --from alpaca-eval at annotations of models against a baseline")
    battles.attrs["notes"] = notes
    return battles


def _alpaca_file(path: Path) -> pd.DataFrame:
    try:
        with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as handle:
            rows = json.load(handle)
        frame = pd.DataFrame(rows)
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"cannot read AlpacaEval annotations ({exc})", where=str(path),
                        fix="it should be a JSON list of annotation rows, optionally gzipped") from None
    missing = [k for k in ALPACA_KEYS if k not in frame.columns]
    if missing:
        raise UserError(f"missing key(s) {', '.join(missing)}", where=str(path),
                        fix="AlpacaEval annotation rows have " + ", ".join(ALPACA_KEYS))
    preference = pd.to_numeric(frame["preference"].replace({"": None}), errors="coerce").replace({0.0: 1.5})
    bad = preference.notna() & ~preference.between(1.0, 2.0)
    unparsed = preference.isna() & frame["preference"].notna() & (frame["preference"].astype(str).str.strip() != "")
    if bad.any() or unparsed.any():
        row = int(np.flatnonzero((bad | unparsed).to_numpy())[0])
        raise UserError(f"preference {frame['preference'].iloc[row]!r} in row {row} is not in [1, 2]", where=str(path),
                        fix="preference is 1 (output_1 wins), 2 (output_2 wins), 1.5 or 0 (tie), or in between")
    model = _model_from_path(path, frame)
    winner = np.select([preference < 1.5, preference > 1.5, preference == 1.5], ["model_a", "model_b", "tie"], "")
    return pd.DataFrame({
        "model_a": frame["generator_1"].astype(str),
        "model_b": model if model is not None else frame["generator_2"].astype(str),
        "winner": pd.Series(winner).replace({"": None}),
        "prompt_id": frame["instruction"].map(_prompt_id),
        "annotator": frame["annotator"] if "annotator" in frame.columns else "alpaca_eval",
        "order": None,  # AlpacaEval randomises which output the judge sees first and does not record it
        "prob_a": 2.0 - preference,
        "len_a": frame["output_1"].astype(str).str.len(),
        "len_b": frame["output_2"].astype(str).str.len(),
        "error": np.where(preference.isna(), "no annotation", None),
        "source_row": np.arange(len(frame)),  # the row's position in its file: AlpacaEval's `index`
    })


def _model_from_path(path: Path, frame: pd.DataFrame) -> str | None:
    """The model an annotations file is about: from `<model>.annotations.json(.gz)`, or AlpacaEval's
    `results/<model>/<annotator>/annotations.json` (a nested `<model>` like "dpo/iter1" when generator_2 says
    so); None to use generator_2 row by row."""
    stem = path.name.removesuffix(".gz").removesuffix(".json").removesuffix("annotations").rstrip("._-")
    if stem:
        return stem
    generators = set(frame["generator_2"].astype(str))
    if len(generators) == 1:
        parts = PurePosixPath(generators.pop()).parts
        if parts and path.parent.parent.parts[-len(parts):] == parts:
            return "/".join(parts)
    annotators = set(frame["annotator"].astype(str)) if "annotator" in frame.columns else set()
    if path.parent.name in annotators and path.parent.parent.name:
        return path.parent.parent.name
    return None


def _prompt_id(instruction: object) -> str:
    return "ae-" + hashlib.sha1(str(instruction).encode()).hexdigest()[:12]


def read_arena(path: Path) -> pd.DataFrame:
    """Battles from a Chatbot-Arena battle log."""
    frame = read_battles_file(path)
    battles = pd.DataFrame({c: frame[c] for c in ("model_a", "model_b", "winner") if c in frame.columns})
    battles["prompt_id"] = frame["question_id"] if "question_id" in frame.columns else None
    battles["annotator"] = "arena"
    battles["order"] = "ab"
    battles["len_a"], battles["len_b"] = _arena_lengths(frame, "a"), _arena_lengths(frame, "b")
    return battles


def _arena_lengths(frame: pd.DataFrame, side: str) -> pd.Series | None:
    """Response length of side a/b: assistant tokens from conv_metadata, else characters of its turns."""
    if "conv_metadata" in frame.columns:
        return frame["conv_metadata"].map(lambda m: m.get(f"sum_assistant_{side}_tokens") if isinstance(m, dict) else None)
    if f"conversation_{side}" in frame.columns:
        def chars(turns: object) -> int | None:
            if not isinstance(turns, (list, np.ndarray)):
                return None
            return sum(len(str(t.get("content", ""))) for t in turns if isinstance(t, dict) and t.get("role") == "assistant")
        return frame[f"conversation_{side}"].map(chars)
    return None
