"""Non-transitivity measures of the panel on one prompt's responses, against hand-derived values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mnpo_bench.panel.cycles import non_transitivity


def table(rows):
    return pd.DataFrame(rows, columns=["prompt_id", "response_a_id", "response_b_id", "prob_a"])


def test_rock_paper_scissors_is_all_curl_and_a_uniform_lottery():
    """a > b, b > c, c > a, each at 0.8: the logit flow y = logit 0.8 on every edge of the 3-cycle has no
    gradient part (the scores solving the least squares are equal), so the curl share is 1; the maximal
    lottery of the symmetric cycle is (1/3, 1/3, 1/3), mixed."""
    got = non_transitivity(table([("p", "a", "b", 0.8), ("p", "b", "c", 0.8), ("p", "c", "a", 0.8)]))
    assert got["curl_share"] == pytest.approx(1.0)
    assert got["mixed_lottery_share"] == 1.0 and got["lottery_prompts"] == 1


def test_a_ranking_has_no_curl_and_a_pure_lottery():
    """a > b > c with P = sigmoid(s_i - s_j) for s = (2, 1, 0) is a pure gradient flow: curl share 0; a
    Condorcet winner (a) takes all the lottery's mass."""
    s = {"a": 2.0, "b": 1.0, "c": 0.0}
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    rows = [("p", x, y, sig(s[x] - s[y])) for x, y in (("a", "b"), ("b", "c"), ("a", "c"))]
    got = non_transitivity(table(rows))
    assert got["curl_share"] == pytest.approx(0.0, abs=1e-9)
    assert got["mixed_lottery_share"] == 0.0


def test_shares_over_prompts():
    """A cyclic prompt and a transitive one whose flow is y = logit 0.9 on x>y, y>z and x>z. Its best score
    fit (a = s_x - s_y, b = s_y - s_z) minimises (a - y)^2 + (b - y)^2 + (a + b - y)^2: a = b = 2y/3,
    residuals y/3 on each edge, curl share 3 (y/3)^2 / (3 y^2) = 1/9. Mean curl (1 + 1/9) / 2; the
    mixed-lottery share is 1/2 (x is a Condorcet winner)."""
    rows = [("p", "a", "b", 0.8), ("p", "b", "c", 0.8), ("p", "c", "a", 0.8),
            ("q", "x", "y", 0.9), ("q", "y", "z", 0.9), ("q", "x", "z", 0.9)]
    got = non_transitivity(table(rows))
    assert got["mixed_lottery_share"] == 0.5 and got["curl_prompts"] == 2
    assert got["curl_share"] == pytest.approx((1 + 1 / 9) / 2)
