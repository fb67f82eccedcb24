"""Equilibria of symmetric zero-sum games built from a win-probability matrix.

- maximal lottery (Fishburn): the equilibrium of the margin game M[i, j] = P(i beats j) - P(j beats i); the
  mixture of models that no single model beats on average.
- Nash averaging (Balduzzi et al. 2018): the maximum-entropy equilibrium p* of the logit game
  A[i, j] = logit P(i beats j); a model's skill is (A p*)_i, its expected log-odds against p* (0 on the
  support, negative off it). Adding a copy of a model splits its mass and leaves every skill unchanged.

For an antisymmetric game the equilibria are {p in simplex : A p <= 0}. A linear program (scipy's HiGHS)
finds one; when that set is more than a point (copies, exact ties), the maximum-entropy member is found on
the candidate support by its convex dual, min_mu logsumexp(A_TT mu), whose optimum is p = softmax(A_TT mu).
Both games use this one solver, so the maximal lottery also splits its mass evenly between copies.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.special import logit, logsumexp, softmax


def symmetric_equilibrium(A: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
    """The maximum-entropy equilibrium (n,) of the antisymmetric zero-sum game A (n, n); sums to 1.

    `support` (indices) is a guess, e.g. the support found on the full data when solving a bootstrap
    resample: the equilibrium on it is one linear solve, kept only if it is verified (p >= 0, A p <= 0),
    else the LP decides.
    """
    n = len(A)
    if n == 1:
        return np.ones(1)
    tol = 1e-7 * max(1.0, np.abs(A).max())
    p = _on_support(A, support, tol) if support is not None and len(support) else None
    if p is None:
        result = linprog(np.zeros(n), A_ub=A, b_ub=np.zeros(n), A_eq=np.ones((1, n)), b_eq=[1.0],
                         bounds=[(0, None)] * n, method="highs")
        if result.status != 0:  # cannot happen for an antisymmetric game; numerical trouble if it does
            raise RuntimeError(f"equilibrium LP failed: {result.message}")
        p = np.clip(result.x, 0, None)
        p /= p.sum()
    candidates = np.flatnonzero((p > 1e-9) | (A @ p > -tol))  # support and tight rows: mass may move there
    sub = A[np.ix_(candidates, candidates)]
    if np.linalg.matrix_rank(np.vstack([sub, np.ones(len(candidates))]), tol=1e-9) == len(candidates):
        return p  # the equilibrium is unique
    refined = np.zeros(n)
    refined[candidates] = _max_entropy(sub)
    return refined if (A @ refined <= 10 * tol).all() else p


def _on_support(A: np.ndarray, support: np.ndarray, tol: float) -> np.ndarray | None:
    """The equilibrium with exactly this support (A_SS p = 0, sum 1), or None if it is not one."""
    sub = A[np.ix_(support, support)]
    system = np.vstack([sub, np.ones(len(support))])
    target = np.zeros(len(support) + 1)
    target[-1] = 1.0
    solution, *_ = np.linalg.lstsq(system, target, rcond=None)
    if np.abs(system @ solution - target).max() > tol or solution.min() < -tol:
        return None
    p = np.zeros(len(A))
    p[support] = np.clip(solution, 0, None)
    p /= p.sum()
    return p if (A @ p).max() <= tol else None


def _max_entropy(A: np.ndarray) -> np.ndarray:
    """The maximum-entropy p with A p = 0 on the simplex, via the dual min_mu logsumexp(A mu).

    Damped Newton with a pseudo-inverse (the dual is flat along A's null space); the gradient A^T p is the
    constraint violation, driven below 1e-12.
    """
    mu = np.zeros(len(A))
    for _ in range(200):
        z = A @ mu
        p = softmax(z)
        grad = A.T @ p
        if np.abs(grad).max() < 1e-12:
            break
        hess = A.T @ (np.diag(p) - np.outer(p, p)) @ A
        step = -np.linalg.pinv(hess, rcond=1e-12, hermitian=True) @ grad
        value, t = logsumexp(z), 1.0
        while logsumexp(A @ (mu + t * step)) > value + 1e-4 * t * grad @ step and t > 1e-10:
            t /= 2
        mu = mu + t * step
    return softmax(A @ mu)


def maximal_lottery(P: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
    """The maximal lottery (n,) of win-probability matrix P (n, n): probability mass per model."""
    return symmetric_equilibrium(P - P.T, support)


def logit_game(P: np.ndarray) -> np.ndarray:
    """A[i, j] = logit P(i beats j) (n, n), antisymmetric; P must lie strictly inside (0, 1)."""
    A = logit(P)
    return (A - A.T) / 2  # exact antisymmetry whatever the rounding


def nash_averaging(P: np.ndarray, support: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(p*, skill), each (n,): the maximum-entropy equilibrium of the logit game and skill = A p* (log-odds)."""
    A = logit_game(P)
    p = symmetric_equilibrium(A, support)
    skill = A @ p
    return p, np.where(np.abs(skill) < 1e-12, 0.0, skill)  # exact 0 on the support, not rounding noise
