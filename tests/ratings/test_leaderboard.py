"""build_leaderboard end to end: the files and columns, seeds, failures, soft scores, bench join, annotators."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from mnpo_bench.errors import UserError
from mnpo_bench.ratings.leaderboard import OUTPUTS, build_leaderboard

RATING_COLUMNS = ["model", "bt", "bt_lo", "bt_hi", "rank_ub", "win_rate", "win_rate_lo", "win_rate_hi",
                  "win_rate_vs_ref", "lc_win_rate_vs_ref", "nash_mass", "nash_skill", "copeland", "n_battles"]


def panel_battles(seed: int = 0, matchups: int = 1500) -> pd.DataFrame:
    """Four personas judge the same matchups of 4 models: 'fair' by skill, 'first' also by position,
    'long' also by length; 'flaky' is fair but fails 30% of the time."""
    rng = np.random.default_rng(seed)
    skill = {"ref": 0.0, "m1": 0.5, "m2": 1.0, "m3": -0.5}
    names = list(skill)
    a = rng.integers(0, 4, matchups)
    b = (a + rng.integers(1, 4, matchups)) % 4
    order = rng.choice(["ab", "ba"], matchups)
    len_a, len_b = rng.integers(50, 500, matchups), rng.integers(50, 500, matchups)
    base = np.array([skill[names[i]] for i in a]) - np.array([skill[names[j]] for j in b])
    frames = []
    for persona, extra in {"fair": 0, "first": 2.0 * np.where(order == "ab", 1, -1),
                           "long": 3.0 * np.tanh((len_a - len_b) / 100), "flaky": 0}.items():
        wins = rng.random(matchups) < expit(base + extra)
        failed = (rng.random(matchups) < 0.3) if persona == "flaky" else np.zeros(matchups, bool)
        frames.append(pd.DataFrame({
            "model_a": [names[i] for i in a], "model_b": [names[j] for j in b],
            "winner": np.where(wins, "model_a", "model_b"), "prompt_id": [f"p{k % 40}" for k in range(matchups)],
            "annotator": persona, "order": order, "len_a": len_a, "len_b": len_b,
            "error": np.where(failed, "judge timed out", None)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    out = tmp_path_factory.mktemp("panel")
    battles = panel_battles()
    build_leaderboard(battles, out, reference="ref", bootstrap=60, seed=0)
    return out, battles


def test_every_output_with_the_promised_columns(panel):
    out, battles = panel
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    ratings = pd.read_csv(out / "ratings.csv")
    assert set(RATING_COLUMNS) <= set(ratings.columns)
    assert ratings["model"].tolist() == ["m2", "m1", "ref", "m3"]  # sorted by Bradley-Terry
    assert (ratings["bt_lo"] <= ratings["bt"]).all() and (ratings["bt"] <= ratings["bt_hi"]).all()
    assert ratings.set_index("model").loc["ref", "bt"] == 1000.0  # anchored at the reference
    assert ratings["rank_ub"].tolist() == [1, 2, 3, 4]
    matrix = pd.read_csv(out / "matrix.csv", index_col=0)
    assert matrix.index.tolist() == ratings["model"].tolist() == matrix.columns.tolist()
    values = matrix.to_numpy()
    off = ~np.eye(len(values), dtype=bool)
    assert np.allclose((values + values.T)[off], 1.0) and np.isnan(np.diag(values)).all()
    diagnostics = json.loads((out / "diagnostics.json").read_text())
    for key in ("cyclic_triads", "consistency", "cycles", "curl_share", "maximal_lottery"):
        assert key in diagnostics
    assert diagnostics["maximal_lottery"]["m2"] == pytest.approx(1.0)  # the strongest model beats everyone
    assert diagnostics["condorcet_winner"] == "m2"
    assert diagnostics["n_failures"] == int(battles["error"].notna().sum())


def test_annotators_show_their_planted_biases(panel):
    out, battles = panel
    stats = pd.read_csv(out / "annotators.csv").set_index("annotator")
    assert stats.loc["first", "position_bias"] > 0.75 and abs(stats.loc["fair", "position_bias"] - 0.5) < 0.05
    assert stats.loc["long", "length_bias"] > 0.75 and abs(stats.loc["fair", "length_bias"] - 0.5) < 0.05
    assert stats.loc["flaky", "failures"] == battles.query("annotator == 'flaky'")["error"].notna().sum()
    assert stats.loc["flaky", "failure_rate"] == pytest.approx(0.3, abs=0.05)
    report = (out / "report.md").read_text()
    assert "first prefers the response shown first" in report and "long prefers the longer response" in report
    assert "flaky: " in report and "not counted as ties" in report
    per = pd.read_csv(out / "annotator_ratings.csv")
    assert set(per["annotator"]) == {"fair", "first", "long", "flaky"} and (per["n_battles"] > 0).all()


def test_failures_are_left_out_not_counted_as_ties(panel, tmp_path):
    out, battles = panel
    build_leaderboard(battles[battles["error"].isna()], tmp_path, reference="ref", bootstrap=60, seed=0)
    with_failures = pd.read_csv(out / "ratings.csv").set_index("model")
    without = pd.read_csv(tmp_path / "ratings.csv").set_index("model")
    for column in ("bt", "win_rate", "win_rate_vs_ref", "nash_skill", "n_battles"):
        assert with_failures[column].to_numpy() == pytest.approx(without[column].to_numpy(), abs=1e-9)
    assert with_failures["failures"].sum() == 2 * battles["error"].notna().sum()


def test_seed_fixes_the_bootstrap(panel, tmp_path):
    out, battles = panel
    build_leaderboard(battles, tmp_path / "same", reference="ref", bootstrap=60, seed=0)
    build_leaderboard(battles, tmp_path / "other", reference="ref", bootstrap=60, seed=1)
    assert (tmp_path / "same" / "ratings.csv").read_bytes() == (out / "ratings.csv").read_bytes()
    other = pd.read_csv(tmp_path / "other" / "ratings.csv")
    assert not np.allclose(other["bt_lo"], pd.read_csv(out / "ratings.csv")["bt_lo"])
    assert np.allclose(other["bt"], pd.read_csv(out / "ratings.csv")["bt"])  # point estimates do not move


def test_soft_scores_use_prob_a_unless_hard(tmp_path):
    battles = pd.DataFrame({"model_a": ["x"] * 4 + ["y"] * 2, "model_b": ["y"] * 4 + ["z"] * 2,
                            "winner": ["model_a"] * 4 + ["tie"] * 2, "prob_a": [0.6, 0.7, 0.8, 0.9, None, None]})
    soft = build_leaderboard(battles, tmp_path / "soft", reference="y", bootstrap=0, seed=0).ratings.set_index("model")
    hard = build_leaderboard(battles, tmp_path / "hard", reference="y", bootstrap=0, seed=0, soft=False).ratings.set_index("model")
    assert soft.loc["x", "win_rate_vs_ref"] == pytest.approx(0.75)
    assert hard.loc["x", "win_rate_vs_ref"] == pytest.approx(1.0)
    assert soft.loc["z", "win_rate_vs_ref"] == hard.loc["z", "win_rate_vs_ref"] == 0.5


def test_bench_results_join_the_leaderboard(panel, tmp_path):
    _, battles = panel
    bench = pd.DataFrame({"model": ["m1", "m2", "ref", "stranger"], "task": ["arith"] * 4, "metric": ["acc"] * 4,
                          "value": [0.5, 0.75, 0.25, 0.9], "stderr": [0.01] * 4})
    board = build_leaderboard(battles, tmp_path, reference="ref", bootstrap=0, seed=0, bench=bench)
    ratings = pd.read_csv(tmp_path / "ratings.csv").set_index("model")
    assert ratings["arith/acc"].to_dict() == pytest.approx({"m2": 0.75, "m1": 0.5, "ref": 0.25, "m3": np.nan}, nan_ok=True)
    assert board.diagnostics["bench_without_battles"] == ["stranger"]
    report = (tmp_path / "report.md").read_text()
    assert "## Standard benchmarks" in report and "| m2 | 0.750 |" in report
    with pytest.raises(UserError, match="bench.parquet: missing column"):
        build_leaderboard(battles, tmp_path / "x", reference="ref", bootstrap=0, seed=0, bench=bench.drop(columns="value"))


def test_agreement_is_with_the_majority_of_the_other_annotators(tmp_path):
    """Three annotators who always agree and a contrarian: agreement 1 for the three, 0 for the contrarian;
    the fourth voter never changes the majority the others see."""
    rng = np.random.default_rng(0)
    rows = []
    for k in range(60):
        a_wins = rng.random() < 0.6
        for persona in ("u", "v", "w", "contrarian"):
            wins = a_wins != (persona == "contrarian")
            rows.append(("x" if k % 3 else "y", "z", "model_a" if wins else "model_b", f"q{k}", persona, "ab"))
    battles = pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "prompt_id", "annotator", "order"])
    build_leaderboard(battles, tmp_path, reference=None, bootstrap=0, seed=0)
    agreement = pd.read_csv(tmp_path / "annotators.csv").set_index("annotator")["agreement"]
    assert agreement.to_dict() == {"contrarian": 0.0, "u": 1.0, "v": 1.0, "w": 1.0}


def test_each_annotator_rates_only_the_models_it_judged(tmp_path):
    battles = pd.DataFrame({"model_a": ["x", "x", "y", "x", "x"], "model_b": ["y", "y", "z", "y", "z"],
                            "winner": ["model_a", "tie", "model_b", "model_a", "model_a"],
                            "annotator": ["narrow", "narrow", "wide", "wide", "wide"]})
    build_leaderboard(battles, tmp_path, reference="x", bootstrap=0, seed=0)
    per = pd.read_csv(tmp_path / "annotator_ratings.csv")
    narrow = per[per["annotator"] == "narrow"].set_index("model")
    assert sorted(narrow.index) == ["x", "y"] and narrow.loc["x", "bt"] == 1000.0
    assert narrow.loc["y", "win_rate_vs_ref"] == pytest.approx(0.25)  # one loss, one tie
    assert narrow.loc["x", "rank"] == 1 and narrow.loc["x", "nash_mass"] == pytest.approx(1.0)
