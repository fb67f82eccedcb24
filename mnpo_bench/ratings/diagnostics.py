"""Diagnostics of intransitivity: cyclic triads, coefficient of consistence, significant cycles, Hodge curl.

- cyclic triads: triples i > j > k > i in the pairwise majority (i > j when P(i beats j) > 1/2);
- Kendall and Babington Smith's coefficient of consistence zeta = 1 - c / c_max, where c_max is the most
  cyclic triads a tournament of n players can have: (n^3 - n) / 24 for odd n, (n^3 - 4n) / 24 for even n;
  zeta = 1 for a transitive ranking, 0 for the most cyclic one;
- significant cycles: directed 3-cycles whose every step has a bootstrap 95% interval above 1/2;
- Hodge decomposition (HodgeRank, Jiang et al. 2011) of the edge flow Y[i, j] = logit P(i beats j) on the
  pairs that met, weighted by their battles: the gradient part is the best fit by a score difference
  s_i - s_j (weighted least squares), the rest is cyclic. `cyclic_share` is the weighted squared norm of the
  rest over that of Y: 0 when preferences are a ranking, 1 when they are pure rock-paper-scissors. When every
  pair met the rest is all curl; with missing pairs it may include a harmonic part.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit

TIE = 1e-12  # |P - 1/2| below this is a tie, not a majority


def majority(P: np.ndarray) -> np.ndarray:
    """(n, n) 0/1 matrix: 1 where P(i beats j) > 1/2."""
    return (P - 0.5 > TIE).astype(float)


def cyclic_triads(P: np.ndarray) -> int:
    """Number of cyclic triads in the pairwise majority of P (n, n); each 3-cycle is 3 terms of trace(D^3)."""
    D = majority(P)
    return int(round(np.trace(D @ D @ D) / 3))


def consistency(n: int, triads: int) -> float:
    """Kendall-Babington Smith coefficient of consistence in [0, 1] (1 when n < 3)."""
    most = (n**3 - n) / 24 if n % 2 else (n**3 - 4 * n) / 24
    return 1.0 - triads / most if most > 0 else 1.0


def significant_cycles(P: np.ndarray, P_low: np.ndarray, met: np.ndarray, models: list[str], limit: int = 10) -> tuple[int, list[dict]]:
    """(count, the `limit` strongest) directed 3-cycles a > b > c > a whose three steps each have a lower
    95% bound above 1/2 on pairs that met. Each cycle: models, text ("A > B > C > A"), weakest step."""
    sure = (P_low > 0.5) & met
    i, j, k = np.nonzero(_triangles(sure))
    keep = (i < j) & (i < k)  # each cycle once, starting from its smallest index
    i, j, k = i[keep], j[keep], k[keep]
    weakest = np.minimum(np.minimum(P[i, j], P[j, k]), P[k, i])
    order = np.argsort(-weakest, kind="stable")[:limit]
    cycles = [{"models": [models[i[o]], models[j[o]], models[k[o]]],
               "text": f"{models[i[o]]} > {models[j[o]]} > {models[k[o]]} > {models[i[o]]}",
               "weakest_win_rate": float(weakest[o])} for o in order]
    return int(len(i)), cycles


def _triangles(sure: np.ndarray) -> np.ndarray:
    """(n, n, n) True where i > j, j > k and k > i are all sure."""
    return sure[:, :, None] & sure[None, :, :] & sure.T[:, None, :]


def cyclic_share(P: np.ndarray, N: np.ndarray, subset: np.ndarray | None = None) -> float:
    """Share (0 to 1) of the battle-weighted logit flow that is cyclic, over all models or `subset` (indices)."""
    if subset is not None:
        P, N = P[np.ix_(subset, subset)], N[np.ix_(subset, subset)]
    if len(P) < 3:
        return 0.0
    flow = np.where(N > 0, logit(np.clip(P, 1e-6, 1 - 1e-6)), 0.0)  # (n, n) antisymmetric
    laplacian = np.diag(N.sum(1)) - N
    scores = np.linalg.lstsq(laplacian, (N * flow).sum(1), rcond=None)[0]  # (n,) gradient potential
    rest = flow - (scores[:, None] - scores[None, :]) * (N > 0)
    total = (N * flow**2).sum()
    return float((N * rest**2).sum() / total) if total > 0 else 0.0
