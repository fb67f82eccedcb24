"""Judgments → battles: orientation by presentation order, failures kept as failures."""

import pandas as pd
import pytest

from mnpo_bench.seeds import stream_seed
from mnpo_bench.tournament.battles import identical_answers, judgments_to_battles, policy_pairs

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


def answers(policy, texts, prompt="p1"):
    return pd.DataFrame({"response_id": [f"{policy}|{prompt}|{i}" for i in range(len(texts))],
                         "prompt_id": prompt, "policy": policy, "text": texts})


PROMPT = pd.DataFrame({"prompt_id": ["p1"], "prompt": ["?"], "gold": [None], "meta": ["{}"]})


def test_every_cross_policy_pair_of_answers_is_judged():
    responses = pd.concat([answers("x", ["a", "b", "c"]), answers("y", ["d", "e"])], ignore_index=True)
    pairs = policy_pairs(PROMPT, responses)
    assert len(pairs) == 6  # 3 answers x 2 answers
    assert set(zip(pairs.response_a_id, pairs.response_b_id)) == {
        (f"x|p1|{i}", f"y|p1|{j}") for i in range(3) for j in range(2)}


def test_the_answer_pair_subsample_is_seeded_and_sized():
    responses = pd.concat([answers("x", list("abcd")), answers("y", list("efgh"))], ignore_index=True)
    first = policy_pairs(PROMPT, responses, max_pairs=5, seed=3)
    again = policy_pairs(PROMPT, responses, max_pairs=5, seed=3)
    assert len(first) == 5 and len(set(zip(first.response_a_id, first.response_b_id))) == 5
    assert first.equals(again)
    other = [set(zip(p.response_a_id, p.response_b_id)) for p in
             (policy_pairs(PROMPT, responses, max_pairs=5, seed=s) for s in range(4, 12))]
    assert any(o != set(zip(first.response_a_id, first.response_b_id)) for o in other)


@pytest.mark.parametrize("k_a, k_b", [(4, 4), (16, 16), (3, 5), (6, 4), (1, 3)])
def test_the_subsample_uses_every_answer_equally_often(k_a, k_b):
    """Every size from 1 to k_a * k_b (a few for 16 x 16): distinct pairs, and each answer of either policy used the same number of
    times within one (a uniform draw of 16 of 256 pairs leaves about 6 of 16 answers out)."""
    responses = pd.concat([answers("x", [f"a{i}" for i in range(k_a)]), answers("y", [f"b{j}" for j in range(k_b)])],
                          ignore_index=True)
    sizes = range(1, k_a * k_b + 1) if k_a * k_b <= 36 else [1, 15, 16, 17, 100, 255, 256]
    for size in sizes:
        pairs = policy_pairs(PROMPT, responses, max_pairs=size, seed=size)
        assert len(set(zip(pairs.response_a_id, pairs.response_b_id))) == len(pairs) == min(size, k_a * k_b)
        for column, k in (("response_a_id", k_a), ("response_b_id", k_b)):
            counts = pairs[column].value_counts().reindex(
                [f"{'x' if column == 'response_a_id' else 'y'}|p1|{i}" for i in range(k)], fill_value=0)
            assert counts.max() - counts.min() <= 1, (size, column, counts.to_dict())
    matching = policy_pairs(PROMPT, responses, max_pairs=min(k_a, k_b), seed=0)
    assert matching["response_a_id"].nunique() == matching["response_b_id"].nunique() == min(k_a, k_b)


def test_each_policy_has_its_own_stream():
    assert stream_seed(0, "mnpo/iter2") != stream_seed(0, "inpo/iter2")
    assert stream_seed(0, "mnpo/iter2") == stream_seed(0, "mnpo/iter2")
    assert stream_seed(0, "mnpo/iter2") != stream_seed(1, "mnpo/iter2")
    assert 0 <= stream_seed(7, "x") < 2**31


def test_share_of_identical_answers_per_policy_pair():
    """x = (a, b), y = (a, c) on one prompt: 4 answer pairs, one identical (a, a) -> 1/4; x and z never."""
    responses = pd.concat([answers("x", ["a", "b"]), answers("y", ["a", "c"]), answers("z", ["q", "r"])],
                          ignore_index=True)
    table = identical_answers(responses).set_index(["policy_a", "policy_b"])
    assert table.loc[("x", "y"), "n_pairs"] == 4 and table.loc[("x", "y"), "identical_share"] == 0.25
    assert table.loc[("x", "z"), "identical_share"] == 0.0
