"""Built-in instruction families whose answers can be checked.

Each family draws a prompt from a seeded `random.Random` and returns a `Prompt` with the metadata a
rule-based judge needs: the gold answer, the requested item count and format, the answer type.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ITEMS = {
    "fruits": ["apple", "banana", "cherry", "grape", "lemon", "mango", "orange", "peach", "pear", "plum"],
    "colors": ["red", "blue", "green", "yellow", "purple", "orange", "black", "white", "brown", "pink"],
    "animals": ["cat", "dog", "horse", "cow", "lion", "tiger", "mouse", "rabbit", "sheep", "goat"],
    "countries": ["France", "Japan", "Brazil", "Canada", "Egypt", "India", "Kenya", "Mexico", "Peru", "Spain"],
    "tools": ["hammer", "saw", "drill", "wrench", "shovel", "rake", "chisel", "pliers", "ruler", "knife"],
}
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "sun", "rain", "small",
         "green", "house", "river", "stone", "bright", "cold", "tree", "bird", "song", "light"]
FACTS = [  # (statement, truth) pairs for yes/no questions
    ("a cat an animal", True), ("a dog a plant", False), ("the sun a star", True), ("water wet", True),
    ("ice hot", False), ("a square round", False), ("a triangle a shape", True), ("snow cold", True),
    ("a fish a bird", False), ("grass green", True), ("a car an animal", False), ("fire cold", False),
    ("the moon a planet", False), ("a rose a flower", True), ("a whale a mammal", True), ("a spoon a tool", True),
    ("a lemon sweet", False), ("the sky green", False), ("an apple a fruit", True), ("a stone alive", False),
]
LIST_FORMATS = ("numbered", "bullets", "comma")


@dataclass
class Prompt:
    """One instruction with what a checker needs to grade a response."""

    family: str
    prompt: str
    gold: str | None
    meta: dict[str, Any] = field(default_factory=dict)


def arithmetic(rng: random.Random) -> Prompt:
    a, b = rng.randint(2, 49), rng.randint(2, 49)
    op = rng.choice(["+", "-", "*"]) if max(a, b) < 13 else rng.choice(["+", "-"])
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    phrasing = rng.choice(["What is {a} {op} {b}?", "Compute {a} {op} {b}.", "Calculate {a} {op} {b}."])
    return Prompt("arithmetic", phrasing.format(a=a, op=op, b=b), str(value), {"answer_type": "number"})


def counting(rng: random.Random) -> Prompt:
    if rng.random() < 0.5:
        words = rng.sample(WORDS, rng.randint(2, 7))
        sentence = " ".join(words)
        return Prompt("counting", f"How many words are in: {sentence}?", str(len(words)), {"answer_type": "number"})
    word = rng.choice([w for w in WORDS if len(w) > 3])
    letter = rng.choice(sorted(set(word)))
    return Prompt("counting", f"How many times does the letter {letter} appear in {word}?",
                  str(word.count(letter)), {"answer_type": "number"})


def listing(rng: random.Random) -> Prompt:
    topic = rng.choice(sorted(ITEMS))
    n = rng.randint(2, 5)
    fmt = rng.choice(LIST_FORMATS)
    how = {"numbered": "as a numbered list", "bullets": "as a bulleted list", "comma": "separated by commas"}[fmt]
    return Prompt("listing", f"List {n} {topic} {how}.", None,
                  {"answer_type": "list", "n_items": n, "format": fmt, "topic": topic, "keywords": ITEMS[topic]})


def rewriting(rng: random.Random) -> Prompt:
    words = rng.sample(WORDS, rng.randint(2, 5))
    sentence = " ".join(words)
    kind = rng.choice(["upper", "reverse", "first"])
    if kind == "upper":
        return Prompt("rewriting", f"Rewrite in capital letters: {sentence}", sentence.upper(), {"answer_type": "text"})
    if kind == "reverse":
        return Prompt("rewriting", f"Reverse the order of the words: {sentence}", " ".join(reversed(words)),
                      {"answer_type": "text"})
    return Prompt("rewriting", f"What is the first word of: {sentence}?", words[0], {"answer_type": "text"})


def yesno(rng: random.Random) -> Prompt:
    if rng.random() < 0.5:
        statement, truth = rng.choice(FACTS)
        return Prompt("yesno", f"Is {statement}?", "yes" if truth else "no", {"answer_type": "yesno"})
    a, b = rng.sample(range(1, 60), 2)
    return Prompt("yesno", f"Is {a} greater than {b}?", "yes" if a > b else "no", {"answer_type": "yesno"})


FAMILIES: dict[str, Callable[[random.Random], Prompt]] = {
    "arithmetic": arithmetic, "counting": counting, "listing": listing, "rewriting": rewriting, "yesno": yesno,
}
