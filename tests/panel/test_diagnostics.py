"""Diagnostics: bias rates, agreement statistics (against the libraries' own answers), cyclic triads."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from mnpo_bench.panel.diagnostics import agreement, cyclic_triad_share, panel_diagnostics, persona_table
from tests.panel.test_aggregate import PAIRS, j


def test_rates_per_persona():
    judgments = pd.DataFrame([
        j("x", "y", "u", "ab", 0.9, "a"), j("x", "y", "u", "ba", 0.1, "b"),  # always the first shown
        j("x", "z", "u", "ab", 0.8, "a"), j("x", "z", "u", "ba", None, None, "boom"),
    ])
    pairs = PAIRS.assign(response_a=["longer X", "longer X", "Y"], response_b=["Y", "Z", "Z"])
    row = persona_table(judgments, pairs).set_index("persona").loc["u"]
    assert row["judgments"] == 4 and row["failed"] == 1 and row["failure_rate"] == 0.25
    assert row["first_position_rate"] == 1.0
    assert row["longer_rate"] == pytest.approx(2 / 3)  # x is longer; x won 2 of 3 decided verdicts


def test_kappa_and_alpha_match_the_libraries():
    rng = np.random.default_rng(0)
    rows = []
    truth = rng.choice(["a", "b"], size=60)
    for i, t in enumerate(truth):
        for persona, noise in (("u", 0.1), ("v", 0.3), ("w", 0.5)):
            lab = t if rng.random() > noise else ("b" if t == "a" else "a")
            rows.append(j(f"r{i}", f"s{i}", persona, "ab", 0.9 if lab == "a" else 0.1, lab))
    judgments = pd.DataFrame(rows)
    stats = agreement(judgments)
    u = judgments[judgments["persona"] == "u"]["label"].to_numpy()
    v = judgments[judgments["persona"] == "v"]["label"].to_numpy()
    assert stats["kappa"]["u"]["v"] == pytest.approx(cohen_kappa_score(u, v))
    assert stats["agreement"]["u"]["v"] == pytest.approx((u == v).mean())
    codes = np.array([[0 if x == "a" else 1 for x in judgments[judgments["persona"] == p]["label"]] for p in "uvw"], float)
    assert stats["krippendorff_alpha"] == pytest.approx(krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal"))
    assert stats["kappa"]["u"]["v"] > stats["kappa"]["u"]["w"]


def test_cyclic_triads():
    def table(probs):
        return pd.DataFrame([{"prompt_id": "p", "response_a_id": a, "response_b_id": b, "prob_a": q} for (a, b), q in probs.items()])

    cycle = table({("x", "y"): 0.8, ("y", "z"): 0.7, ("x", "z"): 0.2})  # x>y, y>z, z>x
    chain = table({("x", "y"): 0.8, ("y", "z"): 0.7, ("x", "z"): 0.9})
    undecided = table({("x", "y"): 0.8, ("y", "z"): 0.5, ("x", "z"): 0.2})
    assert cyclic_triad_share(cycle) == (1.0, 1)
    assert cyclic_triad_share(chain) == (0.0, 1)
    assert cyclic_triad_share(undecided) == (None, 0)


def test_panel_diagnostics_bundle():
    judgments = pd.DataFrame([j("x", "y", "u", "ab", 0.9, "a"), j("x", "y", "v", "ab", 0.2, "b"),
                              j("x", "z", "u", "ab", None, None, "boom")])
    diagnostics, table = panel_diagnostics(judgments, PAIRS, {"u": 1.0, "v": 1.0}, "mean",
                                           {"u": {"calls": 2, "cache_hits": 0}})
    assert diagnostics["counts"] == {"judgments": 3, "failed": 1, "pairs": 3, "ties": 0}
    assert set(table["persona"]) == {"u", "v"} and table.set_index("persona").loc["u", "calls"] == 2
    assert diagnostics["kappa"]["u"]["v"] is None  # one shared comparison: kappa undefined, not a crash
