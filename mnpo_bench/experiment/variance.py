"""Where the across-seed spread of a per-prompt metric comes from: evaluation noise, or the training itself.

For one cell and method, each seed s gives a run whose score on its n_s eval prompts averages to m_s. The spread
of m_s over seeds has two sources: the evaluation (which prompts were drawn, which answers were sampled and how
the judges voted: the variance of m_s given that run's policy) and the training (the policy itself differs from
seed to seed). A one-way analysis of variance separates them by the method of moments:

    sd_seeds^2 = var over seeds of m_s                     (ddof 1)
    sd_eval^2  = mean over seeds of var_p(score_sp) / n_s   (each run's own prompt-cluster variance of its mean)
    sd_train^2 = max(0, sd_seeds^2 - sd_eval^2)             (E[sd_seeds^2] = sd_train^2 + E[sd_eval^2])

Only sd_eval shrinks with more eval prompts (as 1 / sqrt(n_eval); more answers per prompt shrink its answer
part only); sd_train is what no evaluation can remove. sd_lo / sd_hi is the chi-square 95% CI of sd_seeds
(S - 1 degrees of freedom): with 5 seeds an SD is known only to within a factor of about 0.6 to 2.9.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

VARIANCE_COLUMNS = ["cell", "method", "n_seeds", "n_prompts", "mean", "sd_seeds", "sd_lo", "sd_hi", "sd_eval",
                    "sd_train", "sd_at_2x_prompts"]


def decompose(scores: pd.DataFrame) -> dict[str, float]:
    """The decomposition (module docstring) of per-prompt `scores` (columns seed, value) of one cell and method;
    returns {n_seeds, n_prompts (mean per seed), mean, sd_seeds, sd_lo, sd_hi, sd_eval, sd_train,
    sd_at_2x_prompts (the predicted sd_seeds with twice the eval prompts)}, in the metric's units."""
    scores = scores.dropna(subset=["value"])
    by_seed = scores.groupby("seed")["value"]
    means, counts = by_seed.mean(), by_seed.count()
    n_seeds = len(means)
    within = (by_seed.var(ddof=1) / counts).mean() if n_seeds else math.nan
    sd = float(means.std(ddof=1)) if n_seeds > 1 else math.nan
    lo = hi = math.nan
    if n_seeds > 1:
        dof = n_seeds - 1
        lo, hi = sd * math.sqrt(dof / stats.chi2.ppf(0.975, dof)), sd * math.sqrt(dof / stats.chi2.ppf(0.025, dof))
    sd_eval = math.sqrt(within) if not math.isnan(within) else math.nan
    sd_train = math.sqrt(max(0.0, sd ** 2 - within)) if n_seeds > 1 else math.nan
    return {"n_seeds": n_seeds, "n_prompts": float(counts.mean()) if n_seeds else math.nan,
            "mean": float(means.mean()) if n_seeds else math.nan, "sd_seeds": sd, "sd_lo": lo, "sd_hi": hi,
            "sd_eval": sd_eval, "sd_train": sd_train,
            "sd_at_2x_prompts": math.sqrt(sd_train ** 2 + within / 2) if n_seeds > 1 else math.nan}


def variance_table(prompts: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, method) of the per-prompt scores `prompts` (cell, seed, method, prompt_id, value):
    the decomposition of its across-seed SD (VARIANCE_COLUMNS)."""
    rows = [{"cell": cell, "method": method, **decompose(group)}
            for (cell, method), group in prompts.groupby(["cell", "method"], sort=False)]
    return pd.DataFrame(rows, columns=VARIANCE_COLUMNS)


def variance_markdown(table: pd.DataFrame, metric: str) -> list[str]:
    """report.md lines: the decomposition table of one cell's methods."""
    lines = [f"Where the across-seed SD of {metric} comes from (experiment/variance.py): sd_eval is the evaluation's "
             "own noise (prompts, answers, votes), sd_train the policy's seed-to-seed change that no evaluation "
             "removes; sd 95% CI chi-square over seeds.", "",
             "| method | SD over seeds | 95% CI | sd_eval | sd_train | SD predicted at 2× eval prompts |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.method} | {r.sd_seeds:.4f} | [{r.sd_lo:.4f}, {r.sd_hi:.4f}] | {r.sd_eval:.4f} | "
                     f"{r.sd_train:.4f} | {r.sd_at_2x_prompts:.4f} |")
    return lines + [""]
