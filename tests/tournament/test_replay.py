"""Schedules replayed against a complete battles file: what they ask for, resuming, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from mnpo_bench.tournament.replay import replay_tournament
from tests.test_cli import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """6 policies with BT strengths 0, -0.5, ..., every pair on 10 prompts in both orders."""
    rng = np.random.default_rng(1)
    names = [f"m{i}" for i in range(6)]
    rows = []
    for p in range(10):
        for i in range(6):
            for j in range(i + 1, 6):
                for order in ("ab", "ba"):
                    win = rng.random() < expit(0.5 * (j - i))
                    rows.append((names[i], names[j], "model_a" if win else "model_b", f"p{p}", order))
    path = tmp_path_factory.mktemp("full") / "full.parquet"
    pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "prompt_id", "order"]).to_parquet(path)
    return path


def _key(frame: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, frame[["model_a", "model_b", "prompt_id", "order", "winner"]].astype(str).to_numpy()))


def test_unlimited_round_robin_replays_every_battle_once(full, tmp_path):
    result = replay_tournament(full, tmp_path / "rr", schedule="round_robin", budget=None, seed=0, reference=None,
                               bootstrap=0)
    assert _key(pd.read_parquet(tmp_path / "rr" / "battles.parquet")) == _key(pd.read_parquet(full))
    assert (result.calls, result.pairs_observed, result.pairs_total) == (300, 15, 15)


def test_baseline_meets_the_reference_only_and_the_report_says_so(full, tmp_path):
    replay_tournament(full, tmp_path / "b", schedule="baseline", budget=None, seed=0, reference="m2", bootstrap=0)
    battles = pd.read_parquet(tmp_path / "b" / "battles.parquet")
    assert ((battles.model_a == "m2") | (battles.model_b == "m2")).all() and len(battles) == 5 * 20
    report = (tmp_path / "b" / "report.md").read_text()
    assert "Schedule baseline" in report and "observed 5 of 15 pairs" in report and "imputed from Bradley-Terry" in report


@pytest.mark.parametrize("schedule", ["swiss", "active"])
def test_a_larger_budget_continues_the_smaller_one(full, tmp_path, schedule):
    small = replay_tournament(full, tmp_path / "s", schedule=schedule, budget=60, seed=3, reference=None,
                              bootstrap=0, stop_when_separated=False)
    large = replay_tournament(full, tmp_path / "l", schedule=schedule, budget=150, seed=3, reference=None,
                              bootstrap=0, stop_when_separated=False)
    assert small.calls == 60 and large.calls == 150 and small.stopped == "budget"
    first = pd.read_parquet(tmp_path / "s" / "battles.parquet")
    again = pd.read_parquet(tmp_path / "l" / "battles.parquet").iloc[:60]
    assert _key(first) == _key(again)


@pytest.mark.parametrize("args, needle", [
    (["--schedule", "swis"], "tournament.schedule"),
    (["--budget", "-5"], "'tournament.budget': Input should be greater than or equal to 1 (got -5)"),
    (["--budget", "0"], "'tournament.budget': Input should be greater than or equal to 1 (got 0)"),
])
def test_bad_schedule_input_is_one_line(full, tmp_path, args, needle):
    result = run_cli("tournament", "--replay", str(full), "--out", str(tmp_path / "x"), *args)
    assert_one_line_error(result, needle)
    assert not (tmp_path / "x").exists()
