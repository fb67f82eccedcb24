"""Preference matrices for the game lab: P (n, n) with P[i, j] = P(i ≻ j), P + Pᵀ = 1, labels (n,).

Planted games (`PLANTED`) have known structure: `rps` (the uniform equilibrium), `cycle` (a weighted
3-cycle with a non-uniform maximal lottery), `cycle_dominated` (a cycle plus a response every member beats),
`cycle_clone` (a cycle where one response has an exact copy), `random` (a seeded intransitive matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Matrix:
    """A preference matrix with its response labels and where it came from."""

    P: np.ndarray  # (n, n), P[i, j] = P(i ≻ j)
    labels: tuple[str, ...]  # (n,)
    source: str


def _from_margins(M: np.ndarray) -> np.ndarray:
    """P = 1/2 + M/2 for an antisymmetric margin matrix M (n, n) with entries in [−1, 1]."""
    return 0.5 + (M - M.T) / 4  # (M − Mᵀ)/2 keeps exact antisymmetry


def rps() -> Matrix:
    """Rock-paper-scissors with sure wins: P(i ≻ i+1) = 1; maximal lottery uniform."""
    M = np.array([[0, 1, -1], [-1, 0, 1], [1, -1, 0]], dtype=float)
    return Matrix(_from_margins(M), ("rock", "paper", "scissors"), "rps")


def cycle() -> Matrix:
    """A weighted 3-cycle: a ≻ b with margin 0.8, b ≻ c with 0.4, c ≻ a with 0.2 (a skewed, mixed equilibrium)."""
    M = np.zeros((3, 3))
    M[0, 1], M[1, 2], M[2, 0] = 0.8, 0.4, 0.2
    return Matrix(_from_margins(M - M.T), ("a", "b", "c"), "cycle")


def cycle_dominated() -> Matrix:
    """The weighted cycle plus `d`, which every cycle member beats with margin 0.6 (d gets no mass)."""
    M = np.zeros((4, 4))
    M[0, 1], M[1, 2], M[2, 0] = 0.8, 0.4, 0.2
    M[:3, 3] = 0.6
    return Matrix(_from_margins(M - M.T), ("a", "b", "c", "d"), "cycle_dominated")


def cycle_clone() -> Matrix:
    """Rock-paper-scissors where `scissors2` is an exact copy of scissors (they tie each other)."""
    base = np.array([[0, 1, -1], [-1, 0, 1], [1, -1, 0]], dtype=float)
    index = [0, 1, 2, 2]
    M = base[np.ix_(index, index)]
    return Matrix(_from_margins(M), ("rock", "paper", "scissors", "scissors2"), "cycle_clone")


def random_game(n: int = 5, seed: int = 0) -> Matrix:
    """A seeded random matrix: margins uniform in (−1, 1), redrawn until it has a cycle (no Condorcet winner)."""
    rng = np.random.default_rng(seed)
    while True:
        U = np.triu(rng.uniform(-1, 1, (n, n)), 1)
        P = _from_margins(U - U.T)
        if not ((P - np.eye(n) * 0.5 > 0.5).sum(1) == n - 1).any():
            return Matrix(P, tuple(f"y{i}" for i in range(n)), f"random(n={n}, seed={seed})")


PLANTED = {"rps": rps, "cycle": cycle, "cycle_dominated": cycle_dominated, "cycle_clone": cycle_clone,
           "random": random_game}


def check(P: np.ndarray, where: str) -> None:
    """A UserError naming `where` unless P is square with entries in [0, 1] and P[i, j] + P[j, i] = 1."""
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 2:
        raise UserError(f"the matrix must be square with at least 2 responses, got shape {P.shape}", where=where,
                        fix="give labels as the header row and as the index column")
    if not np.isfinite(P).all() or P.min() < 0 or P.max() > 1:
        raise UserError("entries must be probabilities in [0, 1]", where=where, fix="P[i][j] = P(i beats j)")
    bad = np.argwhere(np.abs(P + P.T - 1) > 1e-6)
    if len(bad):
        i, j = bad[0]
        raise UserError(f"P[{i}][{j}] + P[{j}][{i}] = {P[i, j] + P[j, i]:.4f}, not 1", where=where,
                        fix="each pair's two entries must sum to 1 (the diagonal is 0.5)")


def read_csv(path: Path) -> Matrix:
    """The matrix in a CSV whose header row and index column are the same response labels."""
    if not path.exists():
        raise UserError("matrix file not found", where=str(path), fix="give a CSV path or a planted name: "
                        + ", ".join(PLANTED))
    try:
        frame = pd.read_csv(path, index_col=0)
    except (ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"not a readable CSV ({exc})", where=str(path), fix="labels as header row and index column")
    rows, cols = [str(x) for x in frame.index], [str(x) for x in frame.columns]
    if rows != cols:
        raise UserError(f"header labels {cols} differ from index labels {rows}", where=str(path),
                        fix="the header row and the index column must list the same responses in the same order")
    try:
        P = frame.to_numpy(dtype=float)
    except ValueError:
        raise UserError("non-numeric entries", where=str(path), fix="every cell must be a probability") from None
    check(P, str(path))
    return Matrix(P, tuple(rows), str(path))


def load_matrix(spec: str, *, size: int = 5, seed: int = 0) -> Matrix:
    """A planted game by name (`random` takes `size` and `seed`) or a CSV file path."""
    if spec in PLANTED:
        return random_game(size, seed) if spec == "random" else PLANTED[spec]()
    if spec.endswith(".csv") or Path(spec).exists():
        return read_csv(Path(spec))
    raise UserError(f"unknown matrix '{spec}'", where="MATRIX", fix=did_you_mean(spec, PLANTED) + " (or a .csv path)")
