"""The prompt-bootstrap helpers against numpy's own percentile and a plain loop over rounds."""

import warnings

import numpy as np

from mnpo_bench.ratings.resample import bootstrap_mean, percentiles, prompt_draws


def test_percentiles_equal_numpys_nanpercentile_with_missing_and_all_missing_columns():
    rng = np.random.default_rng(0)
    values = rng.random((100, 40, 3))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:, 5, 0] = np.nan  # every round missing
    values[:99, 6, 1] = np.nan  # one round left
    low, high = percentiles(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanpercentile(values, [2.5, 97.5], axis=0)
    assert np.allclose(low, expected[0], equal_nan=True) and np.allclose(high, expected[1], equal_nan=True)


def test_bootstrap_mean_is_the_loop_over_resampled_prompts():
    rng = np.random.default_rng(1)
    per_prompt = rng.random((30, 4))
    per_prompt[rng.random(per_prompt.shape) < 0.2] = np.nan
    mean, lo, hi, count = bootstrap_mean(per_prompt, 200, np.random.default_rng(7))
    draws = prompt_draws(30, 200, np.random.default_rng(7))  # the same stream: the same rounds
    rounds = []
    for weights in draws:
        picked = np.repeat(np.arange(30), weights.astype(int))
        rounds.append(np.nanmean(per_prompt[picked], axis=0))
    assert np.allclose(mean, np.nanmean(per_prompt, axis=0))
    assert np.allclose(lo, np.percentile(rounds, 2.5, axis=0)) and np.allclose(hi, np.percentile(rounds, 97.5, axis=0))
    assert (count == (~np.isnan(per_prompt)).sum(0)).all()
