"""Planted tournaments with known answers, as battles tables (shared by the ratings tests).

The asymmetric cycle A > B > C > A has P(A beats B) = a, P(B beats C) = b, P(C beats A) = c. Its margin game
has payoffs a' = 2a - 1 etc., and the equilibrium makes every pure strategy earn 0 against it:
    A: a' p_B - c' p_C = 0,   B: b' p_C - a' p_A = 0   =>   p ∝ (b', c', a').
With a, b, c = 0.6, 0.7, 0.8 the margins are 0.2, 0.4, 0.6, so the maximal lottery is (1/3, 1/2, 1/6).
D loses every game with probability 0.8, so it gets no mass, and its Nash-averaged skill is
logit(0.2) = -log 4 whatever mixture of A, B, C the equilibrium is.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

A_B, B_C, C_A, VS_D = 0.6, 0.7, 0.8, 0.8
PLANTED_LOTTERY = {"A": 1 / 3, "B": 1 / 2, "C": 1 / 6, "D": 0.0}
LATIN_SQUARE = {"p1": ["A", "B", "C"], "p2": ["B", "C", "A"], "p3": ["C", "A", "B"]}  # each persona's ranking


def cycle_matrix(clone: bool = False) -> tuple[list[str], np.ndarray]:
    """(models, P) of the cycle plus dominated D; with `clone`, A2 is a copy of A."""
    models = ["A", "B", "C", "D"]
    P = np.full((4, 4), 0.5)
    for i, j, p in [(0, 1, A_B), (1, 2, B_C), (2, 0, C_A), (0, 3, VS_D), (1, 3, VS_D), (2, 3, VS_D)]:
        P[i, j], P[j, i] = p, 1 - p
    if clone:
        models.append("A2")
        P = P[np.ix_([0, 1, 2, 3, 0], [0, 1, 2, 3, 0])]
        P[0, 4] = P[4, 0] = 0.5
    return models, P


def sample_battles(models: list[str], P: np.ndarray, per_pair: int, seed: int, annotator: str = "judge") -> pd.DataFrame:
    """`per_pair` battles for every pair, winners drawn from P, alternating which side is shown first."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, j in itertools.combinations(range(len(models)), 2):
        wins = rng.random(per_pair) < P[i, j]
        for k, won in enumerate(wins):
            rows.append((models[i], models[j], "model_a" if won else "model_b", f"q{k}", annotator, "ab" if k % 2 else "ba"))
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "prompt_id", "annotator", "order"])


def exact_battles(models: list[str], P: np.ndarray, per_pair: int = 10) -> pd.DataFrame:
    """Battles whose counts are exactly per_pair * P (P must be a multiple of 1 / per_pair)."""
    rows = []
    for i, j in itertools.combinations(range(len(models)), 2):
        wins = int(round(P[i, j] * per_pair))
        rows += [(models[i], models[j], "model_a" if k < wins else "model_b") for k in range(per_pair)]
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def latin_square_battles(prompts: int, flip: float, seed: int) -> pd.DataFrame:
    """Three personas with transitive rankings in a Latin square judge every pair of A, B, C on every prompt,
    each verdict flipped with probability `flip`: each persona is consistent, the majority is a cycle."""
    rng = np.random.default_rng(seed)
    rows = []
    for persona, ranking in LATIN_SQUARE.items():
        for prompt in range(prompts):
            for x, y in itertools.combinations("ABC", 2):
                if prompt % 2:  # each side is model_a (and shown first) half the time
                    x, y = y, x
                first_wins = ranking.index(x) < ranking.index(y)
                if rng.random() < flip:
                    first_wins = not first_wins
                rows.append((x, y, "model_a" if first_wins else "model_b", f"q{prompt}", persona, "ab"))
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "prompt_id", "annotator", "order"])
