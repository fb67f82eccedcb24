"""The lab's noisy-label DPO updates against independent Bradley–Terry fits (scipy BFGS, computed here)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, softmax

from mnpo_bench.game.lab import run_lab
from mnpo_bench.game.matrices import Matrix, load_matrix


def bt_policy(labels: np.ndarray, beta: float) -> np.ndarray:
    """softmax(s/β) for the Bradley–Terry scores s fitted to soft `labels` on uniform pairs (ridge 1e-4)."""
    n = len(labels)

    def nll(s):
        d = s[:, None] - s[None, :]
        return -(labels * np.log(expit(d)) * (1 - np.eye(n))).sum() + 1e-4 * s @ s / 2

    s = minimize(nll, np.zeros(n), method="BFGS", options={"gtol": 1e-10}).x
    return softmax((s - s.mean()) / beta)


def _final(result, method):
    last = result.policies[(result.policies.method == method)]
    return last[last.iteration == last.iteration.max()]["mass"].to_numpy()


def test_rdpo_recovers_the_clean_fit_from_labels_flipped_at_a_known_rate():
    clean = load_matrix("cycle").P  # margins inside [0.1, 0.9]: the de-noised labels stay in [0, 1]
    eps = 0.1
    noisy = (1 - eps) * clean + eps * (1 - clean)  # what a judge flipping with rate ε reports
    np.fill_diagonal(noisy, 0.5)
    m = Matrix(noisy, load_matrix("cycle").labels, "noisy cycle")
    result = run_lab(m, ["rdpo", "dpo"], 3, params={"rdpo": {"epsilon": eps, "beta": 0.5}, "dpo": {"beta": 0.5}})
    assert np.abs(_final(result, "rdpo") - bt_policy(clean, 0.5)).max() < 1e-3  # rDPO: as if the labels were clean
    assert np.abs(_final(result, "dpo") - bt_policy(noisy, 0.5)).max() < 1e-3  # DPO fits the noise
    assert np.abs(_final(result, "rdpo") - _final(result, "dpo")).max() > 0.01


def test_cdpo_fits_the_smoothed_majority_label():
    P = load_matrix("cycle_dominated").P
    hard = np.where(P > 0.5, 1.0, np.where(P < 0.5, 0.0, 0.5))
    result = run_lab(load_matrix("cycle_dominated"), ["cdpo"], 2, params={"cdpo": {"epsilon": 0.2, "beta": 0.5}})
    assert np.abs(_final(result, "cdpo") - bt_policy(0.8 * hard + 0.2 * (1 - hard), 0.5)).max() < 1e-3
