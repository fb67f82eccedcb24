"""Paired comparisons over the same prompts, checked against scipy's paired t-test and bootstrap, statsmodels'
Holm correction, and per-prompt scores recomputed here with pandas from the raw battles."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from mnpo_bench.ratings.battles import check_battles
from mnpo_bench.ratings.compute import rate
from mnpo_bench.ratings.leaderboard import build_leaderboard
from mnpo_bench.ratings.paired import holm

STRENGTH = {"ref": 0.0, "strong": 1.2, "twin_a": 0.4, "twin_b": 0.4}


def battles(n_prompts=40, seed=0):
    """Every pair on every prompt, 3 battles each with a soft prob_a; a prompt effect shared by all models
    (some prompts are hard for everyone) makes the per-prompt scores of two models correlated."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_prompts):
        hardness = rng.normal(0, 0.5, len(STRENGTH))
        for (a, sa), (b, sb) in itertools.combinations(enumerate(STRENGTH.items()), 2):
            for k in range(3):
                logit = (sa[1] + hardness[a]) - (sb[1] + hardness[b]) + rng.normal(0, 0.5)
                prob = float(1 / (1 + np.exp(-logit)))
                rows.append({"model_a": sa[0], "model_b": sb[0], "winner": "model_a" if prob > 0.5 else "model_b",
                             "prob_a": prob, "prompt_id": f"q{q}", "annotator": f"j{k % 2}", "order": "ab" if k % 2 else "ba"})
    return pd.DataFrame(rows)


def score_of(raw: pd.DataFrame, model: str, opponent: str) -> pd.Series:
    """Per prompt, model's mean score against opponent (pandas, from the raw rows)."""
    mine = raw[(raw.model_a == model) & (raw.model_b == opponent)].assign(s=lambda f: f.prob_a)
    theirs = raw[(raw.model_a == opponent) & (raw.model_b == model)].assign(s=lambda f: 1 - f.prob_a)
    return pd.concat([mine, theirs]).groupby("prompt_id")["s"].mean()


def test_paired_vs_reference_matches_scipy_and_holm():
    raw = battles()
    board = rate(check_battles(raw, "t"), reference="ref", bootstrap=2000, seed=0)
    table = board.paired[board.paired["metric"] == "win_rate_vs_ref"]
    assert len(table) == 3 and "ref" not in set(table.model_a) | set(table.model_b)
    for row in table.itertuples():
        a, b = score_of(raw, row.model_a, "ref"), score_of(raw, row.model_b, "ref")
        test = stats.ttest_rel(a, b.loc[a.index])
        assert row.diff == pytest.approx((a - b).mean(), abs=1e-12)
        assert row.t == pytest.approx(test.statistic, rel=1e-9)
        assert row.p_value == pytest.approx(test.pvalue, rel=1e-9)
        boot = stats.bootstrap(((a - b).to_numpy(),), np.mean, n_resamples=4000, method="percentile",
                               random_state=1).confidence_interval
        assert row.diff_lo == pytest.approx(boot.low, abs=0.015) and row.diff_hi == pytest.approx(boot.high, abs=0.015)
        assert row.n_prompts == 40
    assert np.allclose(table["p_holm"], multipletests(table["p_value"].to_numpy(), method="holm")[1])


def test_holm_equals_statsmodels_with_ties_missing_values_and_caps():
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.random(30) ** 3, [0.01, 0.01, 0.5, 1.0]])
    p[[3, 17]] = np.nan
    got = holm(p)
    have = ~np.isnan(p)
    assert np.isnan(got[~have]).all()
    assert np.allclose(got[have], multipletests(p[have], method="holm")[1])


def test_field_scores_weigh_each_opponent_equally_and_the_planted_gap_is_found():
    raw = battles()
    board = rate(check_battles(raw, "t"), reference="ref", bootstrap=300, seed=0)
    field = board.paired[board.paired["metric"] == "win_rate"].set_index(["model_a", "model_b"])
    assert len(field) == 6
    models = list(STRENGTH)

    def field_score(m):
        return pd.concat([score_of(raw, m, o) for o in models if o != m], axis=1).mean(axis=1)

    row = field.loc[("strong", "twin_a")]
    assert row["diff"] == pytest.approx((field_score("strong") - field_score("twin_a")).mean(), abs=1e-12)
    assert row["significant"] and row["diff_lo"] > 0  # planted: strong is 0.8 logits above the twins
    twins = field.loc[tuple(sorted(["twin_a", "twin_b"], key=list(board.ratings["model"]).index))]
    assert not twins["significant"] and twins["diff_lo"] < 0 < twins["diff_hi"]  # planted: equal strength
    # model_a is ranked above model_b in the leaderboard's order
    order = list(board.ratings["model"])
    assert all(order.index(a) < order.index(b) for a, b in field.index)


def test_paired_csv_and_the_report_name_the_test_and_the_correction(tmp_path):
    build_leaderboard(battles(n_prompts=12), tmp_path, reference="ref", bootstrap=50, seed=0)
    paired = pd.read_csv(tmp_path / "paired.csv")
    assert set(paired["metric"]) == {"win_rate", "win_rate_vs_ref"}
    report = (tmp_path / "report.md").read_text()
    assert "## Paired comparisons" in report and "paired t-test" in report and "Holm" in report
