"""Statistics across an experiment's runs: per-seed summaries and paired effects with prompts nested in seeds.

The design: seeds s = 1..S are independent replicates (whole runs); each seed has its own eval prompts
p = 1..n_s (prompts are nested in seeds). For two methods m and b in the same run, the per-prompt difference
d_sp = score_m(s, p) - score_b(s, p) pairs them on the same prompt and the same reference; a metric with one
value per run (Bradley-Terry, Nash gap, ...) has one difference d_s per seed (n_s = 1).

`nested_effect` estimates the mean difference and its standard error as the balanced random-intercept model
d_sp = mu + u_s + e_sp (u_s ~ N(0, s2_seed), e_sp ~ N(0, s2_prompt)) does under REML, in closed form:

    effect = mean over seeds of the seed means  (each seed weighs the same)
    MS_B   = n * var(seed means)                (between-seed mean square, S - 1 df)
    V_T    = sum (d_sp - mean)^2 / (N - 1)      (all N = S * n differences)
    SE^2   = max(MS_B, V_T) / N

MS_B >= V_T exactly when the estimated seed variance is positive; then SE^2 = var(seed means) / S, the
one-sample t-test of the seed means, with df = S - 1. Otherwise the seed variance is at its boundary (0) and the
differences pool as one sample, df = N - 1 (with one seed, always so). For unbalanced seeds n is the mean count.
The CI is effect +- t(0.975, df) * SE, the p-value two-sided from t(df), and the minimum detectable effect at
80% power and two-sided alpha = 0.05 is

    mde = (t(0.975, df) + t(0.80, df)) * SE

i.e. the true difference this design detects 80% of the time at its measured variance. The same formulas with
n = 1 are the paired t-test over seeds.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from mnpo_bench.ratings import paired
from mnpo_bench.ratings.battles import check_battles

ALPHA, POWER = 0.05, 0.80


def prompt_scores(battles: pd.DataFrame, policies: list[str], reference: str,
                  source: str = "battles") -> pd.DataFrame:
    """Per eval prompt (rows, prompt_id) and policy (columns), the policy's mean score against `reference` over
    that prompt's battles (every answer pair, annotator and order; prob_a where the judge gave one, else
    1 / 0.5 / 0; failed judgments left out), in [0, 1]; NaN where they did not meet. The scores are
    ratings.paired's, the ones the leaderboard's paired comparisons use."""
    checked = check_battles(battles, source)
    if reference not in checked.models:
        return pd.DataFrame(index=pd.Index([], name="prompt_id"))
    scores = paired.prompt_scores(checked, checked.models.index(reference))["win_rate_vs_ref"]  # (K, n)
    prompt_ids = checked.valid["prompt_id"].cat.categories.astype(str)
    # rows are prompt codes 0..K-1, K = the largest code with a valid battle + 1
    frame = pd.DataFrame(scores, columns=checked.models, index=pd.Index(list(prompt_ids)[:len(scores)], name="prompt_id"))
    return frame[[p for p in policies if p in frame.columns]]


def nested_effect(diffs: pd.DataFrame) -> dict[str, float]:
    """The pooled mean of `diffs` (columns seed, value: one row per prompt of a seed, or per seed) with its
    standard error, t-based 95% CI, two-sided p-value and minimum detectable effect (module docstring);
    returns {effect, se, df, lo, hi, p_value, mde, n_seeds, n_units}. NaN where nothing can be estimated."""
    diffs = diffs.dropna(subset=["value"])
    n_units = len(diffs)
    seed_means = diffs.groupby("seed")["value"].mean()
    n_seeds = len(seed_means)
    out = {"effect": math.nan, "se": math.nan, "df": math.nan, "lo": math.nan, "hi": math.nan,
           "p_value": math.nan, "mde": math.nan, "n_seeds": n_seeds, "n_units": n_units}
    if n_units == 0:
        return out
    effect = float(seed_means.mean())
    out["effect"] = effect
    if n_units < 2:
        return out
    total = float(diffs["value"].var(ddof=1))
    between = float(seed_means.var(ddof=1)) * n_units / n_seeds if n_seeds > 1 else -math.inf
    se = math.sqrt(max(between, total) / n_units)
    df = n_seeds - 1 if between >= total else n_units - 1
    crit = stats.t.ppf(1 - ALPHA / 2, df)
    if se > 0:
        p_value = float(2 * stats.t.sf(abs(effect) / se, df))
    else:  # every difference identical
        p_value = 1.0 if effect == 0 else 0.0
    out.update(se=se, df=float(df), lo=effect - crit * se, hi=effect + crit * se, p_value=p_value,
               mde=float((crit + stats.t.ppf(POWER, df)) * se))
    return out


def across_seeds(values: pd.Series) -> dict[str, float]:
    """Mean, SD (ddof 1) and t-based 95% CI of the mean of per-seed `values`; {n_seeds, mean, sd, lo, hi}."""
    values = values.dropna().astype(float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    sd = float(values.std(ddof=1)) if n > 1 else math.nan
    half = stats.t.ppf(1 - ALPHA / 2, n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    return {"n_seeds": n, "mean": mean, "sd": sd, "lo": mean - half, "hi": mean + half}


def holm(p_values: pd.Series) -> pd.Series:
    """Holm's step-down adjustment of `p_values` (NaN kept), via statsmodels."""
    from statsmodels.stats.multitest import multipletests

    adjusted = p_values.copy().astype(float)
    mask = adjusted.notna()
    if mask.any():
        adjusted[mask] = multipletests(adjusted[mask].to_numpy(), method="holm")[1]
    return adjusted
