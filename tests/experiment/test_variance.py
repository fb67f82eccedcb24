"""The split of the across-seed SD into evaluation noise and training variance, against statsmodels' REML
variance components (balanced seeds: the two agree exactly when the seed variance is positive) and on planted
data whose true components are known."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from mnpo_bench.experiment.variance import decompose, variance_table


def planted(train_sd: float, prompt_sd: float, seeds: int, prompts: int = 48, rng_seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(rng_seed)
    policy = rng.normal(0.52, train_sd, seeds)  # each seed's true win rate: the training's variance
    return pd.DataFrame([{"seed": s, "value": policy[s] + rng.normal(0, prompt_sd)}
                         for s in range(seeds) for _ in range(prompts)])


def test_components_are_the_reml_variance_components():
    frame = planted(0.01, 0.05, seeds=8, rng_seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("value ~ 1", frame, groups=frame["seed"]).fit(reml=True, method=["nm", "bfgs"])
    ours = decompose(frame)
    assert float(fit.cov_re.iloc[0, 0]) > 0
    assert ours["sd_train"] ** 2 == pytest.approx(float(fit.cov_re.iloc[0, 0]), rel=1e-3)
    assert ours["sd_eval"] ** 2 == pytest.approx(float(fit.scale) / 48, rel=1e-3)
    means = frame.groupby("seed")["value"].mean()
    assert ours["sd_seeds"] == pytest.approx(means.std(ddof=1))
    low = means.std(ddof=1) * math.sqrt(7 / stats.chi2.ppf(0.975, 7))
    assert ours["sd_lo"] == pytest.approx(low) and ours["sd_hi"] > ours["sd_seeds"]


def test_many_seeds_recover_the_planted_components():
    ours = decompose(planted(0.008, 0.05, seeds=400, rng_seed=4))
    assert ours["sd_eval"] == pytest.approx(0.05 / math.sqrt(48), rel=0.03)
    assert ours["sd_train"] == pytest.approx(0.008, rel=0.12)
    assert ours["sd_at_2x_prompts"] == pytest.approx(math.sqrt(0.008 ** 2 + 0.05 ** 2 / 96), rel=0.1)


def test_no_training_variance_gives_sd_train_near_zero_and_a_row_per_method():
    frame = planted(0.0, 0.05, seeds=200, rng_seed=5)
    both = pd.concat([frame.assign(method="mnpo"), frame.assign(method="dpo")]).assign(cell="main")
    table = variance_table(both)
    assert list(table["method"]) == ["mnpo", "dpo"]
    assert (table["sd_train"] < 0.25 * table["sd_eval"]).all()
