"""Every per-model rating computed from pair matrices, batched over bootstrap rounds.

A `Game` holds W and N (R, n, n) from `Tally.matrices`, fits Bradley-Terry once, and fills pairs that never
met with the BT prediction so the matrix games are defined. `RATINGS` maps each ratings.csv column to a
small function Game -> (R, n); the point estimate is a Game with R = 1 and the bootstrap one with R rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from mnpo_bench.ratings.bradley_terry import fit_strengths, to_elo, win_probability
from mnpo_bench.ratings.diagnostics import TIE
from mnpo_bench.ratings.equilibria import maximal_lottery, nash_averaging


class Game:
    """Pair outcomes of R resamples: observed win rates where pairs met, Bradley-Terry's elsewhere."""

    def __init__(self, W: np.ndarray, N: np.ndarray, reference: int | None, near: "Game | None" = None):
        """`near`: the full-data game, when this one holds its bootstrap resamples (starts the solvers there)."""
        self.W, self.N, self.reference, self.near = W, N, reference, near  # (R, n, n) each
        self.met = N > 0
        self.theta = fit_strengths(W, N, start=near.theta if near is not None else None)  # (R, n) log-strengths
        diag = np.arange(W.shape[1])
        self.observed = np.divide(W, N, out=np.full_like(W, np.nan), where=self.met)  # (R, n, n)
        self.P = np.where(self.met, self.observed, win_probability(self.theta))  # (R, n, n)
        self.P[:, diag, diag] = 0.5
        smoothed = (W + 0.5) / (N + 1.0)  # Jeffreys-smoothed, so logits stay finite
        self.P_smooth = np.clip(np.where(self.met, smoothed, self.P), 1e-6, 1 - 1e-6)
        self.P_smooth[:, diag, diag] = 0.5

    @property
    def rounds(self) -> int:
        return self.W.shape[0]

    @cached_property
    def lottery(self) -> np.ndarray:
        """(R, n) maximal-lottery mass."""
        support = np.flatnonzero(self.near.lottery[0]) if self.near is not None else None
        return np.stack([maximal_lottery(P, support) for P in self.P])

    @cached_property
    def averaging(self) -> tuple[np.ndarray, np.ndarray]:
        """((R, n) maximum-entropy Nash mass, (R, n) Nash-averaged skill) of the logit game."""
        support = np.flatnonzero(self.near.averaging[0][0]) if self.near is not None else None
        pairs = [nash_averaging(P, support) for P in self.P_smooth]
        return np.stack([p for p, _ in pairs]), np.stack([s for _, s in pairs])


def _field_win_rate(game: Game) -> np.ndarray:
    """Expected score against the uniform mixture of the other models (the mixed-policy score)."""
    n = game.P.shape[1]
    return (game.P.sum(-1) - 0.5) / max(n - 1, 1)


def _vs_reference(game: Game) -> np.ndarray:
    """Observed win rate against the reference (NaN where a model never met it; 0.5 for the reference)."""
    if game.reference is None:
        return np.full(game.theta.shape, np.nan)
    rates = game.observed[:, :, game.reference].copy()
    rates[:, game.reference] = 0.5
    return rates


def _copeland(game: Game) -> np.ndarray:
    """Opponents beaten head-to-head (P > 1/2), ties (P = 1/2) counting half, out of n - 1."""
    margin = game.P - 0.5
    ties = (np.abs(margin) <= TIE).sum(-1) - 1  # minus the diagonal
    return (margin > TIE).sum(-1) + 0.5 * ties


RATINGS: dict[str, Callable[[Game], np.ndarray]] = {
    "bt": lambda game: to_elo(game.theta, game.reference),
    "win_rate": _field_win_rate,
    "win_rate_vs_ref": _vs_reference,
    "nash_mass": lambda game: game.lottery,
    "nash_skill": lambda game: game.averaging[1],
    "nash_avg_mass": lambda game: game.averaging[0],
    "copeland": _copeland,
}
WITH_INTERVALS = ("bt", "win_rate", "win_rate_vs_ref", "nash_mass", "nash_skill")
