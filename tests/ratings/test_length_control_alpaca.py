"""AlpacaEval 2's length-controlled win rate (length_control_alpaca.py) against the published LC column of the
real AlpacaEval-2 leaderboard (../shared/data/alpaca_eval), and on a simulated length-loving judge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.ratings.battles import check_battles
from mnpo_bench.ratings.importers import load_source
from mnpo_bench.ratings.leaderboard import build_leaderboard
from mnpo_bench.ratings.length_control import lc_win_rates
from mnpo_bench.ratings.length_control_alpaca import alpaca_lc_win_rates

from .test_length_control import judged_by_a_length_loving_judge

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "alpaca_eval"
REFERENCE = "gpt4_1106_preview"
TARGET = 0.6  # points (the issue asks for <= 0.75); measured 0.565 over the 16 models (the pooled GLM: 1.677)
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real AlpacaEval data not found at {DATA}")


@pytest.fixture(scope="module")
def alpaca():
    checked = check_battles(load_source("alpaca-eval", DATA), "alpaca")
    published = pd.read_csv(DATA / "published_leaderboard.csv", index_col=0)["length_controlled_winrate"]
    return checked, published


def _errors(rates: np.ndarray, models: list[str], published: pd.Series) -> pd.Series:
    """Our LC minus the published LC, in points, for the 16 models both have (the reference's error is 0)."""
    ours = pd.Series(100 * rates, index=models)
    shared = [m for m in models if m in published.index]
    return ours[shared] - published[shared]


@needs_data
def test_alpaca_eval_lc_is_within_three_quarters_of_a_point_of_the_published_column(alpaca):
    checked, published = alpaca
    ref = checked.models.index(REFERENCE)
    new = _errors(alpaca_lc_win_rates(checked.valid, len(checked.models), ref), checked.models, published)
    old = _errors(lc_win_rates(checked.valid, len(checked.models), ref), checked.models, published)
    print("per-model error (points):", new.round(2).to_dict())
    print(f"mean absolute error {new.abs().mean():.3f} (pooled GLM {old.abs().mean():.3f}) over {len(new)} models")
    assert len(new) == 16
    assert new.abs().mean() <= TARGET < old.abs().mean()
    assert abs(new["gpt4_gamed"]) <= 1.6 < 4.0 < abs(old["gpt4_gamed"])  # GPT-4 answers cut short: measured +1.48 (pooled +4.38)
    assert new.abs().max() <= 1.7  # measured 1.59 (gpt-3.5-turbo-1106_concise)
    # the files with rows missing (802, 804 and 803 of 805) need AlpacaEval's lookup by row position: by
    # instruction they measured -1.69, -0.24 and -0.72
    assert new[["alpaca-7b_verbose", "alpaca-7b_concise", "phi-2"]].abs().max() <= 0.5  # measured 0.42


@needs_data
def test_the_cli_uses_it_for_alpaca_eval_imports(tmp_path, alpaca):
    """`--from alpaca-eval` defaults to AlpacaEval's GLM, per judge too; `--length-control pooled` keeps ours."""
    from mnpo_bench.cli import main

    _, published = alpaca
    assert main(["leaderboard", "--from", "alpaca-eval", str(DATA), "--out", str(tmp_path / "a"), "--bootstrap", "0"]) == 0
    ratings = pd.read_csv(tmp_path / "a" / "ratings.csv").set_index("model")
    errors = 100 * ratings["lc_win_rate_vs_ref"].reindex(published.index).dropna() - published.reindex(ratings.index).dropna()
    assert errors.abs().mean() <= TARGET
    per_judge = pd.read_csv(tmp_path / "a" / "annotator_ratings.csv").set_index("model")["lc_win_rate_vs_ref"]
    pd.testing.assert_series_equal(per_judge.sort_index(), ratings["lc_win_rate_vs_ref"].sort_index(), check_names=False)
    assert main(["leaderboard", "--from", "alpaca-eval", str(DATA), "--out", str(tmp_path / "p"), "--bootstrap", "0",
                 "--length-control", "pooled"]) == 0
    pooled = pd.read_csv(tmp_path / "p" / "ratings.csv").set_index("model")["lc_win_rate_vs_ref"]
    assert (pooled - ratings["lc_win_rate_vs_ref"]).abs().max() > 0.01


def test_it_removes_a_simulated_judges_length_preference():
    battles = check_battles(judged_by_a_length_loving_judge(), "test")
    lc = dict(zip(battles.models, alpaca_lc_win_rates(battles.valid, len(battles.models), battles.models.index("ref"))))
    assert lc["long"] == pytest.approx(0.5, abs=0.07) and lc["short"] == pytest.approx(0.5, abs=0.07)
    assert lc["better"] > 0.62 and lc["ref"] == 0.5


def test_unknown_length_control_names_the_option(tmp_path):
    with pytest.raises(UserError, match="unknown length control 'alpaca'.*did you mean 'alpaca-eval'"):
        build_leaderboard(judged_by_a_length_loving_judge(prompts=20), tmp_path, reference="ref", bootstrap=0, seed=0,
                          length_control="alpaca")
    assert not any(tmp_path.iterdir())  # nothing written
