"""Cyclic triads, coefficient of consistence, significant cycles and the Hodge cyclic share."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mnpo_bench.ratings.diagnostics import consistency, cyclic_share, cyclic_triads, significant_cycles


def _random_tournament(n: int, rng: np.random.Generator) -> np.ndarray:
    upper = rng.random((n, n))
    P = np.triu(upper, 1)
    return P + np.tril(1 - P.T, -1) + np.eye(n) * 0.5


def test_cyclic_triads_match_brute_force_and_kendall_formula():
    rng = np.random.default_rng(1)
    for n in (3, 4, 7, 10):
        P = _random_tournament(n, rng)
        brute = sum(1 for i, j, k in itertools.combinations(range(n), 3)
                    if (P[i, j] > .5) == (P[j, k] > .5) == (P[k, i] > .5))
        assert cyclic_triads(P) == brute
        wins = (P > 0.5).sum(1)  # Kendall: c = C(n,3) - sum C(s_i, 2) for a complete tournament
        assert brute == n * (n - 1) * (n - 2) // 6 - sum(s * (s - 1) // 2 for s in wins)


def test_consistency_bounds():
    assert consistency(3, 1) == 0.0  # one 3-cycle is as cyclic as 3 players can be
    assert consistency(4, 2) == 0.0  # (64 - 16) / 24 = 2
    assert consistency(5, 0) == 1.0
    assert consistency(5, 2) == pytest.approx(1 - 2 / 5)  # c_max = (125 - 5) / 24 = 5
    assert consistency(2, 0) == 1.0


def test_significant_cycles_need_every_step_significant():
    models = ["A", "B", "C", "D"]
    P = np.full((4, 4), 0.5)
    for i, j, p in [(0, 1, .7), (1, 2, .7), (2, 0, .7), (3, 0, .6), (3, 1, .6), (3, 2, .6)]:
        P[i, j], P[j, i] = p, 1 - p
    met = ~np.eye(4, dtype=bool)
    low = P - 0.05
    count, cycles = significant_cycles(P, low, met, models)
    assert count == 1 and cycles[0]["text"] == "A > B > C > A"
    low[1, 2] = 0.49  # B > C no longer sure
    assert significant_cycles(P, low, met, models)[0] == 0


def test_hodge_share_is_zero_for_a_ranking_and_one_for_rock_paper_scissors():
    skill = np.array([1.0, 0.3, -0.2, -1.1])
    ranking = 1 / (1 + np.exp(-(skill[:, None] - skill[None, :])))
    N = np.full((4, 4), 50.0) - 50 * np.eye(4)
    assert cyclic_share(ranking, N) == pytest.approx(0.0, abs=1e-12)
    rps = np.array([[.5, .8, .2], [.2, .5, .8], [.8, .2, .5]])
    assert cyclic_share(rps, N[:3, :3]) == pytest.approx(1.0, abs=1e-12)
    mixed = 1 / (1 + np.exp(-(np.log(rps / (1 - rps)) + skill[:3, None] - skill[None, :3])))
    share = cyclic_share(mixed, N[:3, :3])
    assert 0.0 < share < 1.0
    assert cyclic_share(mixed, N[:3, :3], subset=np.array([0, 1])) == 0.0  # two models cannot cycle
