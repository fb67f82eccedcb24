"""Bradley-Terry on aggregated counts: hand-derived cases and an independent MLE (scikit-learn)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mnpo_bench.ratings.bradley_terry import fit_strengths, to_elo, win_probability
from mnpo_bench.ratings.tally import Tally


def _fit(n: int, a, b, score) -> np.ndarray:
    W, N = Tally.from_codes(n, np.asarray(a), np.asarray(b), np.asarray(score, dtype=float)).matrices()
    return to_elo(fit_strengths(W, N))[0]


def test_two_models_match_the_closed_form():
    """A beats B 30 times in 40: the MLE has P(A beats B) = 3/4, so odds 3 and
    Elo(A) - Elo(B) = 400 * log10(3) = 190.85; mean-anchored, they sit at 1000 -/+ 95.42."""
    elo = _fit(2, [0] * 40, [1] * 40, [1.0] * 30 + [0.0] * 10)
    assert elo[0] - elo[1] == pytest.approx(400 * math.log10(3), abs=1e-3)
    assert elo.mean() == pytest.approx(1000.0)


def test_a_tie_is_half_a_win():
    """20 ties and 10 wins each way is the same as 20 wins each way: equal ratings. 10 ties plus 10 wins for A
    is 15 of 20 for A: the same 190.85 Elo gap as 30 of 40."""
    elo = _fit(2, [0] * 40, [1] * 40, [0.5] * 20 + [1.0] * 10 + [0.0] * 10)
    assert elo[0] == pytest.approx(elo[1], abs=1e-6)
    elo = _fit(2, [0] * 20, [1] * 20, [0.5] * 10 + [1.0] * 10)
    assert elo[0] - elo[1] == pytest.approx(400 * math.log10(3), abs=1e-3)


def test_agrees_with_an_independent_mle_within_one_elo_point():
    """Chatbot Arena's formulation: logistic regression without penalty on +/-log(10) indicators, each battle
    twice, a tie one win each way. Same data, fitted by scikit-learn: within 1 Elo point of ours."""
    rng = np.random.default_rng(3)
    n, battles = 8, 6000
    skill = rng.normal(0, 1, n)
    a = rng.integers(0, n, battles)
    b = (a + rng.integers(1, n, battles)) % n
    p = 1 / (1 + np.exp(-(skill[a] - skill[b])))
    u = rng.random(battles)
    score = np.where(u < p - 0.1, 1.0, np.where(u > p + 0.1, 0.0, 0.5))
    ours = _fit(n, a, b, score)

    X = np.zeros((2 * battles, n))
    rows = np.arange(2 * battles)
    X[rows, np.tile(a, 2)] = math.log(10)
    X[rows, np.tile(b, 2)] = -math.log(10)
    y = np.concatenate([score >= 0.5, score == 1.0]).astype(float)  # a tie: one win, one loss
    model = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)  # no penalty
    theirs = 400 * model.coef_[0]
    theirs = theirs - theirs.mean() + 1000
    assert np.abs(ours - theirs).max() < 1.0
    assert np.abs(ours - theirs).max() < 0.01  # in fact both find the same optimum


def test_anchor_and_batched_rounds():
    """Anchoring puts the named model at 1000; a batch of identical rounds gives identical fits; the warm
    start does not change the optimum."""
    W = np.array([[[0, 7, 3], [3, 0, 6], [7, 4, 0]]], dtype=float)
    N = np.array([[[0, 10, 10], [10, 0, 10], [10, 10, 0]]], dtype=float)
    theta = fit_strengths(W, N)
    assert to_elo(theta, anchor=2)[0, 2] == 1000.0
    batch = fit_strengths(np.repeat(W, 3, 0), np.repeat(N, 3, 0), start=np.zeros((1, 3)) + 0.3)
    assert np.allclose(batch, theta, atol=1e-9)
    expected_wins = (N[0] * win_probability(theta)[0]).sum(1)  # likelihood equations: expected = observed
    assert np.allclose(expected_wins, W[0].sum(1), atol=1e-6)


def test_a_model_that_never_lost_stays_finite():
    elo = _fit(3, [0, 0, 1, 1, 1], [1, 2, 2, 2, 2], [1.0, 1.0, 1.0, 0.0, 0.5])
    assert np.isfinite(elo).all() and elo[0] == elo.max()
