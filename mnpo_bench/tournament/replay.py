"""Replay a schedule against a complete battles file: `mnpo-bench tournament --replay FULL --schedule S`.

Each comparison the schedule asks for, (model_a, model_b, slot), is answered by one battle of that file for
the same pair: a slot is a prompt_id plus the k-th battle on it (the file may hold several per prompt: both
orders, several annotators), drawn without replacement in an order seeded per pair and prompt. A file
without prompt_id has slots 0, 1, ... per pair. A pair with fewer battles than a slot asks for is drawn from
with replacement, and a pair the file never has gives a failure (winner null). The result is written as a
tournament would be: DIR/battles.parquet, DIR/schedule.json and the leaderboard files.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.ratings.battles import check_battles, read_battles_file
from mnpo_bench.store import write_json, write_table
from mnpo_bench.tournament.schedule import ScheduleResult, run_schedule


class Replay:
    """Answers comparisons from a complete battles table."""

    def __init__(self, full: pd.DataFrame, seed: int):
        self.full = full.reset_index(drop=True)
        self.seed = seed
        a, b = self.full["model_a"].astype(str), self.full["model_b"].astype(str)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        prompt = self.full["prompt_id"].astype(str) if "prompt_id" in self.full.columns else pd.Series("", index=a.index)
        self.groups = {key: list(rows) for key, rows in self.full.groupby([lo, hi, prompt]).indices.items()}
        self.by_pair = {key: list(rows) for key, rows in self.full.groupby([lo, hi]).indices.items()}
        self.has_prompts = "prompt_id" in self.full.columns
        depth = max(len(rows) for rows in self.groups.values())
        prompts = sorted(prompt.unique())
        self.slots = [f"{p}#{k}" for p in prompts for k in range(depth)] if self.has_prompts else \
            [f"#{k}" for k in range(max(len(r) for r in self.by_pair.values()))]
        self.models = sorted(set(a) | set(b))

    def answer(self, matches: list[tuple[str, str, str]]) -> pd.DataFrame:
        """One battle of the file per asked (model_a, model_b, slot)."""
        rows, missing = [], []
        for a, b, slot in matches:
            prompt, k = slot.rsplit("#", 1)
            pair = (min(a, b), max(a, b))
            pool = self.groups.get((*pair, prompt)) if self.has_prompts else self.by_pair.get(pair)
            pool = pool or self.by_pair.get(pair)
            if not pool:
                missing.append({"model_a": a, "model_b": b, "winner": None, "error": "pair not in the replayed file"})
                continue
            order = random.Random(f"replay:{self.seed}:{pair}:{prompt}").sample(pool, len(pool))
            rows.append(order[int(k) % len(order)])
        frame = self.full.iloc[rows]
        return pd.concat([frame, pd.DataFrame(missing)], ignore_index=True) if missing else frame


def replay_tournament(full_path: Path, out: Path, *, schedule: str, budget: int | None, seed: int,
                      reference: str | None, bootstrap: int, soft: bool = True, lottery_width: float | None = None,
                      stop_when_separated: bool = True) -> ScheduleResult:
    """Replay `schedule` on the battles in `full_path`; writes DIR/battles.parquet, schedule.json and the
    leaderboard files (ratings.csv, diagnostics.json, report.md, ...). Returns the schedule's result."""
    from mnpo_bench.ratings.leaderboard import build_leaderboard

    full = read_battles_file(Path(full_path))
    check_battles(full, str(full_path), soft=soft)  # bad input fails here, before any work
    replay = Replay(full, seed)
    if reference is not None and reference not in replay.models:
        raise UserError(f"reference model '{reference}' has no battles", where=str(full_path),
                        fix="set leaderboard.reference to a model in the file")
    result = run_schedule(schedule, replay.models, replay.slots, replay.answer, budget=budget, calls_per_match=1,
                          seed=seed, reference=reference, lottery_width=lottery_width,
                          stop_when_separated=stop_when_separated)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    battles = result.battles.reset_index(drop=True)
    build_leaderboard(battles, out, reference=reference, bootstrap=bootstrap, seed=seed, soft=soft,
                      source=f"replay of {full_path}", schedule=result.note())
    write_table(out / "battles.parquet", battles)
    write_json(out / "schedule.json", {**result.note(), "seed": seed, "replayed": str(full_path)})
    return result
