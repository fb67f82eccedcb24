"""Battles aggregated to unique outcomes per pair, and the bootstrap that resamples those counts.

Every rating here depends on the battles only through, for each unordered pair {i, j}, how many battles it
had (N_ij) and the summed score of i (W_ij; a tie is worth ½). A *cell* is one (pair, outcome) seen
`count` times. Resampling battles with replacement is exactly a multinomial draw of the cell counts, so the
bootstrap never touches the raw rows: with hard winners a million battles among 64 models are ~6,000 cells.
Soft scores (prob_a) are pooled into outcome bins of width 1/BINS, each cell keeping the mean score of its
battles: sums stay exact, and the bootstrap loses only the spread inside a bin (variance < 1/(12 BINS^2)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from mnpo_bench.errors import UserError

BINS = 32  # soft scores are pooled in bins of width 1/32 (hard winners 0, 1/2, 1 are exact bins)


@dataclass
class Tally:
    """Cells of aggregated outcomes: pair (i, j) with i < j, mean score of i, and how many battles it holds."""

    n_models: int
    i: np.ndarray  # (C,) int
    j: np.ndarray  # (C,) int
    score: np.ndarray  # (C,) float in [0, 1], the mean score of model i in the cell
    count: np.ndarray  # (C,) float, battles in the cell
    cluster: np.ndarray | None = None  # (C,) int, the cluster (prompt) of the cell's battles, if clustered

    @classmethod
    def from_codes(cls, n_models: int, a: np.ndarray, b: np.ndarray, score_a: np.ndarray,
                   cluster: np.ndarray | None = None) -> "Tally":
        """Aggregate battles given as model codes `a`, `b` (N,) and the score of `a` (N,); with `cluster`
        (N,) int codes (the prompt of each battle), cells are kept apart per cluster."""
        flip = a > b
        i, j = np.where(flip, b, a), np.where(flip, a, b)
        score = np.where(flip, 1.0 - score_a, score_a)
        level = np.rint(score * BINS).astype(np.int64)  # (N,) score bin; hard winners land on bins 0, 16, 32
        key = (i.astype(np.int64) * n_models + j) * (BINS + 1) + level
        if cluster is not None:
            key = cluster.astype(np.int64) * (n_models * n_models * (BINS + 1)) + key
        cells, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
        mean = np.bincount(inverse, weights=score) / count  # each cell's mean score keeps every sum exact
        within = cells % (n_models * n_models * (BINS + 1))
        pair = within // (BINS + 1)
        groups = cells // (n_models * n_models * (BINS + 1)) if cluster is not None else None
        return cls(n_models, pair // n_models, pair % n_models, mean, count.astype(float), groups)

    def matrices(self, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(W, N), each (R, n, n): W[r, i, j] is i's summed score against j, N[r, i, j] their battles.

        `counts` (R, C) are resampled cell counts; None means the observed counts (R = 1).
        """
        counts = self.count[None, :] if counts is None else np.asarray(counts, dtype=float)
        n, rounds = self.n_models, counts.shape[0]
        pair = self.i * n + self.j
        cells = len(pair)
        won = sparse.csr_matrix((self.score, (np.arange(cells), pair)), shape=(cells, n * n))
        met = sparse.csr_matrix((np.ones(cells), (np.arange(cells), pair)), shape=(cells, n * n))
        upper_w = np.asarray((won.T @ counts.T).T).reshape(rounds, n, n)  # i < j entries only
        upper_n = np.asarray((met.T @ counts.T).T).reshape(rounds, n, n)
        N = upper_n + upper_n.transpose(0, 2, 1)
        W = upper_w + (upper_n - upper_w).transpose(0, 2, 1)
        return W, N

    def resample(self, rounds: int, rng: np.random.Generator) -> np.ndarray:
        """(rounds, C) cell counts of `rounds` bootstrap resamples of the battles (multinomial on cells)."""
        total = int(round(self.count.sum()))
        return rng.multinomial(total, self.count / self.count.sum(), size=rounds).astype(float)

    def cluster_matrices(self, rounds: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(W, N), each (rounds, n, n), of `rounds` cluster-bootstrap resamples: the K clusters (prompts) are
        drawn K times with replacement, and a cluster drawn m times counts m times with all its battles.
        Battles on one prompt are not independent, so this interval matches the design. The sums go through
        per-cluster matrices (K, n*n), so a round costs K*n^2, whatever the number of battles."""
        if self.cluster is None:
            raise ValueError("a cluster bootstrap needs a Tally built with clusters")
        n = self.n_models
        present, local = np.unique(self.cluster, return_inverse=True)  # clusters with battles, as 0..K-1
        k = len(present)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=rounds).astype(float)  # (R, K)
        pair = self.i * n + self.j
        won = sparse.csr_matrix((self.score * self.count, (local, pair)), shape=(k, n * n))  # (K, n*n)
        met = sparse.csr_matrix((self.count, (local, pair)), shape=(k, n * n))
        upper_w = np.asarray((won.T @ draws.T).T).reshape(rounds, n, n)  # i < j entries only
        upper_n = np.asarray((met.T @ draws.T).T).reshape(rounds, n, n)
        N = upper_n + upper_n.transpose(0, 2, 1)
        W = upper_w + (upper_n - upper_w).transpose(0, 2, 1)
        return W, N


def check_connected(N: np.ndarray, models: list[str], source: str) -> None:
    """A UserError when some models never meet the others, even through third models (no common scale)."""
    graph = sparse.csr_matrix(N > 0)
    n_parts, labels = connected_components(graph, directed=False)
    if n_parts > 1:
        groups = [sorted(m for m, lab in zip(models, labels) if lab == part) for part in range(n_parts)]
        shown = "; ".join("{" + ", ".join(g[:4]) + (", ..." if len(g) > 4 else "") + "}" for g in groups[:3])
        raise UserError(f"the models fall into {n_parts} groups that never meet: {shown}", where=source,
                        fix="add battles linking the groups (ratings across them are not defined)")
