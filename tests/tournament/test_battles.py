"""Judgments → battles: orientation by presentation order, failures kept as failures."""

import pandas as pd

from mnpo_bench.tournament.battles import judgments_to_battles, policy_pairs

RESPONSES = pd.DataFrame({
    "response_id": ["x|p1|0", "y|p1|0", "z|p1|0"],
    "prompt_id": ["p1", "p1", "p1"],
    "policy": ["x", "y", "z"],
    "text": ["short", "a much longer answer", "mid size"],
})


def judgment(order, prob_a, label, error=None):
    return {"prompt_id": "p1", "response_a_id": "x|p1|0", "response_b_id": "y|p1|0", "persona": "judge",
            "order": order, "prob_a": prob_a, "label": label, "error": error, "latency_s": 0.0, "cost_usd": 0.0,
            "cache_key": "k"}


def test_battles_keep_the_pair_orientation_and_record_who_was_shown_first():
    judgments = pd.DataFrame([judgment("ab", 0.8, "a"), judgment("ba", 0.3, "b")])
    battles = judgments_to_battles(judgments, RESPONSES)
    first, second = battles.iloc[0], battles.iloc[1]
    assert (first.model_a, first.model_b, first.winner, first.order, first.prob_a) == ("x", "y", "model_a", "ab", 0.8)
    assert (second.model_a, second.model_b, second.winner, second.order) == ("x", "y", "model_b", "ba")
    assert abs(second.prob_a - 0.3) < 1e-12
    assert (first.len_a, first.len_b) == (len("short"), len("a much longer answer"))


def test_position_bias_is_visible_in_battles():
    """A judge that always picks whatever is shown first: the first-shown model wins every battle."""
    judgments = pd.DataFrame([judgment("ab", 0.9, "a"), judgment("ba", 0.1, "b")] * 5)
    battles = judgments_to_battles(judgments, RESPONSES)
    first_shown_won = ((battles.order == "ab") & (battles.winner == "model_a")) | (
        (battles.order == "ba") & (battles.winner == "model_b"))
    assert first_shown_won.all()


def test_failures_stay_failures_and_ties_stay_ties():
    judgments = pd.DataFrame([judgment("ab", None, None, error="HTTP 500 after 3 tries"), judgment("ab", 0.5, "tie")])
    battles = judgments_to_battles(judgments, RESPONSES)
    assert pd.isna(battles.winner.iloc[0]) and battles.error.iloc[0].startswith("HTTP 500")
    assert battles.winner.iloc[1] == "tie" and pd.isna(battles.error.iloc[1])


def test_every_pair_of_policies_on_every_prompt():
    prompts = pd.DataFrame({"prompt_id": ["p1"], "prompt": ["?"], "gold": [None], "meta": ["{}"]})
    pairs = policy_pairs(prompts, RESPONSES)
    assert len(pairs) == 3
    assert set(zip(pairs.response_a_id, pairs.response_b_id)) == {
        ("x|p1|0", "y|p1|0"), ("x|p1|0", "z|p1|0"), ("y|p1|0", "z|p1|0")}
    assert policy_pairs(prompts, RESPONSES.iloc[:1]).empty
