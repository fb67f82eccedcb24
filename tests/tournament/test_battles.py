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


def test_model_a_is_the_model_shown_first():
    judgments = pd.DataFrame([judgment("ab", 0.8, "a"), judgment("ba", 0.8, "a")])
    battles = judgments_to_battles(judgments, RESPONSES)
    first, second = battles.iloc[0], battles.iloc[1]
    assert (first.model_a, first.model_b, first.winner, first.prob_a) == ("x", "y", "model_a", 0.8)
    # shown as (y, x): x still won, but x is now model_b, and prob_a is y's probability
    assert (second.model_a, second.model_b, second.winner) == ("y", "x", "model_b")
    assert abs(second.prob_a - 0.2) < 1e-12
    assert (second.len_a, second.len_b) == (len("a much longer answer"), len("short"))


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
