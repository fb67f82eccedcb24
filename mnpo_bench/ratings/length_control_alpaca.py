"""Length-controlled win rate as AlpacaEval 2's `length_controlled_v1` fits it (alpaca_eval 0.6.6,
metrics/glm_winrate.py and notebooks/instruction_difficulty.ipynb; Dubois et al., 2024), from the battles alone.

AlpacaEval fits one GLM per model m against the baseline, on m's annotations with y = P(m wins):

    logit E[y] = c_m + phi_m * tanh((len_ref - len_m) / sd_m) + psi_m * gamma_x

sd_m: the standard deviation of m's length differences (characters); gamma_x: instruction difficulty, one
vector for every model. The length-controlled win rate is m's mean prediction at zero length difference,
mean_x sigmoid(c_m + psi_m * gamma_x), in [0, 1]. What follows AlpacaEval exactly:

- gamma_x is their notebook's joint fit, redone on the battles at hand: every model's rows at once, with a
  length slope and an intercept per model, one effect per instruction (dummy coded, the first instruction
  0) and a common intercept, by their estimator (`_fit_cv`: soft targets by duplicating each row, L1 by
  liblinear with no free intercept, strength picked from 10 by 5-fold grouped cross-validation on the
  weighted log loss, seed 123). Their published gamma_x (instruction_difficulty.csv on the Hugging Face hub)
  was fitted once, in early 2024, over the leaderboard models of that time; it is not available here.
- each model's rows look gamma up by their position in the model's annotations file, as glm_winrate.py does
  (`index`), where the importer recorded it (`source_row`); by instruction otherwise. A file with rows missing
  (alpaca-7b_verbose has 802 of 805) thus gives every row after the gap a later instruction's difficulty,
  and the published LC column was computed so: by instruction those three models measured 0.2-1.7 points off.
- ties (preference 0 or 1.5) count 0.5; the baseline against itself is 0.5 by construction.
- one difference: AlpacaEval's sd_m and its mean over instructions also count rows with no annotation; here
  only decided battles reach this function (the 16 real files have no such row).

What cannot be followed: v1 regularises (phi_m, psi_m) "toward the baseline" with 2 x 805 annotations of the
baseline's own verbose and concise rewrites against itself (df_gamed.csv on the hub), each at weight
lambda / 2 = 0.1, whose only terms are the length slope and the difficulty (no intercept: a rewrite is as
good as its original). They are in no results folder. The stand-in is the quadratic (Gaussian) approximation
of that term: a prior on (phi_m, psi_m) centred on the judge's pooled slopes (one fit over every model with
per-model intercepts) whose precision matrix is the Fisher information such rows would carry,
lambda * n_instructions * E[p (1 - p) x x^T] with x = (tanh gap, gamma) and p = sigmoid(x . centre) (zero
intercept), the expectation over the battles at hand. lambda = 0.2 is AlpacaEval's default; nothing here is
chosen against the published LC column. The per-model fit (3 weights, c_m unpenalised) is Newton's method,
since liblinear has no prior centre.

Measured on the real AlpacaEval-2 annotations of 16 models (tests/ratings/test_length_control_alpaca.py):
mean absolute error against the published LC column 0.565 points, gpt4_gamed +1.48, max 1.59
(gpt-3.5-turbo-1106_concise); the pooled method of length_control.py: 1.68 and +4.38. Without the stand-in
(lambda 0, as AlpacaEval's length_controlled_noreg): 1.99 and +15.9; lambda 0.1 and 0.4 (not AlpacaEval's
value, for sensitivity only) give 0.80 and 0.60. Imports of fewer models are less stable (docs/ratings.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit, log_expit

from mnpo_bench.ratings.length_control import WEAK, _fit_logistic

REGULARIZE_TO_BASELINE = 0.2  # AlpacaEval's regularize_to_baseline_lambda for length_controlled_v1
CV_FOLDS = 5  # AlpacaEval's n_splits
CV_SEED = 123  # AlpacaEval's random_state


def alpaca_lc_win_rates(valid: pd.DataFrame, n_models: int, reference: int) -> np.ndarray:
    """AlpacaEval-style length-controlled win rate (n_models,) of each model against `reference`, in [0, 1].

    `valid` holds decided battles with codes a, b, score_a, len_a, len_b and prompt_id. NaN for a model with
    no battle against the reference that has both lengths; the reference itself gets 0.5.
    """
    out = np.full(n_models, np.nan)
    out[reference] = 0.5
    rows = valid[((valid["a"] == reference) | (valid["b"] == reference)) & valid["len_a"].notna()
                 & valid["len_b"].notna() & (valid["a"] != valid["b"])]
    if rows.empty:
        return out
    ref_is_a = (rows["a"] == reference).to_numpy()
    model = np.where(ref_is_a, rows["b"], rows["a"]).astype(int)
    y = np.where(ref_is_a, 1.0 - rows["score_a"], rows["score_a"])  # (n,) P(model wins)
    gap = np.where(ref_is_a, rows["len_a"] - rows["len_b"], rows["len_b"] - rows["len_a"]).astype(float)
    sd = pd.Series(gap).groupby(model).transform("std").fillna(0).to_numpy()
    t = np.tanh(np.divide(gap, sd, out=np.zeros_like(gap), where=sd > 0))  # (n,) tanh(std_delta_len)
    players, local = np.unique(model, return_inverse=True)
    codes = _instruction_codes(rows["prompt_id"])
    gamma = _difficulty(codes, local, t, y, len(players))  # (n,)
    centre, precision = _baseline_prior(local, t, gamma, y, len(players), codes)
    if "source_row" in rows.columns and rows["source_row"].notna().all() and codes.min() >= 0:
        gamma = _by_row_position(rows["source_row"].to_numpy(dtype=np.int64), codes, gamma)
    X = np.column_stack([t, gamma, np.ones(len(y))])  # (n, 3): phi, psi, c
    penalty = np.zeros((3, 3))
    penalty[:2, :2] = precision
    prior = np.array([centre[0], centre[1], 0.0])
    for m in range(len(players)):
        mine = local == m
        w = _newton(X[mine], y[mine], penalty, prior)
        out[players[m]] = expit(w[2] + w[1] * gamma[mine]).mean()
    out[reference] = 0.5
    return out


def _instruction_codes(prompt_id: pd.Series) -> np.ndarray:
    """Integer code (n,) of each battle's instruction, in order of first appearance; -1 for all when any
    battle has no prompt id."""
    if prompt_id.isna().any():
        return np.full(len(prompt_id), -1)
    return pd.factorize(prompt_id.astype(str))[0]


def _difficulty(codes: np.ndarray, local: np.ndarray, t: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """gamma_x (n,): each battle's instruction effect (logits; higher = the model wins more often, the first
    instruction 0) from AlpacaEval's joint formula `C(model):tanh + C(model) + C(index) + not_gamed - 1`
    fitted by `_fit_cv`; zeros without instructions."""
    if codes.min() < 0 or codes.max() < 1:
        return np.zeros(len(y))
    n, at, n_x = len(y), np.arange(len(y)), codes.max() + 1
    later = codes > 0  # dummy coding: the first instruction is the reference level
    design = sparse.hstack([  # in patsy's column order, which liblinear's solution depends on (at its tolerance)
        sparse.csr_matrix((np.ones(n), (at, local)), shape=(n, k)),  # intercept per model
        sparse.csr_matrix((np.ones(later.sum()), (at[later], codes[later] - 1)), shape=(n, n_x - 1)),
        sparse.csr_matrix((t, (at, local)), shape=(n, k)),  # length slope per model
        sparse.csr_matrix(np.ones((n, 1))),  # not_gamed_baseline: 1 on every real annotation
    ]).tocsr()
    effect = np.concatenate([[0.0], _fit_cv(design, y)[k: k + n_x - 1]])
    return effect[codes]


def _by_row_position(source_row: np.ndarray, codes: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """gamma (n,) looked up as AlpacaEval looks it up: by the row's position in its annotations file
    (glm_winrate.py indexes instruction_difficulty by `df_annotations.reset_index()["index"]`), not by its
    instruction. The two agree in a file with every instruction; in a file with rows missing, every row after
    the gap gets a later instruction's difficulty. Position p stands for the instruction found most often at
    row p (the eval set's order); a position no instruction holds keeps the row's own."""
    effect = np.zeros(codes.max() + 1)
    effect[codes] = gamma
    canonical = pd.DataFrame({"row": source_row, "code": codes}).groupby("row")["code"].agg(lambda c: c.mode().iloc[0])
    at = canonical.reindex(source_row).to_numpy()  # (n,) the instruction at each row's position
    return np.where(np.isnan(at), gamma, effect[np.nan_to_num(at).astype(np.int64)])


def _fit_cv(X: sparse.csr_matrix, y: np.ndarray) -> np.ndarray:
    """Weights (p,) of AlpacaEval's `fit_LogisticRegressionCV` on soft targets y (n,) in [0, 1]: every row
    twice (label 1 at weight y, label 0 at weight 1 - y), L1-penalised logistic regression by liblinear
    without a free intercept, its strength the best of scikit-learn's 10 default values by 5-fold
    cross-validation grouped by row on the soft-target log loss, refitted on all rows."""
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    n = X.shape[0]
    doubled = sparse.vstack([X, X]).tocsr()  # (2n, p)
    label = np.r_[np.ones(n), np.zeros(n)]
    target = np.r_[y, 1.0 - y]  # the probability of each copy's label
    groups = np.r_[np.arange(n), np.arange(n)]
    scorer = make_scorer(_soft_log_loss, response_method="predict_proba", greater_is_better=False)
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's convergence warnings at the weakest strengths
        scorer = scorer.set_score_request(target=True)
        model = LogisticRegressionCV(cv=GroupKFold(n_splits=CV_FOLDS), scoring=scorer, penalty="l1",
                                     solver="liblinear", fit_intercept=False, random_state=CV_SEED)
        model.set_fit_request(sample_weight=True)
        model.fit(doubled, label, sample_weight=target, groups=groups, target=target)
    return model.coef_[0]


def _soft_log_loss(label: np.ndarray, p: np.ndarray, target: np.ndarray) -> float:
    """Mean soft-target log loss (nats) of predicted P(label 1) p against the copies' target probabilities."""
    soft = np.where(label == 1, target, 1.0 - target)  # P(label 1) of the original row
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(soft * np.log(p) + (1 - soft) * np.log(1 - p)))


def _baseline_prior(local: np.ndarray, t: np.ndarray, gamma: np.ndarray, y: np.ndarray, k: int,
                    codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (2,) and precision matrix (2, 2) of the Gaussian that stands in for v1's gamed-baseline rows:
    the judge's pooled (phi, psi) (per-model intercepts), and the Fisher information of
    REGULARIZE_TO_BASELINE * n_instructions rows at zero intercept, lambda * n_x * E[p (1 - p) x x^T]."""
    n, at = len(y), np.arange(len(y))
    x = np.column_stack([t, gamma])  # (n, 2)
    design = sparse.hstack([sparse.csr_matrix((np.ones(n), (at, local)), shape=(n, k)),
                            sparse.csr_matrix(x)]).tocsr()
    centre = _fit_logistic(design, y, np.full(k + 2, WEAK))[k:]
    p = expit(x @ centre)  # (n,) a rewrite against its own original: no intercept
    n_x = len(np.unique(codes)) if codes.min() >= 0 else int(np.bincount(local).max())
    precision = REGULARIZE_TO_BASELINE * n_x * (x * (p * (1 - p))[:, None]).T @ x / n
    return centre, precision


def _newton(X: np.ndarray, y: np.ndarray, penalty: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Weights (p,) minimising the soft-target logistic loss of X (n, p) plus 0.5 * (w - centre)^T penalty
    (w - centre) (penalty (p, p)), by Newton's method with step halving. Our own because each model's fit
    has 3 weights and a prior centre, which liblinear cannot express; a 3x3 Newton step converges in a few
    iterations."""
    def objective(w: np.ndarray) -> float:
        z, r = X @ w, w - centre
        return float(-(y * log_expit(z) + (1 - y) * log_expit(-z)).sum() + 0.5 * r @ penalty @ r)

    w = centre.astype(float).copy()
    value = objective(w)
    for _ in range(100):
        p = expit(X @ w)  # (n,)
        grad = X.T @ (p - y) + penalty @ (w - centre)  # (p,)
        hess = (X * (p * (1 - p))[:, None]).T @ X + penalty + 1e-9 * np.eye(len(w))  # (p, p)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-8 and objective(w - size * step) > value:
            size /= 2
        w = w - size * step
        value = objective(w)
        if np.abs(size * step).max() < 1e-10:
            break
    return w
