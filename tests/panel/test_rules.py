"""Rule scorers on hand-written responses, and the rule backend's probability."""

from __future__ import annotations

import math

import pytest

from mnpo_bench.panel.backends import Comparison
from mnpo_bench.panel.backends.rule import RuleBackend
from mnpo_bench.panel.personas import load_persona
from mnpo_bench.panel.rules import Context, KeywordOptions, NoOptions, SCORERS, answer_number, list_items

NONE = NoOptions()
NUMBER = Context("What is 3 + 4?", "7", {"answer_type": "number"})
YESNO = Context("Is a cat an animal?", "yes", {"answer_type": "yesno"})
TEXT = Context("Rewrite in capital letters: red fox", "RED FOX", {"answer_type": "text"})
FRUITS = ["apple", "banana", "cherry", "grape", "lemon"]
LIST = Context("List 3 fruits as a numbered list.", None,
               {"answer_type": "list", "n_items": 3, "format": "numbered", "topic": "fruits", "keywords": FRUITS})


def score(name: str, text: str, ctx: Context, options=NONE) -> float:
    return SCORERS[name][0](text, ctx, options)


@pytest.mark.parametrize(("text", "ctx", "expected"), [
    ("7", NUMBER, 1.0),
    ("Let me work it out. 3 + 4 = 7. So the answer is 7.", NUMBER, 1.0),  # the committed number, not the first
    ("The answer is 8. I hope this helps.", NUMBER, 0.0),
    ("I think yes, but I am not sure.", YESNO, 1.0),
    ("No.", YESNO, 0.0),
    ("Here it is: RED FOX", TEXT, 1.0),
    ("red fox", TEXT, 0.0),  # capitals were asked for
    ("1. apple\n2. banana\n3. cherry", LIST, 1.0),
    ("1. apple\n2. banana", LIST, 2 / 3),  # one item short
    ("1. apple\n2. banana\n3. rock", LIST, 2 / 3),  # one item not a fruit
    ("", NUMBER, 0.0),
])
def test_correct(text: str, ctx: Context, expected: float):
    assert score("correct", text, ctx) == pytest.approx(expected)


def test_list_parsing_and_format():
    assert list_items("Here are 3 fruits:\n- apple\n- pear\n- plum") == (["apple", "pear", "plum"], "bullets")
    assert list_items("Sure! Here are some fruits: apple, pear and plum, lemon.") == (["apple", "pear and plum", "lemon"], "comma")
    assert list_items("apple") == (["apple"], None)
    assert score("format", "1. apple\n2. pear\n3. plum", LIST) == 1.0
    assert score("format", "apple, pear, plum", LIST) == 0.0
    assert score("count", "apple, pear, plum, lemon, grape, banana", LIST) == 0.0  # double the count
    assert score("format", "1. apple", NUMBER) == 0.0  # not a list prompt: neutral
    assert answer_number("I count 3. So the answer is 4.") == "4"


def test_style_scorers():
    assert score("hedging", "I think maybe 7, but I am not sure.", NUMBER) == 1.0
    assert score("hedging", "7", NUMBER) == 0.0
    assert score("length", "", NUMBER) == 0.0
    assert score("length", " ".join(["w"] * 100), NUMBER) == pytest.approx(1.0)
    words = KeywordOptions(words={"because": 1.0, "so": 0.5}, cap=2)
    assert score("keywords", "Because 3+4=7, so so so 7. Sorry.", NUMBER, words) == pytest.approx(1.0 + 0.5 * 2)
    assert score("repetition", "the the the the", NUMBER) == pytest.approx(0.75)
    assert score("markdown", "# Title\n- **a**\n- `b`", NUMBER) == pytest.approx(1.0)
    assert score("empty", "  ", NUMBER) == 1.0


def test_rule_backend_probability_is_a_logistic_of_the_score_gap():
    persona = load_persona("concise")  # length -2, empty -3, scale 10
    backend = RuleBackend(persona)
    short, long = "7", "The answer is 7, I hope this helps you a lot."
    ctx = Context("What is 3 + 4?", "7", {"answer_type": "number"})
    gap = backend.score(short, ctx) - backend.score(long, ctx)
    forward, backward, same = backend.judge([
        Comparison("What is 3 + 4?", short, long, "7", {"answer_type": "number"}),
        Comparison("What is 3 + 4?", long, short, "7", {"answer_type": "number"}),
        Comparison("What is 3 + 4?", long, long, "7", {"answer_type": "number"}),
    ])
    assert forward.prob_first == pytest.approx(1 / (1 + math.exp(-10.0 * gap)))
    assert forward.prob_first > 0.7 and backward.prob_first == pytest.approx(1 - forward.prob_first)
    assert same.prob_first == 0.5


def test_rule_judge_scores_each_answer_once_with_the_same_verdicts():
    """judge() memoises scores within a call: every verdict equals the sigmoid of the scaled score difference
    computed afresh, and each distinct (text, prompt) is scored once."""
    import itertools
    import math

    from mnpo_bench.panel.backends import Comparison
    from mnpo_bench.panel.backends.rule import RuleBackend
    from mnpo_bench.panel.personas import load_persona
    from mnpo_bench.panel.rules import Context

    backend = RuleBackend(load_persona("explainer"), "cpu")
    answers = ["Paris.", "It is Paris, because the capital of France is Paris.", "- Paris\n- France", "Maybe Lyon?"]
    items = [Comparison(prompt, a, b) for prompt in ("Capital of France?", "Name a French city.")
             for a, b in itertools.permutations(answers, 2)]
    calls = []
    fresh = backend.score

    def counted(text, ctx):
        calls.append((text, ctx.prompt))
        return fresh(text, ctx)

    backend.score = counted
    verdicts = backend.judge(items)
    assert len(calls) == len(set(calls)) == 8  # 4 answers x 2 prompts, each scored once
    for item, verdict in zip(items, verdicts):
        ctx = Context(item.prompt, item.gold, item.meta)
        z = backend.params.scale * (fresh(item.first, ctx) - fresh(item.second, ctx))
        assert verdict.prob_first == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-15)
