"""The per-sequence sampler (generation/hf.exponential_race): exact draws from each row's distribution, and the
coupling that common random numbers rely on. Expected values come from scipy's chi-square test and the
Gumbel-max coupling bound P(same) >= (1 - TV) / (1 + TV), not from the sampler."""

import numpy as np
import torch
from scipy import stats

from mnpo_bench.generation.hf import exponential_race


def _draws(probs: torch.Tensor, seed: int, n: int) -> np.ndarray:
    generators = [torch.Generator().manual_seed(seed * 1_000_003 + k) for k in range(n)]
    return exponential_race(probs.expand(n, -1), generators).numpy()


def test_draws_follow_the_row_distribution_including_unnormalised_and_zero_mass():
    weights = torch.tensor([5.0, 3.0, 0.0, 1.5, 0.5])  # sums to 10; a zero (nucleus-filtered) token
    draws = _draws(weights, seed=1, n=20_000)
    counts = np.bincount(draws, minlength=5)
    assert counts[2] == 0
    keep = weights.numpy() > 0
    expected = weights.numpy()[keep] / weights.sum().item() * len(draws)
    assert stats.chisquare(counts[keep], expected).pvalue > 1e-3


def test_rows_use_only_their_own_generator():
    probs = torch.tensor([[0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
    alone = exponential_race(probs[1:], [torch.Generator().manual_seed(7)])
    together = exponential_race(probs, [torch.Generator().manual_seed(99), torch.Generator().manual_seed(7)])
    assert together[1] == alone[0]


def test_shared_numbers_couple_close_distributions():
    p = torch.tensor([0.40, 0.30, 0.20, 0.10])
    q = torch.tensor([0.35, 0.30, 0.20, 0.15])
    tv = 0.5 * (p - q).abs().sum().item()  # 0.05
    n = 20_000
    same = (_draws(p, seed=4, n=n) == _draws(q, seed=4, n=n)).mean()
    independent = float((p * q).sum())  # P(same) with independent numbers: 0.275
    assert same >= (1 - tv) / (1 + tv) - 0.01  # 0.905 at least
    assert same > independent + 0.5
