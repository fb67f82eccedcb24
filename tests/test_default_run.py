"""The embedded default end to end: every stage runs, a re-run repeats nothing, and every trained method's
final policy wins more than half its battles against the reference under the panel.

Since the leaderboard's intervals resample prompts (a cluster bootstrap) rather than battles, the 95% interval
is honest about prompt-level noise. With 24 eval prompts dpo/iter2's reached just below 50% at seed 0 ([0.499,
0.537]); with the 48 of today every final policy's clears it (mnpo/iter2 0.513 [0.501, 0.526], inpo/iter2 0.516
[0.508, 0.528], dpo/iter2 0.513 [0.504, 0.528], measured). The interval claim is still not asserted for every
method: it is a measured result, not a property of the pipeline."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mnpo_bench.config import load_config
from mnpo_bench.runner import run_pipeline

pytestmark = pytest.mark.slow


def test_default_run_trains_policies_that_beat_the_reference(tiny_policy, tmp_path):
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
        assert row["win_rate_vs_ref"] > 0.5, row
        assert row["win_rate_vs_ref_lo"] < row["win_rate_vs_ref"] < row["win_rate_vs_ref_hi"], row
    policies = json.loads((out / "policies.json").read_text())
    assert set(policies) == {"reference"} | {f"{m}/iter{t}" for m in ("mnpo", "inpo", "dpo") for t in range(1, last + 1)}
    battles = pd.read_parquet(out / "battles.parquet")
    assert battles["winner"].notna().all()  # the default panel is local: no failed judgment
    assert set(battles["order"]) == {"ab", "ba"}
