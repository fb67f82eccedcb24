"""From checked battles to every table of the leaderboard (in memory; leaderboard.py writes them).

Point estimates come from all decided battles; 95% intervals are bootstrap percentiles (`bootstrap` rounds,
seeded) over prompts resampled with all their battles (a cluster bootstrap), or over battles on request. Pairs that never met are filled with the Bradley-Terry
prediction for the field win rate, Copeland and the equilibria (counted in diagnostics as imputed_pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.ratings.annotators import annotator_stats, rank_spread
from mnpo_bench.ratings.battles import Battles
from mnpo_bench.ratings.diagnostics import consistency, cyclic_share, cyclic_triads, significant_cycles
from mnpo_bench.ratings.game import RATINGS, WITH_INTERVALS, Game
from mnpo_bench.ratings.length_control import lc_win_rates
from mnpo_bench.ratings.length_control_alpaca import alpaca_lc_win_rates
from mnpo_bench.ratings.nash_gap import COLUMNS as NASH_COLUMNS
from mnpo_bench.ratings.nash_gap import nash_table
from mnpo_bench.ratings.paired import paired_table
from mnpo_bench.ratings.resample import percentiles
from mnpo_bench.ratings.tally import Tally, check_connected

SUPPORT = 1e-6  # maximal-lottery mass above this is "in the equilibrium support"


@dataclass
class Leaderboard:
    """The leaderboard's tables: ratings (one row per model), matrix, diagnostics, annotators, per-annotator
    ratings, paired comparisons (paired.COLUMNS)."""

    ratings: pd.DataFrame
    matrix: pd.DataFrame
    diagnostics: dict
    annotators: pd.DataFrame
    annotator_ratings: pd.DataFrame
    paired: pd.DataFrame | None = None


def resolve_reference(battles: Battles, reference: str | None, option: str = "--reference") -> int | None:
    """Index of the reference model: the one named, or (None) the model present in every battle, if any.
    `option` is how the user names the reference (in the error's fix)."""
    models = battles.models
    if reference is not None:
        if reference not in models:
            raise UserError(f"reference model '{reference}' has no battles", where=battles.source,
                            fix=f"set {option} to a model in the file: {did_you_mean(reference, models)}")
        return models.index(reference)
    a, b = battles.valid["a"].to_numpy(), battles.valid["b"].to_numpy()
    everywhere = [m for m in {a[0], b[0]} if ((a == m) | (b == m)).all()]  # such a model is in the first battle
    return int(everywhere[0]) if len(everywhere) == 1 and len(models) > 2 else None


RESAMPLE = ("prompts", "battles")
LENGTH_CONTROL = {"pooled": lc_win_rates, "alpaca-eval": alpaca_lc_win_rates}  # length_control.py, length_control_alpaca.py


def rate(battles: Battles, *, reference: str | None, bootstrap: int, seed: int,
         reference_option: str = "--reference", resample: str = "prompts",
         responses: pd.DataFrame | None = None, length_control: str = "pooled") -> Leaderboard:
    """Every rating, interval, diagnostic and annotator table of `battles`.

    responses: the run's answers (response_id, text), so the Nash gap and diversity know identical texts.
    resample: "prompts" (default) bootstraps prompts, each with all its battles (a cluster bootstrap), where
    every battle names its prompt; "battles" resamples battles as if independent.
    length_control: how lc_win_rate_vs_ref is fitted, a key of LENGTH_CONTROL ("pooled": one joint GLM;
    "alpaca-eval": AlpacaEval 2's per-model GLM).
    """
    if resample not in RESAMPLE:
        raise UserError(f"unknown bootstrap resampling '{resample}'", where="leaderboard.resample",
                        fix=did_you_mean(resample, RESAMPLE))
    if length_control not in LENGTH_CONTROL:
        raise UserError(f"unknown length control '{length_control}'", where="--length-control",
                        fix=did_you_mean(length_control, list(LENGTH_CONTROL)))
    lc_rates = LENGTH_CONTROL[length_control]
    models, n = battles.models, len(battles.models)
    ref = resolve_reference(battles, reference, reference_option)
    valid = battles.valid
    prompt_codes = valid["prompt_id"].cat.codes.to_numpy()
    clustered = resample == "prompts" and len(valid) > 0 and bool((prompt_codes >= 0).all())
    tally = Tally.from_codes(n, valid["a"].to_numpy(), valid["b"].to_numpy(), valid["score_a"].to_numpy(),
                             cluster=prompt_codes if clustered else None)
    W, N = tally.matrices()
    check_connected(N[0], models, battles.source)
    point = Game(W, N, ref)
    rng = np.random.default_rng(seed)
    boot = None
    if bootstrap > 0:
        resampled = tally.cluster_matrices(bootstrap, rng) if clustered else tally.matrices(tally.resample(bootstrap, rng))
        boot = Game(*resampled, ref, near=point)

    table = pd.DataFrame({"model": models})
    for name, rating in RATINGS.items():
        table[name] = rating(point)[0]
        if name in WITH_INTERVALS:
            low, high = _interval(rating(boot)) if boot is not None else (np.full(n, np.nan),) * 2
            table[f"{name}_lo"], table[f"{name}_hi"] = low, high
    table["lc_win_rate_vs_ref"] = lc_rates(valid, n, ref) if ref is not None else np.nan
    low, high = (table["bt_lo"], table["bt_hi"]) if boot is not None else (table["bt"], table["bt"])
    table["rank_ub"] = 1 + (low.to_numpy()[None, :] > high.to_numpy()[:, None]).sum(1)
    table["n_battles"] = N[0].sum(1).astype(int)
    frame = battles.frame
    table["failures"] = (np.bincount(frame["a"][frame["failed"]], minlength=n)
                         + np.bincount(frame["b"][frame["failed"]], minlength=n))

    gaps, gaps_per_annotator = nash_table(battles, responses, bootstrap, seed)
    for column in NASH_COLUMNS:
        table[column] = gaps[column].to_numpy()
    per_annotator = _per_annotator(battles, ref, lc_rates).merge(
        gaps_per_annotator.drop(columns="nash_gap_prompts"), on=["annotator", "model"], how="left")
    spread = rank_spread(per_annotator).reindex(models)
    table["rank_spread"] = spread["rank_spread"].to_numpy()
    order = table.sort_values(["bt", "model"], ascending=[False, True]).index
    table = table.loc[order].reset_index(drop=True)
    matrix = pd.DataFrame(point.observed[0], index=models, columns=models).loc[table["model"], table["model"]]
    diagnostics = _diagnostics(point, boot, models, ref, battles, spread)
    diagnostics["bootstrap_resamples"] = "prompts" if clustered else "battles"
    paired = paired_table(battles, ref, list(table["model"]), bootstrap, seed)
    return Leaderboard(table, matrix.rename_axis("model"), diagnostics, annotator_stats(battles), per_annotator, paired)


def _interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5% and 97.5% bootstrap percentiles over rounds (axis 0), NaN where every round is NaN (a model that
    never met the reference)."""
    return percentiles(values)


def _per_annotator(battles: Battles, ref: int | None, lc_rates=lc_win_rates) -> pd.DataFrame:
    """Long table: annotator, model, every rating of RATINGS, lc_win_rate_vs_ref, rank (by bt), n_battles."""
    rows = []
    for annotator, valid in battles.valid.groupby("annotator", sort=True):
        seen = np.union1d(valid["a"], valid["b"])  # rate only the models this annotator judged
        local = np.full(len(battles.models), -1)
        local[seen] = np.arange(len(seen))
        valid = valid.assign(a=local[valid["a"]], b=local[valid["b"]])
        sub_ref = int(local[ref]) if ref is not None and local[ref] >= 0 else None
        tally = Tally.from_codes(len(seen), valid["a"].to_numpy(), valid["b"].to_numpy(), valid["score_a"].to_numpy())
        W, N = tally.matrices()
        game = Game(W, N, sub_ref)
        part = pd.DataFrame({"annotator": annotator, "model": [battles.models[m] for m in seen]})
        for name, rating in RATINGS.items():
            part[name] = rating(game)[0]
        part["lc_win_rate_vs_ref"] = lc_rates(valid, len(seen), sub_ref) if sub_ref is not None else np.nan
        part["n_battles"] = N[0].sum(1).astype(int)
        part["rank"] = part["bt"].rank(ascending=False, method="min").astype(int)
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


def _diagnostics(point: Game, boot: Game | None, models: list[str], ref: int | None, battles: Battles,
                 spread: pd.DataFrame) -> dict:
    """diagnostics.json: intransitivity measures, equilibria with intervals, rank spread, data counts."""
    n = len(models)
    P, N, met = point.P[0], point.N[0], point.met[0]
    if boot is not None:
        P_low = np.where(np.isnan(boot.observed), 0.5, boot.observed)  # a pair unmet in a round proves nothing
        P_low = np.percentile(P_low, 2.5, axis=0)
    else:
        P_low = np.full_like(P, 0.5)  # without a bootstrap no cycle can be called significant
    triads = cyclic_triads(P)
    n_cycles, cycles = significant_cycles(P, P_low, met, models)
    lottery = point.lottery[0]
    support = np.flatnonzero(lottery > SUPPORT)
    lottery_ci = _interval(boot.lottery) if boot is not None else (lottery, lottery)
    mass, skill = point.averaging[0][0], point.averaging[1][0]
    frame = battles.frame
    return {
        "n_models": n,
        "n_battles": int(N.sum() / 2),
        "n_failures": int(frame["failed"].sum()),
        "reference": models[ref] if ref is not None else None,
        "bootstrap": 0 if boot is None else boot.rounds,
        "imputed_pairs": int((~met).sum() - n) // 2,
        "cyclic_triads": triads,
        "max_cyclic_triads": int(((n**3 - n) if n % 2 else (n**3 - 4 * n)) // 24),
        "consistency": consistency(n, triads),
        "cycles": cycles,
        "n_significant_cycles": n_cycles,
        "curl_share": cyclic_share(point.P_smooth[0], N),
        "curl_share_support": cyclic_share(point.P_smooth[0], N, support),
        "graph_complete": bool(met.sum() == n * n - n),
        "condorcet_winner": next((models[i] for i in range(n) if (P[i, np.arange(n) != i] > 0.5).all()), None),
        "maximal_lottery": {models[i]: float(lottery[i]) for i in np.argsort(-lottery, kind="stable")},
        "maximal_lottery_ci": {models[i]: [float(lottery_ci[0][i]), float(lottery_ci[1][i])] for i in range(n)},
        "nash_averaging": {models[i]: {"mass": float(mass[i]), "skill": float(skill[i])} for i in range(n)},
        "rank_spread": {m: {k: (None if pd.isna(v) else int(v)) for k, v in row.items()} for m, row in spread.iterrows()},
    }
