"""Prompts for a run: the built-in seeded families, a JSONL file, or a Hugging Face dataset.

The prompts table (`prompts.parquet`) has one row per prompt:
`prompt_id` (str), `split` ("train" | "eval"), `family` (str), `prompt` (str), `gold` (str or null) and
`meta` (a JSON object as text: answer_type, n_items, format, keywords, ... as the family defines).
Train and eval splits never share a prompt text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd

from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.prompts.families import FAMILIES
from mnpo_bench.settings import read_text
from mnpo_bench.store import stable_hash
from mnpo_bench.schemas import PROMPT_COLUMNS

COLUMNS = PROMPT_COLUMNS
MAX_MISSES = 2000  # repeated draws in a row after which a built-in family counts as exhausted


def load_prompts(config: PromptsConfig, seed: int) -> pd.DataFrame:
    """The run's prompts table (see module docstring), train rows first."""
    if config.source == "builtin":
        frame = builtin_prompts(config.families, config.n_train, config.n_eval, seed)
    elif config.source.startswith("hf:"):
        frame = hf_prompts(config.source[3:], config.hf_split, config.hf_field, config.n_train, config.n_eval, seed)
    else:
        frame = jsonl_prompts(Path(config.source), config.n_train, config.n_eval, seed)
    return frame[COLUMNS].reset_index(drop=True)


def builtin_prompts(families: list[str], n_train: int, n_eval: int, seed: int) -> pd.DataFrame:
    """`n_train + n_eval` distinct prompts cycling through `families`, drawn from `seed`."""
    for name in families:
        if name not in FAMILIES:
            raise UserError(f"unknown prompt family '{name}'", where="prompts.families", fix=did_you_mean(name, FAMILIES))
    rng = random.Random(seed)
    seen: set[str] = set()
    rows = []
    attempts = misses = 0  # misses: draws in a row that repeated a prompt
    while len(rows) < n_train + n_eval:
        attempts += 1
        family = families[len(rows) % len(families)]
        if attempts > 100 * (n_train + n_eval) or misses > MAX_MISSES:
            raise UserError(f"cannot draw {n_train} + {n_eval} distinct prompts: family '{family}' ran out after "
                            f"{len(rows)} prompts in all", where="prompts.n_train",
                            fix="ask for fewer, drop that family from prompts.families, or give a prompts file")
        item = FAMILIES[family](rng)
        if item.prompt in seen:
            misses += 1
            continue
        misses = 0
        seen.add(item.prompt)
        rows.append({"family": item.family, "prompt": item.prompt, "gold": item.gold, "meta": json.dumps(item.meta)})
    return _split(pd.DataFrame(rows), n_train, n_eval, seed)


def jsonl_prompts(path: Path, n_train: int, n_eval: int, seed: int) -> pd.DataFrame:
    """Prompts from a JSONL file: each line an object with `prompt` (or `instruction`) and optionally
    `prompt_id`, `split`, `family`, `gold`, `meta`, `demonstration` (a full reference answer, stored in meta).
    Rows with a `split` keep it; the rest are split."""
    if not path.exists():
        raise UserError("prompts file not found", where=str(path), fix="set prompts.source to an existing JSONL file")
    rows = []
    for number, line in enumerate(read_text(path, "prompts file").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc.msg})", where=where, fix="one JSON object per line") from None
        if not isinstance(row, dict):
            raise UserError("expected a JSON object", where=where)
        text = row.get("prompt", row.get("instruction"))
        if not isinstance(text, str) or not text.strip():
            raise UserError("field 'prompt' is missing or empty", where=where, fix="give each row a non-empty 'prompt'")
        split = row.get("split")
        if split not in (None, "train", "eval"):
            raise UserError(f"field 'split' is {split!r}", where=where, fix="use 'train' or 'eval', or leave it out")
        meta = row.get("meta", {})
        if not isinstance(meta, dict):
            raise UserError("field 'meta' must be an object", where=where)
        if "demonstration" in row:  # a full reference answer (SPIN's target), kept in meta
            if not isinstance(row["demonstration"], str) or not row["demonstration"].strip():
                raise UserError("field 'demonstration' must be non-empty text", where=where,
                                fix="give the reference answer as a string, or leave the field out")
            meta = {**meta, "demonstration": row["demonstration"]}
        if not isinstance(row.get("gold"), (str, int, float, type(None))) or isinstance(row.get("gold"), bool):
            raise UserError(f"field 'gold' is {type(row['gold']).__name__}", where=where,
                            fix="give the gold answer as text or a number, or leave it out")
        rows.append({
            "prompt_id": str(row["prompt_id"]) if "prompt_id" in row else None,
            "split": split, "family": str(row.get("family", "custom")), "prompt": text,
            "gold": None if row.get("gold") is None else str(row["gold"]), "meta": json.dumps(meta),
        })
    if not rows:
        raise UserError("no prompts in file", where=str(path))
    frame = pd.DataFrame(rows)
    ids = frame["prompt_id"].dropna()
    if ids.duplicated().any():
        raise UserError(f"duplicate prompt_id '{ids[ids.duplicated()].iloc[0]}'", where=str(path))
    if frame["split"].notna().all():
        frame["prompt_id"] = [pid or _pid(p) for pid, p in zip(frame["prompt_id"], frame["prompt"])]
        _check_disjoint(frame, str(path))
        return frame
    unique = frame.drop_duplicates("prompt")
    if len(unique) < n_train + n_eval:
        raise UserError(f"{len(unique)} distinct prompts, fewer than prompts.n_train + prompts.n_eval = "
                        f"{n_train} + {n_eval}", where=str(path),
                        fix=f"lower prompts.n_train / prompts.n_eval (e.g. n_train={max(1, len(unique) - max(1, len(unique) // 3))}, "
                            f"n_eval={max(1, len(unique) // 3)}) or add prompts")
    return _split(unique, n_train, n_eval, seed)


def hf_prompts(name: str, split: str, field: str, n_train: int, n_eval: int, seed: int) -> pd.DataFrame:
    """Prompts from column `field` of a Hugging Face dataset (needs network or a local dataset cache)."""
    import datasets

    try:
        data = datasets.load_dataset(name, split=split)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for a missing dataset
        raise UserError(f"cannot load dataset ({exc.__class__.__name__}: {exc})".splitlines()[0],
                        where=f"prompts.source=hf:{name}", fix="check the name, or unset HF_HUB_OFFLINE") from None
    if field not in data.column_names:
        raise UserError(f"no column '{field}'", where="prompts.hf_field", fix=did_you_mean(field, data.column_names))
    texts = list(dict.fromkeys(t for t in data[field] if isinstance(t, str) and t.strip()))
    frame = pd.DataFrame({"family": name, "prompt": texts, "gold": None, "meta": "{}"})
    return _split(frame, n_train, n_eval, seed)


def _pid(text: str) -> str:
    return "p" + stable_hash(text)[:10]


def _split(frame: pd.DataFrame, n_train: int, n_eval: int, seed: int) -> pd.DataFrame:
    """Shuffle with `seed`, then take disjoint train and eval rows."""
    if len(frame) < n_train + n_eval:
        n_eval = max(1, min(n_eval, len(frame) // 3))
        n_train = len(frame) - n_eval
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    shuffled = shuffled.iloc[: n_train + n_eval].copy()
    shuffled["split"] = ["train"] * n_train + ["eval"] * (len(shuffled) - n_train)
    if "prompt_id" not in shuffled or shuffled["prompt_id"].isna().any():
        shuffled["prompt_id"] = [_pid(p) for p in shuffled["prompt"]]
    _check_disjoint(shuffled, "prompts")
    return shuffled


def _check_disjoint(frame: pd.DataFrame, where: str) -> None:
    train = set(frame.loc[frame["split"] == "train", "prompt"])
    shared = train & set(frame.loc[frame["split"] == "eval", "prompt"])
    if shared:
        raise UserError(f"prompt in both train and eval: {sorted(shared)[0]!r}", where=where)
