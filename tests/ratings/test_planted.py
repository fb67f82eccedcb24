"""Planted tournaments with known answers, end to end through build_leaderboard (files written and read back)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy.special import logit

from mnpo_bench.ratings.leaderboard import build_leaderboard

from .planted import PLANTED_LOTTERY, cycle_matrix, exact_battles, latin_square_battles, sample_battles


def _outputs(out) -> tuple[pd.DataFrame, dict, str]:
    ratings = pd.read_csv(out / "ratings.csv").set_index("model")
    return ratings, json.loads((out / "diagnostics.json").read_text()), (out / "report.md").read_text()


def _within(value: float, low: float, high: float, slack: float = 1e-9) -> bool:
    return low - slack <= value <= high + slack


def test_latin_square_of_consistent_personas_gives_a_cycle(tmp_path):
    """Each persona ranks A, B, C transitively, in a Latin square; the majority cycles A > B > C > A at 2/3
    (0.633 with 10% flips): maximal lottery 1/3 each, the cycle named, personas disagree on every rank."""
    battles = latin_square_battles(prompts=150, flip=0.1, seed=0)
    build_leaderboard(battles, tmp_path, reference=None, bootstrap=200, seed=0)
    ratings, diag, report = _outputs(tmp_path)
    for model in "ABC":
        row = ratings.loc[model]
        assert _within(1 / 3, row.nash_mass_lo, row.nash_mass_hi)
        assert abs(row.nash_mass - 1 / 3) < 0.1
        assert row.rank_spread == 2  # first for one persona, last for another
    assert diag["cyclic_triads"] == 1 and diag["consistency"] == 0.0
    assert diag["n_significant_cycles"] == 1
    assert set(diag["cycles"][0]["models"]) == {"A", "B", "C"} and diag["cycles"][0]["text"] == "A > B > C > A"
    assert diag["curl_share"] > 0.9 and diag["condorcet_winner"] is None
    assert "not transitive: A > B > C > A" in report
    per_persona = pd.read_csv(tmp_path / "annotator_ratings.csv")
    tops = per_persona.loc[per_persona.groupby("annotator")["bt"].idxmax()].set_index("annotator")["model"]
    assert tops.to_dict() == {"p1": "A", "p2": "B", "p3": "C"}
    annotators = pd.read_csv(tmp_path / "annotators.csv").set_index("annotator")
    assert (annotators["agreement"] < 0.75).all()  # each persona is outvoted on a third of the pairs


def test_cycle_plus_dominated_model_recovers_the_planted_lottery(tmp_path):
    models, P = cycle_matrix()
    battles = sample_battles(models, P, per_pair=600, seed=1)
    build_leaderboard(battles, tmp_path, reference="D", bootstrap=200, seed=0)
    ratings, diag, report = _outputs(tmp_path)
    for model, mass in PLANTED_LOTTERY.items():
        row = ratings.loc[model]
        assert _within(mass, row.nash_mass_lo, row.nash_mass_hi), (model, mass, row.nash_mass_lo, row.nash_mass_hi)
        assert diag["maximal_lottery"][model] == pytest.approx(row.nash_mass)
    assert ratings.loc["D", "nash_mass_hi"] == 0.0  # never in the support, in any resample
    assert _within(logit(0.2), ratings.loc["D", "nash_skill_lo"], ratings.loc["D", "nash_skill_hi"])
    assert diag["cycles"][0]["text"] == "A > B > C > A"
    assert diag["cyclic_triads"] == 1 and diag["consistency"] == pytest.approx(0.5)  # c_max(4) = 2
    assert ratings["copeland"].to_dict() == {"A": 2.0, "B": 2.0, "C": 2.0, "D": 0.0}  # each beats D and one of the others
    assert _within(0.8, ratings.loc["A", "win_rate_vs_ref_lo"], ratings.loc["A", "win_rate_vs_ref_hi"])
    assert ratings.index[-1] == "D" and ratings.loc["D", "rank_ub"] == 4


def test_clone_leaves_nash_averaging_unchanged_but_moves_win_rates(tmp_path):
    """Exact counts (10 battles per pair at the planted rates): adding A2, a copy of A, halves A's mass and
    changes nobody's Nash-averaged skill, while the field win rates of B and C do move."""
    models, P = cycle_matrix()
    clone_models, P_clone = cycle_matrix(clone=True)
    build_leaderboard(exact_battles(models, P), tmp_path / "plain", reference=None, bootstrap=0, seed=0)
    build_leaderboard(exact_battles(clone_models, P_clone), tmp_path / "clone", reference=None, bootstrap=0, seed=0)
    plain, _, _ = _outputs(tmp_path / "plain")
    clone, diag, _ = _outputs(tmp_path / "clone")
    assert clone.loc[models, "nash_skill"].to_numpy() == pytest.approx(plain.loc[models, "nash_skill"].to_numpy(), abs=1e-9)
    assert clone.loc["A2", "nash_skill"] == pytest.approx(clone.loc["A", "nash_skill"], abs=1e-9)
    assert clone.loc["A", "nash_avg_mass"] == pytest.approx(plain.loc["A", "nash_avg_mass"] / 2, abs=1e-9)
    assert clone.loc["A", "nash_mass"] == pytest.approx(1 / 6, abs=1e-9) and clone.loc["A2", "nash_mass"] == pytest.approx(1 / 6, abs=1e-9)
    assert clone.loc["B", "nash_mass"] == pytest.approx(1 / 2, abs=1e-9)
    assert abs(clone.loc["B", "win_rate"] - plain.loc["B", "win_rate"]) > 0.02  # not clone-invariant


def test_clone_on_sampled_battles_stays_within_bootstrap_error(tmp_path):
    models, P = cycle_matrix()
    clone_models, P_clone = cycle_matrix(clone=True)
    build_leaderboard(sample_battles(models, P, 400, seed=2), tmp_path / "plain", reference=None, bootstrap=100, seed=0)
    build_leaderboard(sample_battles(clone_models, P_clone, 400, seed=2), tmp_path / "clone", reference=None, bootstrap=100, seed=0)
    plain, _, _ = _outputs(tmp_path / "plain")
    clone, diag, _ = _outputs(tmp_path / "clone")
    for model in models:
        assert _within(clone.loc[model, "nash_skill"], plain.loc[model, "nash_skill_lo"] - 0.1, plain.loc[model, "nash_skill_hi"] + 0.1)
    assert clone.loc["A", "nash_mass"] + clone.loc["A2", "nash_mass"] == pytest.approx(1 / 3, abs=0.12)


@pytest.mark.slow
def test_lottery_intervals_cover_the_planted_lottery_about_95_percent_of_the_time(tmp_path):
    """Over 20 independent tournaments the 95% bootstrap intervals of A, B and C should contain the planted
    masses most of the time (measured: 56 of 60 with 200 rounds); a broken interval would cover far less."""
    models, P = cycle_matrix()
    covered = 0
    for seed in range(20):
        ratings = build_leaderboard(sample_battles(models, P, 600, seed=100 + seed), tmp_path, reference=None,
                                    bootstrap=100, seed=seed).ratings.set_index("model")
        covered += sum(_within(PLANTED_LOTTERY[m], ratings.loc[m, "nash_mass_lo"], ratings.loc[m, "nash_mass_hi"])
                       for m in "ABC")
    assert covered >= 51  # 85% of 60; a binomial(60, 0.95) falls below that with probability < 0.1%
