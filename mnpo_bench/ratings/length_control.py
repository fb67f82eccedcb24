"""Length-controlled win rate against a reference, after AlpacaEval 2 (Dubois et al., 2024).

For the battles of model m against the reference ref, with y the score of m (a probability in [0, 1]):

    logit E[y] = theta_m + phi_m * tanh((len_ref - len_m) / sd_m) + psi_m * gamma_x

sd_m is the standard deviation of the length difference over m's battles and gamma_x the difficulty of
instruction x. The length-controlled win rate is the model's mean predicted preference at zero length
difference, mean_x sigmoid(theta_m + psi_m * gamma_x), as AlpacaEval's `glm_winrate.py` computes it.

Two parts of AlpacaEval's recipe need data from the Hugging Face hub (a precomputed gamma_x and annotations
of "gamed" verbose/concise baselines that regularise phi_m). Here both come from the battles themselves:
gamma_x is the per-instruction effect of a joint logistic fit over every model's battles against the
reference, and phi_m = phi + delta_m shrinks each model's length slope towards the judge's common slope phi
with a Gaussian prior on delta_m (sd 1/sqrt(SLOPE_SHRINK)). Fits are penalised logistic regressions with
soft targets, solved by scipy's L-BFGS on a sparse design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, log_expit

SLOPE_SHRINK = 10.0  # prior precision of a model's deviation from the common length slope
DIFFICULTY_SHRINK = 1.0  # prior precision of an instruction's difficulty (in logits)
WEAK = 1e-3  # near-flat prior on intercepts and difficulty slopes


def lc_win_rates(valid: pd.DataFrame, n_models: int, reference: int) -> np.ndarray:
    """Length-controlled win rate (n_models,) of each model against model `reference`, a fraction in [0, 1].

    `valid` holds decided battles with codes a, b, score_a, len_a, len_b and prompt_id. NaN for models with
    no battle against the reference that has both lengths; the reference itself gets 0.5.
    """
    out = np.full(n_models, np.nan)
    out[reference] = 0.5
    rows = valid[((valid["a"] == reference) | (valid["b"] == reference)) & valid["len_a"].notna() & valid["len_b"].notna()]
    if rows.empty:
        return out
    ref_is_a = (rows["a"] == reference).to_numpy()
    model = np.where(ref_is_a, rows["b"], rows["a"]).astype(int)
    y = np.where(ref_is_a, 1.0 - rows["score_a"], rows["score_a"])
    gap = np.where(ref_is_a, rows["len_a"] - rows["len_b"], rows["len_b"] - rows["len_a"]).astype(float)
    sd = pd.Series(gap).groupby(model).transform("std").fillna(0).to_numpy()
    tanh_gap = np.tanh(np.divide(gap, sd, out=np.zeros_like(gap), where=sd > 0))
    players, local = np.unique(model, return_inverse=True)
    difficulty = _instruction_difficulty(rows["prompt_id"], local, tanh_gap, y, len(players))
    k = len(players)
    n = len(y)
    at = np.arange(n)
    design = sparse.hstack([
        sparse.csr_matrix((np.ones(n), (at, local)), shape=(n, k)),  # theta_m
        sparse.csr_matrix(tanh_gap[:, None]),  # common length slope phi
        sparse.csr_matrix((tanh_gap, (at, local)), shape=(n, k)),  # delta_m
        sparse.csr_matrix((difficulty, (at, local)), shape=(n, k)),  # psi_m
    ]).tocsr()
    penalty = np.concatenate([np.full(k, WEAK), [WEAK], np.full(k, SLOPE_SHRINK), np.full(k, WEAK)])
    w = _fit_logistic(design, y, penalty)
    at_zero_gap = expit(w[:k][local] + w[2 * k + 1 :][local] * difficulty)  # (n,)
    out[players] = pd.Series(at_zero_gap).groupby(local).mean().to_numpy()
    out[reference] = 0.5
    return out


def _instruction_difficulty(prompt_id: pd.Series, local: np.ndarray, tanh_gap: np.ndarray, y: np.ndarray,
                            k: int) -> np.ndarray:
    """Standardised difficulty gamma_x (n,) of each battle's instruction; zeros without prompt ids.

    Fitted with model intercepts and a common length slope, so that a prompt where the reference happened to
    answer briefly does not look easy.
    """
    if prompt_id.isna().any() or prompt_id.nunique() < 2:
        return np.zeros(len(y))
    codes, uniques = pd.factorize(prompt_id)
    n, at = len(y), np.arange(len(y))
    design = sparse.hstack([
        sparse.csr_matrix((np.ones(n), (at, local)), shape=(n, k)),
        sparse.csr_matrix(tanh_gap[:, None]),
        sparse.csr_matrix((-np.ones(n), (at, codes)), shape=(n, len(uniques))),  # harder = lower odds
    ]).tocsr()
    penalty = np.concatenate([np.full(k + 1, WEAK), np.full(len(uniques), DIFFICULTY_SHRINK)])
    gamma = _fit_logistic(design, y, penalty)[k + 1:]
    spread = gamma.std()
    return ((gamma - gamma.mean()) / spread)[codes] if spread > 0 else np.zeros(n)


def _fit_logistic(X: sparse.csr_matrix, y: np.ndarray, penalty: np.ndarray,
                  centre: np.ndarray | None = None) -> np.ndarray:
    """Weights minimising the soft-target logistic loss plus 0.5 * sum(penalty * (w - centre)^2)
    (centre: zeros when None, and the search starts there)."""
    start = np.zeros(X.shape[1]) if centre is None else np.asarray(centre, dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z, r = X @ w, w - start
        value = -(y * log_expit(z) + (1 - y) * log_expit(-z)).sum() + 0.5 * (penalty * r * r).sum()
        return value, X.T @ (expit(z) - y) + penalty * r

    return minimize(loss, start.copy(), jac=True, method="L-BFGS-B",
                    options={"maxiter": 2000, "gtol": 1e-8}).x
