"""Bradley-Terry strengths by maximum likelihood on aggregated pair counts, batched over bootstrap rounds.

Model: P(i beats j) = sigmoid(theta_i - theta_j); a tie counts as half a win to each side. The data enter
only as W[i, j] (i's summed score against j) and N[i, j] (battles), so a fit costs O(n^2) per Newton step
whatever the number of battles. Written by hand rather than with scipy.optimize because every bootstrap round
is a separate fit and a batched Newton solve does all of them at once in a few (R, n, n) linear solves.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

ELO_SCALE = 400.0
ELO_BASE = 10.0
ELO_ANCHOR = 1000.0
RIDGE = 1e-6  # tiny Gaussian prior: keeps a model that won every battle finite and fixes the gauge (sum 0)


def fit_strengths(W: np.ndarray, N: np.ndarray, *, start: np.ndarray | None = None, ridge: float = RIDGE,
                  max_steps: int = 100) -> np.ndarray:
    """Strengths theta (R, n) in natural-log odds units, summing to 0, maximising the BT likelihood.

    W, N: (R, n, n) as from `Tally.matrices`; start: (1, n) or (R, n) initial strengths (e.g. the full-data
    fit for bootstrap rounds). Newton's method with steps capped at 4 nats per model.
    """
    rounds, n, _ = W.shape
    theta = np.zeros((rounds, n)) if start is None else np.broadcast_to(start, (rounds, n)).copy()
    diag = np.arange(n)
    for _ in range(max_steps):
        p = expit(theta[:, :, None] - theta[:, None, :])  # (R, n, n) P(i beats j)
        grad = (W - N * p).sum(-1) - ridge * theta  # (R, n)
        curv = N * p * (1.0 - p)  # (R, n, n)
        hess = -curv  # the negative Hessian: graph Laplacian weighted by curvature, plus the ridge
        hess[:, diag, diag] = curv.sum(-1) + ridge
        step = np.linalg.solve(hess, grad[..., None])[..., 0]  # (R, n)
        step -= step.mean(-1, keepdims=True)  # a shift of all strengths is meaningless (only rounding noise)
        biggest = np.abs(step).max(-1, keepdims=True)
        step = step * np.minimum(1.0, 4.0 / np.maximum(biggest, 1e-300))
        theta += step
        if biggest.max() < 1e-9:
            break
    return theta - theta.mean(-1, keepdims=True)


def to_elo(theta: np.ndarray, anchor: int | None = None) -> np.ndarray:
    """Strengths on the Elo scale (base 10, 400 points per factor of 10 in odds): the `anchor` model's
    rating is 1000, or the mean rating is 1000 when no anchor is given. Same shape as theta."""
    elo = theta * ELO_SCALE / math.log(ELO_BASE)
    centre = elo[..., anchor : anchor + 1] if anchor is not None else elo.mean(-1, keepdims=True)
    return elo - centre + ELO_ANCHOR


def win_probability(theta: np.ndarray) -> np.ndarray:
    """(R, n, n) P(i beats j) predicted by strengths theta (R, n)."""
    return expit(theta[:, :, None] - theta[:, None, :])
