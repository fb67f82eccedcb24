"""Preference rows in TRL's formats, their checks, and best-vs-worst selection."""

import json

import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.train.data import best_vs_worst, read_preferences


def test_plain_and_conversational_rows(tmp_path):
    path = tmp_path / "prefs.jsonl"
    rows = [
        {"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5"},
        {"prompt": [{"role": "user", "content": "Say hi."}],
         "chosen": [{"role": "assistant", "content": "Hi!"}],
         "rejected": [{"role": "assistant", "content": "No."}], "prob": 0.7},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    frame = read_preferences(str(path))
    assert frame["chosen"].tolist() == ["4", "Hi!"] and frame["rejected"].tolist() == ["5", "No."]
    assert frame["prompt"][1] == [{"role": "user", "content": "Say hi."}]
    assert frame["prob"].tolist() == pytest.approx([1.0, 0.7])  # hard labels when prob is absent
    assert frame["prompt_id"].nunique() == 2
    pd.DataFrame(rows[:1]).to_parquet(tmp_path / "prefs.parquet")
    assert read_preferences(str(tmp_path / "prefs.parquet"))["chosen"].tolist() == ["4"]


@pytest.mark.parametrize("rows, message", [
    ([{"prompt": "x", "chosen": "a"}], "missing column(s) rejected"),
    ([{"prompt": "x", "chosen": "a", "rejected": "b", "prob": 1.5}], "row 0 field 'prob' is outside [0, 1]"),
    ([{"prompt": 3, "chosen": "a", "rejected": "b"}], "row 0 field 'prompt'"),
])
def test_bad_rows_are_user_errors_naming_file_and_field(tmp_path, rows, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(UserError) as info:
        read_preferences(str(path))
    assert message in info.value.line() and str(path) in info.value.line()


def test_missing_file_is_a_user_error():
    with pytest.raises(UserError, match="preference file not found"):
        read_preferences("/nonexistent/prefs.parquet")


def test_best_vs_worst_ranks_by_mean_win_probability():
    """Responses a, b, c of one prompt: a beats b (0.9) and c (0.6), c beats b (0.8).
    Mean scores: a = (0.9 + 0.6)/2 = 0.75, b = (0.1 + 0.2)/2 = 0.15, c = (0.4 + 0.8)/2 = 0.6, so the pair kept
    is (a, b) with its own prob 0.9."""
    pairs = pd.DataFrame({
        "prompt_id": ["p"] * 3, "prompt": ["q"] * 3,
        "chosen": ["A", "A", "C"], "rejected": ["B", "C", "B"], "prob": [0.9, 0.6, 0.8],
        "chosen_id": ["a", "a", "c"], "rejected_id": ["b", "c", "b"],
    })
    picked = best_vs_worst(pairs)
    assert picked[["chosen_id", "rejected_id", "prob"]].values.tolist() == [["a", "b", 0.9]]


def test_best_vs_worst_never_contradicts_the_panel_in_a_cycle():
    """A cycle A > B (0.9), B > C (0.9), C > A (0.6). Mean scores: A = (0.9 + 0.4)/2 = 0.65,
    B = (0.1 + 0.9)/2 = 0.5, C = (0.1 + 0.6)/2 = 0.35, so best A and worst C, but the panel judged C > A.
    The old selection trained A over C. Decided pairs and their mean-score gaps in the panel's orientation:
    (A, B) 0.15, (B, C) 0.15, (C, A) -0.3; the first of the largest, (A, B) at its own 0.9, is kept."""
    pairs = pd.DataFrame({
        "prompt_id": ["p"] * 3, "prompt": ["q"] * 3,
        "chosen": ["A", "B", "C"], "rejected": ["B", "C", "A"], "prob": [0.9, 0.9, 0.6],
        "chosen_id": ["a", "b", "c"], "rejected_id": ["b", "c", "a"],
    })
    picked = best_vs_worst(pairs)
    assert picked[["chosen_id", "rejected_id", "prob"]].values.tolist() == [["a", "b", 0.9]]
    assert picked.attrs == {"prompts": 1, "skipped_prompts": 0, "not_best_vs_worst": 1}
    # the same verdict C > A given as a row (a, c) with prob 0.4 is read reversed, never trained as a > c
    as_row = pairs.copy()
    as_row.loc[2, ["chosen", "rejected", "prob", "chosen_id", "rejected_id"]] = ["A", "C", 0.4, "a", "c"]
    picked = best_vs_worst(as_row)
    assert ("a", "c") not in set(zip(picked["chosen_id"], picked["rejected_id"]))
    assert len(picked) == 1 and picked["prob"].iloc[0] > 0.5


def test_best_vs_worst_skips_and_counts_a_prompt_with_no_decided_pair():
    pairs = pd.DataFrame({
        "prompt_id": ["p", "p", "q"], "prompt": ["p", "p", "q"],
        "chosen": ["A", "A", "X"], "rejected": ["B", "C", "Y"], "prob": [0.5, 0.5, 0.7],
        "chosen_id": ["a", "a", "x"], "rejected_id": ["b", "c", "y"],
    })
    picked = best_vs_worst(pairs)
    assert picked["prompt_id"].tolist() == ["q"]
    assert picked.attrs == {"prompts": 2, "skipped_prompts": 1, "not_best_vs_worst": 0}
