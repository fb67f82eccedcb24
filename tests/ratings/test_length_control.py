"""Length-controlled win rate: a judge that likes long answers, models that differ only in length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from mnpo_bench.ratings.battles import check_battles
from mnpo_bench.ratings.length_control import lc_win_rates


def judged_by_a_length_loving_judge(seed: int = 0, prompts: int = 400) -> pd.DataFrame:
    """Each model answers every prompt once against the reference. The judge's log-odds that the model wins:
    quality + 1.5 tanh(length gap / 120) - difficulty of the prompt. 'long' and 'short' are as good as the
    reference but longer / shorter; 'better' is better by 1 logit at the reference's length."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, prompts)
    models = {"long": (0.0, 150), "short": (0.0, -150), "better": (1.0, 0)}
    rows = []
    for name, (quality, shift) in models.items():
        len_ref = rng.normal(400, 60, prompts).clip(20)
        len_m = (len_ref + shift + rng.normal(0, 120, prompts)).clip(20)
        p = expit(quality + 1.5 * np.tanh((len_m - len_ref) / 120) - difficulty)
        wins = rng.random(prompts) < p
        rows.append(pd.DataFrame({"model_a": "ref", "model_b": name, "winner": np.where(wins, "model_b", "model_a"),
                                  "prompt_id": [f"q{k}" for k in range(prompts)], "len_a": len_ref, "len_b": len_m}))
    return pd.concat(rows, ignore_index=True)


def _rates(battles: pd.DataFrame) -> tuple[dict, dict]:
    checked = check_battles(battles, "test")
    ref = checked.models.index("ref")
    lc = dict(zip(checked.models, lc_win_rates(checked.valid, len(checked.models), ref)))
    raw = checked.valid.assign(model=np.where(checked.valid["a"] == ref, checked.valid["b"], checked.valid["a"]),
                               y=np.where(checked.valid["a"] == ref, 1 - checked.valid["score_a"], checked.valid["score_a"]))
    raw = {checked.models[m]: y for m, y in raw.groupby("model")["y"].mean().items()}
    return raw, lc


def test_length_control_removes_the_judges_length_preference():
    raw, lc = _rates(judged_by_a_length_loving_judge())
    assert raw["long"] > 0.62 and raw["short"] < 0.38  # the judge rewards length
    assert lc["long"] == pytest.approx(0.5, abs=0.06) and lc["short"] == pytest.approx(0.5, abs=0.06)
    assert lc["better"] > 0.62 and lc["better"] > lc["long"] and lc["better"] > lc["short"]
    assert lc["ref"] == 0.5


def test_without_lengths_there_is_no_length_controlled_rate():
    battles = judged_by_a_length_loving_judge(prompts=50).drop(columns=["len_a", "len_b"])
    _, lc = _rates(battles)
    assert np.isnan(lc["long"]) and lc["ref"] == 0.5


def test_without_prompt_ids_it_still_controls_length():
    raw, lc = _rates(judged_by_a_length_loving_judge().drop(columns=["prompt_id"]))
    assert lc["long"] == pytest.approx(0.5, abs=0.07) and lc["better"] > 0.6
