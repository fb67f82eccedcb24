"""Run the lab: every chosen method's update from the reference, measured each iteration.

Measured per iteration t (t = 1 is the first update), in units of win probability:
- exploitability e(π) = max_i P(i ≻ π) − ½ of the last iterate π_t and of the average iterate (π_1 + … + π_t)/t;
- kl_to_equilibrium = KL(π* ‖ π_t) in nats, π* the method's own fixed point: the KL-regularised equilibrium
  π* ∝ π_ref·exp(P π*/τ) when the method regularises with strength τ, else the maximal lottery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import root
from scipy.special import softmax

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.game.matrices import Matrix
from mnpo_bench.game.updates import METHODS, normalise
from mnpo_bench.ratings.equilibria import maximal_lottery

TRAJECTORY_COLUMNS = ["method", "iteration", "exploitability", "exploitability_avg", "kl_to_equilibrium"]


def exploitability(P: np.ndarray, pi: np.ndarray) -> float:
    """max_i P(i ≻ π) − ½ for the policy π (n,); 0 exactly at a symmetric Nash equilibrium."""
    return float((P @ pi).max() - 0.5)


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) in nats, with 0·log 0 = 0."""
    on = p > 0
    return float((p[on] * (np.log(p[on]) - np.log(np.maximum(q[on], 1e-300)))).sum())


def regularised_equilibrium(P: np.ndarray, ref: np.ndarray, tau: float) -> np.ndarray:
    """π* (n,) with π* ∝ ref·exp(P π*/τ): the unique equilibrium of the KL-regularised game (solved as the
    root of z − normalise(log ref + P·softmax(z)/τ) by scipy's hybrid Powell method)."""
    log_ref = np.log(ref)
    result = root(lambda z: z - normalise(log_ref + P @ softmax(z) / tau), log_ref, method="hybr", tol=1e-13)
    pi = softmax(result.x)
    if np.abs(normalise(log_ref + P @ pi / tau) - np.log(pi)).max() > 1e-6:
        raise RuntimeError(f"regularised equilibrium did not converge: {result.message}")
    return pi


def settings_for(name: str, overrides: dict | None = None) -> dict:
    """The lab parameters of method `name`: its defaults with `overrides` ({param: value}) applied."""
    if name not in METHODS:
        raise UserError(f"unknown method '{name}'", where="--methods", fix=did_you_mean(name, METHODS))
    params = dict(METHODS[name].defaults)
    for key, value in (overrides or {}).items():
        if key not in params:
            raise UserError(f"method '{name}' has no parameter '{key}'", where="--param",
                            fix=did_you_mean(key, params))
        params[key] = type(params[key])(value)
    return params


@dataclass
class LabResult:
    """What one lab run produced: tables of the trajectory, the iterates and the populations."""

    matrix: Matrix
    trajectory: pd.DataFrame  # TRAJECTORY_COLUMNS
    policies: pd.DataFrame  # method, iteration, response, mass (the last iterate; iteration 0 = reference)
    population: pd.DataFrame  # method, iteration, opponent, response, mass (whose samples were labelled)
    equilibrium: np.ndarray  # (n,) the maximal lottery of P
    fixed_points: dict[str, np.ndarray]  # method -> (n,) its π*


def run_lab(matrix: Matrix, methods: list[str], iterations: int = 200, *, params: dict[str, dict] | None = None,
            reference: np.ndarray | None = None) -> LabResult:
    """Run every method in `methods` for `iterations` updates from `reference` (default uniform) on `matrix`;
    `params` maps a method to parameter overrides."""
    if iterations < 1:
        raise UserError("iterations must be at least 1", where="--iterations", fix="pass a positive integer")
    P, n = matrix.P, len(matrix.labels)
    ref = np.full(n, 1 / n) if reference is None else np.asarray(reference, float)
    log_ref = np.log(ref)
    lottery = maximal_lottery(P)
    settings = {m: settings_for(m, (params or {}).get(m)) for m in methods}
    rows, policies, population, fixed = [], [], [], {}
    for name in methods:
        method, p = METHODS[name], settings[name]
        tau = method.tau(p)
        target = regularised_equilibrium(P, ref, tau) if tau else lottery
        fixed[name] = target
        hist, state, total = [log_ref], {}, np.zeros(n)
        policies += [(name, 0, label, m) for label, m in zip(matrix.labels, ref)]
        for t in range(1, iterations + 1):
            z, opponents = method.update(P, log_ref, hist, p, state)
            hist.append(z)
            pi = softmax(z)
            total += pi
            rows.append((name, t, exploitability(P, pi), exploitability(P, total / t), max(kl(target, pi), 0.0)))
            policies += [(name, t, label, m) for label, m in zip(matrix.labels, pi)]
            for j, opp in enumerate(opponents, start=1):
                population += [(name, t, j, label, m) for label, m in zip(matrix.labels, softmax(opp))]
    return LabResult(
        matrix,
        pd.DataFrame(rows, columns=TRAJECTORY_COLUMNS),
        pd.DataFrame(policies, columns=["method", "iteration", "response", "mass"]),
        pd.DataFrame(population, columns=["method", "iteration", "opponent", "response", "mass"]),
        lottery,
        fixed,
    )
