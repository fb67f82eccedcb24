"""The nested (prompts within seeds) effect against independent computations: statsmodels' REML
random-intercept model, scipy's one-sample t-test of the seed means, and the noncentral-t power of the mde."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.power import TTestPower

from mnpo_bench.experiment.stats import across_seeds, nested_effect


def planted(seed_sd: float, prompt_sd: float, seeds: int = 5, prompts: int = 24, rng_seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(rng_seed)
    shift = rng.normal(0, seed_sd, seeds)
    return pd.DataFrame([{"seed": s, "value": 0.01 + shift[s] + rng.normal(0, prompt_sd)}
                         for s in range(seeds) for _ in range(prompts)])


def reml(frame: pd.DataFrame) -> tuple[float, float, float]:
    """(intercept, its standard error, seed variance) of statsmodels' REML fit of value ~ 1 + (1 | seed)."""
    with warnings.catch_warnings():  # boundary fits warn that the seed variance is 0, which is the point
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("value ~ 1", frame, groups=frame["seed"]).fit(reml=True, method=["nm", "bfgs"])
    return float(fit.fe_params["Intercept"]), float(fit.bse_fe["Intercept"]), float(fit.cov_re.iloc[0, 0])


@pytest.mark.parametrize("seed_sd", [0.03, 0.0])
def test_matches_reml_random_intercept(seed_sd):
    frame = planted(seed_sd, 0.05, rng_seed=1 if seed_sd else 2)
    effect, se, seed_var = reml(frame)
    ours = nested_effect(frame)
    assert ours["effect"] == pytest.approx(effect, abs=1e-10)
    assert ours["se"] == pytest.approx(se, rel=2e-3)
    df = 4 if seed_var > 1e-8 else len(frame) - 1
    assert ours["df"] == df
    half = stats.t.ppf(0.975, df) * se
    assert ours["lo"] == pytest.approx(effect - half, rel=2e-3)
    assert ours["hi"] == pytest.approx(effect + half, rel=2e-3)


def test_with_seed_variance_it_is_the_t_test_of_seed_means():
    frame = planted(0.03, 0.05, rng_seed=1)
    means = frame.groupby("seed")["value"].mean()
    test = stats.ttest_1samp(means, 0.0)
    ci = test.confidence_interval(0.95)
    ours = nested_effect(frame)
    assert ours["p_value"] == pytest.approx(test.pvalue, rel=1e-9)
    assert (ours["lo"], ours["hi"]) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_mde_has_80_percent_power():
    frame = planted(0.03, 0.05, rng_seed=1)
    ours = nested_effect(frame)
    sd = frame.groupby("seed")["value"].mean().std(ddof=1)
    power = TTestPower().power(effect_size=ours["mde"] / sd, nobs=5, alpha=0.05, alternative="two-sided")
    assert power == pytest.approx(0.80, abs=0.03)


def test_identical_answers_give_zero_effect_and_p_one():
    ours = nested_effect(pd.DataFrame({"seed": [0, 0, 1, 1], "value": [0.0] * 4}))
    assert ours["effect"] == 0 and ours["se"] == 0 and ours["p_value"] == 1.0 and ours["mde"] == 0


def test_across_seeds_is_the_t_interval_of_the_mean():
    values = pd.Series([0.51, 0.52, 0.50, 0.53])
    row = across_seeds(values)
    low, high = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert row["sd"] == pytest.approx(np.std(values, ddof=1)) and (row["lo"], row["hi"]) == pytest.approx((low, high))
