"""The embedded default end to end: every stage runs, a re-run repeats nothing, and every method's every
online iteration learns its own training preferences (the mean log-ratio margin of chosen over rejected
grows from the iteration's first optimiser steps to its last).

Whether a final policy beats the reference is a measured result, not a property of the pipeline, so it is
not asserted here. On corpus v4 at seed 0 (3 iterations, 48 eval prompts, prompt-cluster bootstrap) none of
them does: mnpo/iter3 0.497 [0.489, 0.508], inpo/iter3 0.497 [0.488, 0.508], dpo/iter3 0.498 [0.486, 0.510];
the 5-seed experiments in leaderboards/experiments/ give the across-seed picture."""

from __future__ import annotations

import json
import statistics

import pandas as pd
import pytest

from mnpo_bench.config import load_config
from mnpo_bench.runner import run_pipeline
from mnpo_bench.train.metrics import read_metrics

pytestmark = pytest.mark.slow


def test_default_run_trains_every_method_and_repeats_nothing(tiny_policy, tmp_path):
    out, published = tmp_path / "default", tmp_path / "leaderboards"
    last = load_config(None, []).train.iterations  # 3: MNPO's k = 2 population is two past iterates at t = 3
    first = run_pipeline(None, [f"leaderboard.publish_dir={published}"], out=out, quiet=True)
    stages = {"prompts", "policy", "generate", "annotate", "tournament", "bench", "leaderboard"}
    assert stages <= set(first.ran)
    assert {f"train/{m}/iter{t}/fit" for m in ("mnpo", "inpo", "dpo") for t in range(1, last + 1)} <= set(first.ran)

    again = run_pipeline(None, [f"leaderboard.publish_dir={published}"], out=out, quiet=True)
    assert again.ran == [] and set(first.ran) == set(again.skipped)

    ratings = pd.read_csv(published / "default" / "ratings.csv").set_index("model")
    for method in ("mnpo", "inpo", "dpo"):
        row = ratings.loc[f"{method}/iter{last}"]
        assert row["win_rate_vs_ref_lo"] < row["win_rate_vs_ref"] < row["win_rate_vs_ref_hi"], row
    for method in ("mnpo", "inpo", "dpo"):
        rows = read_metrics(out / "train" / method / "metrics.jsonl")
        for t in range(1, last + 1):
            margins = [r["margin"] for r in rows if r["iteration"] == t and r["margin"] is not None]
            assert len(margins) >= 4, (method, t, len(margins))
            head, tail = margins[: len(margins) // 4], margins[-(len(margins) // 4):]
            assert statistics.fmean(tail) > statistics.fmean(head), (method, t, head, tail)
    policies = json.loads((out / "policies.json").read_text())
    assert set(policies) == {"reference"} | {f"{m}/iter{t}" for m in ("mnpo", "inpo", "dpo") for t in range(1, last + 1)}
    battles = pd.read_parquet(out / "battles.parquet")
    assert battles["winner"].notna().all()  # the default panel is local: no failed judgment
    assert set(battles["order"]) == {"ab", "ba"}
