"""The leaderboard's intervals resample prompts (a cluster bootstrap); the battle bootstrap is an option."""

import numpy as np
import pandas as pd
from scipy import stats

from mnpo_bench.ratings.battles import check_battles
from mnpo_bench.ratings.compute import rate


def clustered_battles(n_prompts=40, per_prompt=20, seed=0):
    """x vs ref: on each prompt one side wins every battle (x on a random 60% of prompts), so the battles
    on a prompt are perfectly dependent."""
    rng = np.random.default_rng(seed)
    x_wins = rng.random(n_prompts) < 0.6
    rows = [{"model_a": "x", "model_b": "ref", "winner": "model_a" if x_wins[p] else "model_b",
             "prompt_id": f"p{p}"} for p in range(n_prompts) for _ in range(per_prompt)]
    return pd.DataFrame(rows), x_wins


def test_the_prompt_bootstrap_matches_scipys_bootstrap_over_prompts():
    """Equal battles per prompt: the win rate is the mean of per-prompt win rates, so its prompt-bootstrap
    interval is scipy's percentile bootstrap of that mean (up to Monte-Carlo error)."""
    raw, x_wins = clustered_battles()
    board = rate(check_battles(raw, "t"), reference="ref", bootstrap=2000, seed=1)
    row = board.ratings.set_index("model").loc["x"]
    oracle = stats.bootstrap((x_wins.astype(float),), np.mean, n_resamples=2000, method="percentile",
                             random_state=2).confidence_interval
    assert abs(row["win_rate_vs_ref_lo"] - oracle.low) < 0.03
    assert abs(row["win_rate_vs_ref_hi"] - oracle.high) < 0.03
    assert board.diagnostics["bootstrap_resamples"] == "prompts"


def test_the_battle_bootstrap_is_too_narrow_on_dependent_battles():
    raw, _ = clustered_battles()
    checked = check_battles(raw, "t")
    wide = rate(checked, reference="ref", bootstrap=300, seed=0).ratings.set_index("model").loc["x"]
    narrow = rate(checked, reference="ref", bootstrap=300, seed=0, resample="battles").ratings.set_index("model").loc["x"]
    width = lambda r: r["win_rate_vs_ref_hi"] - r["win_rate_vs_ref_lo"]  # noqa: E731
    # 20 identical battles per prompt: the honest interval is about sqrt(20) ~ 4.5x wider
    assert width(wide) > 3 * width(narrow)


def test_battles_without_prompts_fall_back_to_the_battle_bootstrap():
    raw, _ = clustered_battles()
    board = rate(check_battles(raw.drop(columns="prompt_id"), "t"), reference="ref", bootstrap=50, seed=0)
    assert board.diagnostics["bootstrap_resamples"] == "battles"
