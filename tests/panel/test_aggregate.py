"""From judgments to panel verdicts and preference rows, on hand-made judgments."""

from __future__ import annotations

import pandas as pd
import pytest

from mnpo_bench.panel.aggregate import PREFERENCE_COLUMNS, comparison_probs, pair_probs, preferences
from mnpo_bench.panel.personas import Panel

PAIRS = pd.DataFrame([
    {"prompt_id": "p", "prompt": "Q", "gold": None, "meta": "{}", "response_a_id": "x", "response_a": "X",
     "response_b_id": "y", "response_b": "Y"},
    {"prompt_id": "p", "prompt": "Q", "gold": None, "meta": "{}", "response_a_id": "x", "response_a": "X",
     "response_b_id": "z", "response_b": "Z"},
    {"prompt_id": "p", "prompt": "Q", "gold": None, "meta": "{}", "response_a_id": "y", "response_a": "Y",
     "response_b_id": "z", "response_b": "Z"},
])


def j(a, b, persona, order, prob, label, error=None):
    return {"prompt_id": "p", "response_a_id": a, "response_b_id": b, "persona": persona, "order": order,
            "prob_a": prob, "label": label, "error": error, "latency_s": 0.0, "cost_usd": 0.0, "cache_key": "k"}


JUDGMENTS = pd.DataFrame([
    # pair (x, y): u says 0.9 / 0.7, v (weight 3) says 0.3 / 0.3
    j("x", "y", "u", "ab", 0.9, "a"), j("x", "y", "u", "ba", 0.7, "a"),
    j("x", "y", "v", "ab", 0.3, "b"), j("x", "y", "v", "ba", 0.3, "b"),
    # pair (x, z): every verdict failed
    j("x", "z", "u", "ab", None, None, "timeout"), j("x", "z", "u", "ba", None, None, "HTTP 500"),
    j("x", "z", "v", "ab", None, None, "timeout"), j("x", "z", "v", "ba", None, None, "timeout"),
    # pair (y, z): u ties, v's "ab" failed, v's "ba" says z
    j("y", "z", "u", "ab", 0.5, "tie"), j("y", "z", "u", "ba", 0.5, "tie"),
    j("y", "z", "v", "ab", None, None, "unparseable"), j("y", "z", "v", "ba", 0.2, "b"),
])
WEIGHTS = {"u": 1.0, "v": 3.0}


def test_mean_and_vote_by_hand():
    mean = comparison_probs(JUDGMENTS, WEIGHTS, "mean").set_index(["response_a_id", "response_b_id", "order"])["prob_a"]
    assert mean[("x", "y", "ab")] == pytest.approx((0.9 + 3 * 0.3) / 4)  # 0.45
    assert mean[("y", "z", "ab")] == pytest.approx(0.5)  # only u's tie counts; the failure is not a tie
    assert mean[("y", "z", "ba")] == pytest.approx((0.5 + 3 * 0.2) / 4)
    assert ("x", "z", "ab") not in mean.index
    vote = comparison_probs(JUDGMENTS, WEIGHTS, "vote").set_index(["response_a_id", "response_b_id", "order"])["prob_a"]
    assert vote[("x", "y", "ab")] == pytest.approx(1 / 4)  # u votes a (1), v votes b (weight 3)
    assert vote[("y", "z", "ba")] == pytest.approx((0.5 + 0) / 4)
    pair = pair_probs(JUDGMENTS, WEIGHTS, "mean").set_index(["response_a_id", "response_b_id"])
    assert pair.loc[("x", "y"), "prob_a"] == pytest.approx(((0.9 + 0.9) / 4 + (0.7 + 0.9) / 4) / 2)
    assert pair.loc[("x", "y"), "annotators"] == "u,v"


def test_preference_rows_follow_the_panel_win_rate():
    panel = Panel("t", "mean", (), weights=WEIGHTS)
    prefs = preferences(JUDGMENTS, PAIRS, panel)
    assert list(prefs.columns) == PREFERENCE_COLUMNS
    rows = prefs.set_index(["chosen_id", "rejected_id"])
    # (x, y): win rate of x = 0.425 -> y chosen with prob 0.575
    assert rows.loc[("y", "x"), "prob"] == pytest.approx(1 - ((0.9 + 0.9) / 4 + (0.7 + 0.9) / 4) / 2)
    assert rows.loc[("y", "x"), "chosen"] == "Y" and rows.loc[("y", "x"), "prompt"] == "Q"
    # (y, z): 0.5 from "ab", 0.275 from "ba" -> z chosen; (x, z) had no successful verdict -> no row
    assert rows.loc[("z", "y"), "prob"] == pytest.approx(1 - (0.5 + 1.1 / 4) / 2)
    assert len(prefs) == 2 and not ((prefs["chosen_id"] == "x") & (prefs["rejected_id"] == "z")).any()
    tie_only = JUDGMENTS[(JUDGMENTS["persona"] == "u") & (JUDGMENTS["response_b_id"] == "z")]
    assert preferences(tie_only, PAIRS, panel).empty  # a panel tie yields no preference row
