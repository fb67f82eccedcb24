"""TD-MNPO opponent populations at t = 1..4 for k = 1..4, and the shortfall recorded when k >= t."""

from __future__ import annotations

import pytest

from mnpo_bench.train.population import opponents_for, td_missing, td_shortfall
from mnpo_bench.train.recipes import OpponentSettings

# Written out by hand: at iteration t the history is [ref, iter1, ..., iter(t-1)]; the population is its
# last k entries, most recent first, and the shortfall is how many of the k are missing.
# MISSING: the iterates asked for (t-1, ..., t-k, the reference being iterate 0) that do not exist.
MISSING = {(1, 2): ["iter-1"], (1, 3): ["iter-1", "iter-2"], (1, 4): ["iter-1", "iter-2", "iter-3"],
           (2, 3): ["iter-1"], (2, 4): ["iter-1", "iter-2"], (3, 4): ["iter-1"]}
EXPECTED = {
    (1, 1): (["ref"], 0), (1, 2): (["ref"], 1), (1, 3): (["ref"], 2), (1, 4): (["ref"], 3),
    (2, 1): (["iter1"], 0), (2, 2): (["iter1", "ref"], 0), (2, 3): (["iter1", "ref"], 1),
    (2, 4): (["iter1", "ref"], 2),
    (3, 1): (["iter2"], 0), (3, 2): (["iter2", "iter1"], 0), (3, 3): (["iter2", "iter1", "ref"], 0),
    (3, 4): (["iter2", "iter1", "ref"], 1),
    (4, 1): (["iter3"], 0), (4, 2): (["iter3", "iter2"], 0), (4, 3): (["iter3", "iter2", "iter1"], 0),
    (4, 4): (["iter3", "iter2", "iter1", "ref"], 0),
}


@pytest.mark.parametrize(("t", "k"), sorted(EXPECTED))
def test_td_population(t, k):
    history = ["ref"] + [f"iter{i}" for i in range(1, t)]
    population, shortfall = EXPECTED[(t, k)]
    assert opponents_for(OpponentSettings(population="td", k=k), history=history) == population
    assert td_shortfall(history, k) == shortfall
    assert td_missing(history, k) == MISSING.get((t, k), [])
    assert len(set(population)) == len(population)  # nobody, the reference included, is played twice
