"""Which (pair, prompt) comparisons a tournament judges: round robin, baseline, Swiss or active scheduling.

`run_schedule` asks an `answer` function for battles round by round until the budget (in judge calls) is
spent, the schedule has nothing left to ask, or (active) a stopping rule holds. Every choice is a pure
function of the seed and the battles seen so far, so a re-run with a larger budget asks the same first
comparisons again (a live tournament then finds them in the judge cache, a replay draws the same battles)
and continues from there.

- round_robin: every pair on every prompt, in a seeded order (a budget keeps a random subset).
- baseline: every policy against the reference only, like AlpacaEval (O(n), blind to cycles).
- swiss: each round pairs every policy with the nearest-rated one it has met least (Swiss matchmaking).
- active: each round picks, greedily, the pairs whose next comparison most shrinks (a) the variance of the
  Bradley-Terry differences between rank neighbours not yet separated and (b) the chance that a pair's
  majority (the input of cycles and of the maximal lottery) has the wrong sign. Stops when every adjacent
  pair is separated at 95% or, when `lottery_width` is set, the maximal lottery's 95% interval is narrower.
Written here rather than taken from a library: no maintained package schedules pairwise LLM-judge games.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.ratings.bradley_terry import fit_strengths
from mnpo_bench.ratings.equilibria import maximal_lottery

SCHEDULES = ("round_robin", "baseline", "swiss", "active")
PRIOR = 2.0  # pseudo-battles of the Bradley-Terry prediction mixed into each pair's observed win rate
Z95 = 1.959963984540054


@dataclass
class ScheduleResult:
    """The battles a schedule collected and what it did: judge calls used, rounds, why it stopped."""

    battles: pd.DataFrame
    calls: int
    rounds: int
    stopped: str
    pairs_observed: int
    pairs_total: int
    budget: int | None = None
    schedule: str = ""

    def note(self) -> dict:
        """What the leaderboard states about the schedule (diagnostics.json "schedule")."""
        return {"schedule": self.schedule, "budget": self.budget, "calls": self.calls, "rounds": self.rounds,
                "stopped": self.stopped, "pairs_observed": self.pairs_observed, "pairs_total": self.pairs_total}


def check_schedule(schedule: str, budget: int | None, calls_per_match: int, where: str = "tournament") -> None:
    """A UserError (before any work) for an unknown schedule, a negative budget or one below one comparison."""
    if schedule not in SCHEDULES:
        raise UserError(f"unknown schedule '{schedule}'", where=f"{where}.schedule",
                        fix=f"{did_you_mean(schedule, list(SCHEDULES))} (one of {', '.join(SCHEDULES)})")
    if budget is not None and budget < 0:
        raise UserError(f"budget {budget} is negative", where=f"{where}.budget",
                        fix="give a number of judge calls >= 0, or null for no limit")
    if budget is not None and 0 < budget < calls_per_match or budget == 0:
        raise UserError(f"budget {budget} is below one comparison ({calls_per_match} judge calls: both orders x "
                        f"the personas judging each)", where=f"{where}.budget",
                        fix=f"give at least {calls_per_match} judge calls, or null for no limit")


def run_schedule(schedule: str, models: list[str], prompts: list[str],
                 answer: Callable[[list[tuple[str, str, str]]], pd.DataFrame], *, budget: int | None,
                 calls_per_match: int, seed: int, reference: str | None = None,
                 lottery_width: float | None = None, stop_when_separated: bool = True) -> ScheduleResult:
    """Battles collected by `schedule` over `models` x `prompts`.

    answer(matches) -> battles (model_a, model_b, winner, ...) for the asked (model_a, model_b, prompt_id)
    triples; a battle whose winner is null is a failure and does not count as a result. budget: judge calls
    (None: no limit); calls_per_match: judge calls one asked comparison costs.
    """
    check_schedule(schedule, budget, calls_per_match)
    n = len(models)
    index = {m: i for i, m in enumerate(models)}
    ref = index.get(reference if reference is not None else models[0], 0)
    rng = random.Random(f"schedule:{schedule}:{seed}")
    seen: dict[tuple[int, int], list[str]] = {}  # pair -> prompts asked, in order
    order = {pair: rng.sample(prompts, len(prompts)) for pair in _pairs(n)}  # each pair's prompt order
    W, N = np.zeros((n, n)), np.zeros((n, n))
    frames, calls, rounds, stopped = [], 0, 0, "exhausted"
    limit = None if budget is None else budget // calls_per_match
    while True:
        if limit is not None and limit - calls // calls_per_match <= 0:
            stopped = "budget"
            break
        if schedule == "active" and rounds > 0:
            reason = _stop_rule(W, N, stop_when_separated, lottery_width, rng)
            if reason:
                stopped = reason
                break
        pairs = _next_pairs(schedule, W, N, seen, order, ref, rng, len(prompts))
        matches, taken = [], {}
        room = None if limit is None else limit - calls // calls_per_match
        for i, j in pairs:
            k = len(seen.get((i, j), ())) + taken.get((i, j), 0)
            if k < len(prompts) and (room is None or len(matches) < room):
                matches.append((i, j, order[(i, j)][k]))
                taken[(i, j)] = taken.get((i, j), 0) + 1
        for i, j, prompt in matches:
            seen.setdefault((i, j), []).append(prompt)
        if not matches:
            break
        battles = answer([(models[i], models[j], p) for i, j, p in matches])
        calls += len(matches) * calls_per_match
        rounds += 1
        frames.append(battles)
        _tally(battles, index, W, N)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model_a", "model_b", "winner"])
    met = {tuple(sorted((index[a], index[b]))) for a, b in zip(table["model_a"], table["model_b"])}
    return ScheduleResult(table, calls, rounds, stopped, len(met), n * (n - 1) // 2, budget, schedule)


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def _tally(battles: pd.DataFrame, index: dict[str, int], W: np.ndarray, N: np.ndarray) -> None:
    """Add each answered battle to W (i's score against j) and N (battles), ties half a win each."""
    ok = battles["winner"].notna()
    score = battles.loc[ok, "winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5}).to_numpy()
    a = battles.loc[ok, "model_a"].map(index).to_numpy()
    b = battles.loc[ok, "model_b"].map(index).to_numpy()
    np.add.at(W, (a, b), score)
    np.add.at(W, (b, a), 1 - score)
    np.add.at(N, (a, b), 1)
    np.add.at(N, (b, a), 1)


def _estimates(W: np.ndarray, N: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(theta (n,) BT log-strengths, P (n, n) pair win rates shrunk towards BT, cov (n, n) of theta)."""
    theta = fit_strengths(W[None], N[None], ridge=1e-2)[0]
    p_bt = expit(theta[:, None] - theta[None, :])
    P = (W + PRIOR * p_bt) / (N + PRIOR)
    info = N * p_bt * (1 - p_bt)
    H = np.diag(info.sum(1)) - info + 1e-2 * np.eye(len(theta))  # BT Fisher information plus the ridge
    return theta, P, np.linalg.inv(H)


def _next_pairs(schedule: str, W: np.ndarray, N: np.ndarray, seen: dict, order: dict, ref: int,
                rng: random.Random, n_prompts: int) -> list[tuple[int, int]]:
    """The pairs (i < j) to judge this round, one prompt each (a pair may repeat)."""
    n = W.shape[0]
    open_pairs = [p for p in _pairs(n) if len(seen.get(p, ())) < n_prompts]
    if not open_pairs:
        return []
    if schedule == "round_robin":  # everything at once, in a seeded order
        pairs = [p for p in open_pairs for _ in range(n_prompts - len(seen.get(p, ())))]
        return rng.sample(pairs, len(pairs))
    if schedule == "baseline":
        pairs = [p for p in open_pairs if ref in p for _ in range(n_prompts - len(seen.get(p, ())))]
        return rng.sample(pairs, len(pairs))
    theta, P, cov = _estimates(W, N)
    if schedule == "swiss":
        return _swiss(theta, N, set(open_pairs), rng)
    return _active(theta, P, cov, N, open_pairs, rounds=max(n, len(_pairs(n)) // 2))


def _swiss(theta: np.ndarray, N: np.ndarray, open_pairs: set, rng: random.Random) -> list[tuple[int, int]]:
    """Each policy, strongest first, meets the unpaired open opponent nearest in rating, fewest meetings first."""
    ranked = sorted(range(len(theta)), key=lambda i: (-theta[i], rng.random()))
    free, pairs = set(ranked), []
    for i in ranked:
        if i not in free:
            continue
        options = [j for j in ranked if j in free and j != i and tuple(sorted((i, j))) in open_pairs]
        if not options:
            continue
        j = min(options, key=lambda j: (abs(theta[i] - theta[j]) + 0.5 * np.log1p(N[i, j])))
        free -= {i, j}
        pairs.append(tuple(sorted((i, j))))
    return pairs


def _active(theta: np.ndarray, P: np.ndarray, cov: np.ndarray, N: np.ndarray, open_pairs: list,
            rounds: int) -> list[tuple[int, int]]:
    """`rounds` greedy picks of the pair whose next battle shrinks the ranking's and the majorities' uncertainty
    most; after each pick its effect is applied (rank-one update of cov, one more battle) so picks spread."""
    n = len(theta)
    cov, count = cov.copy(), N.copy()
    i_idx = np.array([p[0] for p in open_pairs])
    j_idx = np.array([p[1] for p in open_pairs])
    U = np.zeros((len(open_pairs), n))  # (m, n) difference vectors e_i - e_j
    U[np.arange(len(open_pairs)), i_idx] = 1
    U[np.arange(len(open_pairs)), j_idx] = -1
    ranked = np.argsort(-theta, kind="stable")
    A = np.zeros((n - 1, n))  # (n-1, n) rank neighbours' difference vectors
    A[np.arange(n - 1), ranked[:-1]] = 1
    A[np.arange(n - 1), ranked[1:]] = -1
    p = P[i_idx, j_idx]
    w = p * (1 - p)  # Fisher information of one battle
    picks = []
    for _ in range(rounds):
        var_adj = np.einsum("an,nm,am->a", A, cov, A)
        unsure = norm.sf(np.abs(A @ theta) / np.sqrt(var_adj))  # chance each neighbour order is wrong
        CU = cov @ U.T  # (n, m)
        gain_rank = (unsure[:, None] * (A @ CU) ** 2).sum(0) * w / (1 + w * (U.T * CU).sum(0)) / var_adj.mean()
        c = count[i_idx, j_idx] + PRIOR
        se = np.sqrt(w / c)
        gain_sign = 2 * norm.sf(np.abs(p - 0.5) / se) * (1 - np.sqrt(c / (c + 1)))
        best = int(np.argmax(gain_rank + gain_sign))
        i, j = open_pairs[best]
        picks.append((i, j))
        u = U[best]
        cu = cov @ u
        cov -= np.outer(cu, cu) * w[best] / (1 + w[best] * u @ cu)
        count[i, j] += 1
    return picks


def _stop_rule(W: np.ndarray, N: np.ndarray, separated: bool, width: float | None, rng: random.Random) -> str:
    """Why active scheduling may stop now ("" if it may not): every rank neighbour separated at 95%, or the
    maximal lottery's 95% interval (from 20 draws of each pair's Beta posterior) narrower than `width`."""
    theta, P, cov = _estimates(W, N)
    ranked = np.argsort(-theta, kind="stable")
    diff = theta[ranked[:-1]] - theta[ranked[1:]]
    var = cov[ranked[:-1], ranked[:-1]] + cov[ranked[1:], ranked[1:]] - 2 * cov[ranked[:-1], ranked[1:]]
    if separated and (diff > Z95 * np.sqrt(var)).all():
        return "every adjacent pair separated at 95%"
    if width is not None:
        gen = np.random.default_rng(rng.randrange(2**32))
        wins = np.triu(P * (N + PRIOR), 1)
        draws = []
        for _ in range(20):
            upper = gen.beta(wins + 0.5, np.triu((1 - P) * (N + PRIOR), 1) + 0.5)
            sample = np.triu(upper, 1) + np.tril(1 - upper.T, -1)
            np.fill_diagonal(sample, 0.5)
            draws.append(maximal_lottery(sample))
        lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
        if (hi - lo).max() < width:
            return f"maximal lottery's 95% interval narrower than {width}"
    return ""
