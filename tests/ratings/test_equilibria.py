"""Maximal lottery and Nash averaging on games whose equilibria are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

from mnpo_bench.ratings.equilibria import logit_game, maximal_lottery, nash_averaging, symmetric_equilibrium

from .planted import PLANTED_LOTTERY, cycle_matrix


def test_asymmetric_cycle_with_a_dominated_model():
    """p ∝ (b', c', a') for margins a' = 0.2, b' = 0.4, c' = 0.6 (derivation in planted.py); D gets nothing."""
    models, P = cycle_matrix()
    assert maximal_lottery(P) == pytest.approx([PLANTED_LOTTERY[m] for m in models], abs=1e-9)
    mass, skill = nash_averaging(P)
    b, c, a = logit(0.7), logit(0.8), logit(0.6)  # the same algebra on the logit game
    assert mass == pytest.approx(np.array([b, c, a, 0]) / (a + b + c), abs=1e-9)
    assert skill == pytest.approx([0, 0, 0, logit(0.2)], abs=1e-9)


def test_a_clone_splits_mass_and_leaves_skill_unchanged():
    models, P = cycle_matrix()
    clone_models, P_clone = cycle_matrix(clone=True)
    mass, skill = nash_averaging(P)
    mass_c, skill_c = nash_averaging(P_clone)
    assert skill_c[:4] == pytest.approx(skill, abs=1e-9)  # nobody's skill moves
    assert skill_c[4] == pytest.approx(skill[0], abs=1e-9)  # the clone is as skilled as A
    assert mass_c[0] == pytest.approx(mass[0] / 2, abs=1e-9) and mass_c[4] == pytest.approx(mass[0] / 2, abs=1e-9)
    lottery = maximal_lottery(P_clone)  # maximum entropy splits the lottery evenly too
    assert lottery == pytest.approx([1 / 6, 1 / 2, 1 / 6, 0, 1 / 6], abs=1e-9)


def test_condorcet_winner_takes_all_and_solution_is_an_equilibrium():
    rng = np.random.default_rng(0)
    n = 12
    skill = np.sort(rng.normal(0, 1, n))[::-1]
    P = 1 / (1 + np.exp(-(skill[:, None] - skill[None, :])))
    assert maximal_lottery(P) == pytest.approx(np.eye(n)[0], abs=1e-9)
    noise = rng.normal(0, 1.5, (n, n))
    A = logit_game(np.clip(P, 0.01, 0.99)) + (noise - noise.T)
    p = symmetric_equilibrium(A)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    assert (A @ p).max() < 1e-7  # no model gains against the equilibrium mixture


def test_support_guess_is_verified_not_trusted():
    models, P = cycle_matrix()
    A = P - P.T
    right = symmetric_equilibrium(A, support=np.array([0, 1, 2]))
    wrong = symmetric_equilibrium(A, support=np.array([0, 3]))  # not an equilibrium: the LP takes over
    assert right == pytest.approx(wrong, abs=1e-9)
    assert right == pytest.approx([1 / 3, 1 / 2, 1 / 6, 0], abs=1e-9)
