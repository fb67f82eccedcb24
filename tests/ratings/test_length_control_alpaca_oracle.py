"""The parts of length_control_alpaca.py that follow AlpacaEval, against AlpacaEval's own code (alpaca_eval's
glm_winrate.fit_LogisticRegressionCV and make_dmatrix_for_model, with the joint formula of its
notebooks/instruction_difficulty.ipynb spelled in patsy), statsmodels' GLM Hessian, and a hand-built file
with a row missing. Real rows from ../shared/data/alpaca_eval where the test needs a judge's data."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import sparse

from mnpo_bench.ratings.length_control_alpaca import (REGULARIZE_TO_BASELINE, _baseline_prior, _by_row_position,
                                                      _difficulty, _fit_cv)

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "alpaca_eval"
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # scikit-learn's on alpaca_eval's own call
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real AlpacaEval data not found at {DATA}")


def _glm_winrate():
    """alpaca_eval.metrics.glm_winrate (the benchmarks extra), importing quietly."""
    pytest.importorskip("alpaca_eval", reason="alpaca-eval (the benchmarks extra) is the oracle here")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # alpaca_eval imports pkg_resources
        from alpaca_eval.metrics import glm_winrate
    return glm_winrate


def _annotations(models: list[str], n_instructions: int) -> pd.DataFrame:
    """The first n_instructions rows of each model's real annotations, as AlpacaEval's notebook frames them:
    generator_2, index (the row), preference in [0, 1] (ties 0.5), and the length difference over its sd."""
    frames = []
    for model in models:
        with gzip.open(DATA / f"{model}.annotations.json.gz", "rt") as handle:
            rows = pd.DataFrame(json.load(handle)).iloc[:n_instructions]
        gap = (rows["output_1"].str.len() - rows["output_2"].str.len()).astype(float)
        frames.append(pd.DataFrame({
            "generator_2": model, "index": np.arange(len(rows)),
            "preference": pd.to_numeric(rows["preference"]).replace({0.0: 1.5}).to_numpy() - 1,
            "std_delta_len": (gap / gap.std()).to_numpy(), "not_gamed_baseline": True}))
    return pd.concat(frames, ignore_index=True)


@needs_data
def test_the_cv_fit_is_alpaca_evals_fit_logistic_regression_cv():
    glm = _glm_winrate()
    df = _annotations(["claude-2.1"], 300)
    others = _annotations(["alpaca-7b", "gemma-7b-it", "vicuna-7b"], 300).groupby("index")["preference"].mean()
    df["instruction_difficulty"] = np.log((others + 0.05) / (1.05 - others)).to_numpy()  # notebook's start, smoothed
    formula = "np.tanh(std_delta_len) + instruction_difficulty + not_gamed_baseline.astype(float) - 1"
    train, _ = glm.make_dmatrix_for_model(df, df, formula=formula)
    theirs = glm.fit_LogisticRegressionCV(train, "preference", is_ytrue_proba=True, n_splits=5).coef_[0]
    X = sparse.csr_matrix(train.drop(columns=["preference"]).to_numpy())
    ours = _fit_cv(X, df["preference"].to_numpy())
    assert np.abs(theirs).min() > 0.05  # a real fit, not all weights zeroed by the penalty
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)


@needs_data
def test_the_difficulty_is_the_notebooks_joint_fit():
    """`C(generator_2):np.tanh(...) + C(generator_2) + C(index) + not_gamed_baseline - 1`, as
    instruction_difficulty.ipynb fits it, on 7 real models x 200 instructions."""
    glm = _glm_winrate()
    models = ["alpaca-7b", "claude-2.1", "gemma-7b-it", "gpt-3.5-turbo-1106", "gpt4_gamed", "phi-2", "vicuna-7b"]  # sorted: patsy's level order
    df = _annotations(models, 200)
    formula = ("C(generator_2):np.tanh(std_delta_len) + C(generator_2)"
               " + C(index) + not_gamed_baseline.astype(float) - 1")
    train, _ = glm.make_dmatrix_for_model(df, df, formula=formula)
    coef = pd.Series(glm.fit_LogisticRegressionCV(train, "preference", is_ytrue_proba=True, n_splits=5).coef_[0],
                     index=train.columns.drop("preference"))
    theirs = np.r_[0.0, [coef[f"C(index)[T.{i}]"] for i in range(1, 200)]]  # the first instruction is 0
    local = pd.Categorical(df["generator_2"], categories=models).codes
    ours = _difficulty(df["index"].to_numpy(), local, np.tanh(df["std_delta_len"].to_numpy()),
                       df["preference"].to_numpy(), len(models))
    assert (theirs != 0).sum() > 30  # a real fit: the penalty keeps 39 of the 200 effects
    np.testing.assert_allclose(ours, theirs[df["index"]], rtol=1e-6, atol=1e-8)


def test_a_file_with_a_row_missing_looks_difficulty_up_by_position():
    """Model A has instructions 0-4 on rows 0-4; model B lacks instruction 2, so its rows 2 and 3 (instructions
    3 and 4) get the difficulty of instructions 2 and 3, as glm_winrate.py's positional index gives them."""
    codes = np.array([0, 1, 2, 3, 4, 0, 1, 3, 4])
    rows = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3])
    gamma = np.array([0.0, 0.1, 0.2, 0.3, 0.4])[codes]
    np.testing.assert_allclose(_by_row_position(rows, codes, gamma), [0.0, 0.1, 0.2, 0.3, 0.4, 0.0, 0.1, 0.2, 0.3])
    in_order = np.array([0, 1, 2, 3, 4, 0, 1, 3, 4])  # rows that match the instructions: nothing moves
    np.testing.assert_allclose(_by_row_position(in_order, codes, gamma), gamma)


def test_the_prior_precision_is_the_fisher_information_of_the_gamed_rows():
    """lambda * n_instructions * (the Hessian of the mean per-row log loss at zero intercept), the Hessian
    from statsmodels' binomial GLM at the pooled slopes."""
    rng = np.random.default_rng(1)
    k, n_x = 4, 50
    local, codes = np.repeat(np.arange(k), n_x), np.tile(np.arange(n_x), k)
    t = np.tanh(rng.normal(0, 1, k * n_x))
    gamma = rng.normal(0, 1, n_x)[codes]
    y = 1 / (1 + np.exp(-(np.array([-1.0, 0.0, 0.5, 1.0])[local] - 1.5 * t + 0.8 * gamma)))
    centre, precision = _baseline_prior(local, t, gamma, y, k, codes)
    x = np.column_stack([t, gamma])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns on non-integer binomial targets
        hessian = sm.GLM(y, x, family=sm.families.Binomial()).hessian(centre)
    np.testing.assert_allclose(precision, -REGULARIZE_TO_BASELINE * n_x * hessian / len(y), rtol=1e-10)
    assert centre == pytest.approx([-1.5, 0.8], abs=0.05)  # the judge's slopes, found through the intercepts
