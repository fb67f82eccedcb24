"""Bias modifiers: the formulas in the docstring of mnpo_bench/panel/biases.py, checked by hand."""

from __future__ import annotations

import math

import pytest

from mnpo_bench.panel.biases import biased_prob, flip, label


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_position_length_and_temperature():
    kw = dict(len_first=10, len_second=10)
    assert biased_prob(0.5, position=0, length=0, temperature=1, **kw) == 0.5
    assert biased_prob(0.5, position=1.0, length=0, temperature=1, **kw) == pytest.approx(sig(1.0))  # 0.731
    # first is 20 chars, second 10: length term = 2.0 * (20 - 10) / 20 = 1.0 logit toward the first (longer)
    assert biased_prob(0.5, position=0, length=2.0, temperature=1, len_first=20, len_second=10) == pytest.approx(sig(1.0))
    assert biased_prob(0.5, position=0, length=-2.0, temperature=1, len_first=20, len_second=10) == pytest.approx(sig(-1.0))
    # temperature divides the logit: logit(0.8) = 1.386; T = 0.5 -> sig(2.773) = 0.941
    assert biased_prob(0.8, position=0, length=0, temperature=0.5, **kw) == pytest.approx(sig(2 * math.log(4)))
    assert biased_prob(0.55, position=0, length=0, temperature=0, **kw) == 1.0
    assert biased_prob(0.6, position=-1.0, length=0, temperature=0, **kw) == 0.0  # bias applies before hardening
    assert biased_prob(0.5, position=0, length=0, temperature=0, **kw) == 0.5


def test_noise_is_seeded_per_comparison_and_has_the_set_rate():
    keys = [f"k{i}" for i in range(4000)]
    flips = [flip(0.2, seed=0, key=k) for k in keys]
    assert flips == [flip(0.2, seed=0, key=k) for k in keys]  # reproducible
    assert abs(sum(flips) / len(keys) - 0.2) < 0.02
    other_seed = [flip(0.2, seed=1, key=k) for k in keys]
    assert other_seed != flips
    assert not any(flip(0.0, seed=0, key=k) for k in keys[:100])


def test_labels_and_ties():
    assert label(0.9, 0.0) == "first" and label(0.1, 0.0) == "second"
    assert label(0.5, 0.0) == "tie" and label(0.7 * 0.5 + 0.3 * 0.5, 0.0) == "tie"  # float rounding is still a tie
    assert label(0.55, 0.1) == "tie" and label(0.65, 0.1) == "first"
