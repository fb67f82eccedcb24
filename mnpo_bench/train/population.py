"""Opponent populations: who each player plays at iteration t.

TD-MNPO (time-dependent): the opponents are the last k iterates of the player itself, most recent first;
the reference counts as iterate 0, so at t = 1 the population is the reference alone.
HT-MNPO (heterogeneous): one player per panel persona, each trained on its own persona's labels; a
player's opponents are the other players' current iterates (all the reference at t = 1).
A loss without opponents (DPO, IPO, SimPO) gets an empty population.
"""

from __future__ import annotations

from mnpo_bench.train.recipes import OpponentSettings


def td_opponents(history: list[str], k: int) -> list[str]:
    """The last `k` of `history` = [reference, iter1, ..., iter(t-1)], most recent first."""
    if not history:
        raise ValueError("history must start with the reference policy")
    return list(reversed(history))[:k]


def td_shortfall(history: list[str], k: int) -> int:
    """How many of the `k` opponents TD-MNPO asks for do not exist yet: k - t when k >= t = len(history)
    (the population then holds every iterate so far, the reference included once), else 0."""
    return max(0, k - len(history))


def td_missing(history: list[str], k: int) -> list[str]:
    """The names of the iterates TD-MNPO asks for that do not exist: at t = len(history) it asks for
    iterates t-1, ..., t-k (the reference is iterate 0), so those below 0, most recent first
    (t = 1, k = 3: ["iter-1", "iter-2"]); [] when k < t + 1. Nothing replaces them: the population is the
    t policies that exist, each once, and the recipe's first t weights are renormalised over them."""
    t = len(history)
    return [f"iter{t - 1 - j}" for j in range(t, k)]


def ht_opponents(players: dict[str, str], me: str) -> list[str]:
    """The current checkpoints of every player except `me`, in persona order."""
    if me not in players:
        raise ValueError(f"unknown player {me!r}")
    return [path for persona, path in sorted(players.items()) if persona != me]


def opponents_for(settings: OpponentSettings, *, history: list[str], players: dict[str, str] | None = None,
                  me: str | None = None) -> list[str]:
    """The opponent checkpoints for one player at one iteration under `settings` (see module docstring)."""
    if settings.population == "td":
        return td_opponents(history, settings.k)
    if settings.population == "ht":
        if players is None or me is None:
            raise ValueError("an ht population needs the players and the player's persona")
        return ht_opponents(players, me)
    return []
