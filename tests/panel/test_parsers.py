"""The `letter` and `brackets` parsers on realistic judge replies: a tie, a hedge, a refusal or a reply naming
both responses is a tie (0.5) or a failure (None), never a win for the first-shown response; clear verdicts
still parse."""

from __future__ import annotations

import re

import pytest

from mnpo_bench.panel.parsers import parse_brackets, parse_letter

TIES = [
    "The answer is a tie.", "Verdict: a tie", "Verdict: A tie", "Tie", "tie.", "It's a tie.", "A tie",
    "Neither", "Neither response is better.", "Neither A nor B", "Both are equally good", "Both are equally good.",
    "A and B are equally good", "Response A and Response B are equally helpful.", "They are the same.",
    "Both responses are of the same quality.", "Equal", "Draw", "It is a draw.", "[[C]]", "C", "(C)",
    "There is no clear winner.", "No preference.", "Both are bad.", "Both are wrong.", "The two are equivalent.",
    "A draw between the two", "Verdict: A and B tie", "Both answers are correct and equally concise.",
]
FAILURES = [
    "A and B", "A/B", "A or B? Hard to tell.", "I cannot decide.", "Sorry, I can't help with that.",
    "As an AI, I have no preference between A and B... actually A.", "Both responses have their charms; it is hard to say.",
    "It depends on the user.", "Probably A", "Maybe B", "A might be better.", "I'm not sure.",
    "Both are good, but A is better.", "Response A is equally as good as B, though A is shorter.",
    "a", "The first one.", "First", "Second response", "", "   ", "Hmm.",
    "I would rather not judge this.", "Response A is better. Response B is better.", "A wins. No, B wins.",
    "Unclear; both have errors.", "I decline to answer.", "A, B", "Either is fine.",
]
ARTICLE = ["A close call.", "A good question.", "A matter of taste."]  # "A" the article, not the letter
CLEAR = [
    ("A", 1.0), ("B", 0.0), ("A.", 1.0), ("B.", 0.0), ("**A**", 1.0), ("**B**", 0.0), ("(A)", 1.0), ("A!", 1.0),
    ("Response A", 1.0), ("Response B", 0.0), ("Response B is better.", 0.0), ("Response A is better.", 1.0),
    ("Answer: A", 1.0), ("Verdict: B", 0.0), ("I prefer A.", 1.0), ("The better response is B.", 0.0),
    ("Output (a)", 1.0), ("Output (b)", 0.0), ("A is better", 1.0), ("B wins", 0.0), ("Assistant B is better", 0.0),
    ('{"winner": "A"}', 1.0), ("I'd go with B.", 0.0), ("My choice: B", 0.0), ("Answer: Response A", 1.0),
    ("Response A is more helpful.", 1.0), ("A close call, but B.", 0.0),
    ("Response A is concise. Response B is verbose. Overall, A is better.", 1.0),
    ("Response B, a clearer answer.", 0.0),
]


def test_the_corpus_is_large_enough():
    assert len(TIES) + len(FAILURES) + len(ARTICLE) >= 30 and len(CLEAR) >= 20


@pytest.mark.parametrize("reply", TIES)
def test_ties_are_ties(reply: str):
    assert parse_letter(reply) == 0.5


@pytest.mark.parametrize("reply", FAILURES + ARTICLE)
def test_hedges_refusals_and_contradictions_are_failures_never_a_win(reply: str):
    assert parse_letter(reply) is None


@pytest.mark.parametrize(("reply", "expected"), CLEAR)
def test_clear_verdicts_still_parse(reply: str, expected: float):
    assert parse_letter(reply) == expected


@pytest.mark.parametrize("reply", TIES + FAILURES)
def test_swapping_the_letters_of_an_undecided_reply_keeps_it_undecided(reply: str):
    swapped = re.sub(r"(?<![A-Za-z])[AB](?![A-Za-z])", lambda m: "B" if m.group(0) == "A" else "A", reply)
    assert parse_letter(swapped) in (0.5, None)


def test_brackets():
    assert parse_brackets("reasoning... [[A]]") == 1.0 and parse_brackets("[[B]]") == 0.0
    assert parse_brackets("[[C]]") == 0.5 and parse_brackets("A") is None
    assert parse_brackets("first [[A]] then, on reflection, [[B]]") == 0.0  # the last one counts
