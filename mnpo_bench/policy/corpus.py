"""The built-in SFT corpus of the tiny policy: answers to the prompt families in deliberately mixed styles.

Each prompt gets one response drawn from a mixture of styles (terse, stated, worked, chatty, hedged), of
correctness (right or off by a little) and, for lists, of format and count. A model fitted to this mixture
samples answers that differ in length, format and correctness, which is what gives the panel's personas
something to disagree about.
"""

from __future__ import annotations

import json
import random
import re

from mnpo_bench.prompts.families import FAMILIES, ITEMS, Prompt

CORPUS_VERSION = 1  # bump when the corpus changes, so cached tiny models are rebuilt

OPENERS = ["Sure! ", "Of course. ", "Great question! ", "Happy to help. "]
CLOSERS = [" I hope this helps.", " Let me know if you have any other questions.", " Have a nice day!"]


def _chatty(rng: random.Random, core: str) -> str:
    return rng.choice(OPENERS) + core + rng.choice(CLOSERS)


def _hedged(rng: random.Random, core: str) -> str:
    return rng.choice(["I think ", "Maybe ", "Probably "]) + core[0].lower() + core[1:].rstrip(".") + \
        rng.choice([", but I am not sure.", ", I could be wrong.", ", if I remember right."])


def _number_answer(rng: random.Random, item: Prompt) -> str:
    value = int(item.gold)
    if rng.random() < 0.3:
        value += rng.choice([-2, -1, 1, 2, 10])
    style = rng.random()
    if style < 0.2:
        return str(value)
    if style < 0.45:
        return f"The answer is {value}."
    if style < 0.65:
        match = re.search(r"-?\d+ [-+*] -?\d+", item.prompt)
        if match:
            return f"Let me work it out. {match.group(0)} = {value}. So the answer is {value}."
        return f"Let me count them one by one. I count {value}. So the answer is {value}."
    if style < 0.85:
        return _chatty(rng, f"The answer is {value}.")
    return _hedged(rng, f"The answer is {value}.")


def _yesno_answer(rng: random.Random, item: Prompt) -> str:
    answer = item.gold if rng.random() < 0.75 else ("no" if item.gold == "yes" else "yes")
    word = answer.capitalize()
    statement = item.prompt[3:].rstrip("?")
    style = rng.random()
    if style < 0.3:
        return f"{word}."
    if style < 0.55:
        return f"{word}, {statement}." if answer == "yes" else f"{word}, it is not true that {statement}."
    if style < 0.8:
        return _chatty(rng, f"{word}.")
    return _hedged(rng, f"{word}.")


def _list_answer(rng: random.Random, item: Prompt) -> str:
    n = item.meta["n_items"]
    count = n if rng.random() < 0.7 else max(1, n + rng.choice([-1, 1, 2]))
    fmt = item.meta["format"] if rng.random() < 0.6 else rng.choice(["numbered", "bullets", "comma"])
    words = rng.sample(ITEMS[item.meta["topic"]], min(count, len(ITEMS[item.meta["topic"]])))
    if fmt == "numbered":
        body = "\n".join(f"{i}. {w}" for i, w in enumerate(words, start=1))
    elif fmt == "bullets":
        body = "\n".join(f"- {w}" for w in words)
    else:
        body = ", ".join(words)
    style = rng.random()
    if style < 0.4:
        return body
    if style < 0.8:
        return f"Here are {len(words)} {item.meta['topic']}:\n{body}"
    return _chatty(rng, f"Here are some {item.meta['topic']}:\n{body}\n")


def _text_answer(rng: random.Random, item: Prompt) -> str:
    answer = item.gold
    if rng.random() < 0.3:
        words = answer.split()
        rng.shuffle(words)
        answer = " ".join(words[: max(1, len(words) - 1)])
    style = rng.random()
    if style < 0.4:
        return answer
    if style < 0.7:
        return f"Here it is: {answer}"
    if style < 0.85:
        return _chatty(rng, f"Here it is: {answer}.")
    return _hedged(rng, f"It is {answer}.")


ANSWERERS = {"number": _number_answer, "yesno": _yesno_answer, "list": _list_answer, "text": _text_answer}


def build_corpus(size: int, seed: int) -> list[dict[str, str]]:
    """`size` (prompt, response) dialogues over every built-in family, drawn from `seed`."""
    rng = random.Random(seed)
    names = sorted(FAMILIES)
    dialogues = []
    for i in range(size):
        item = FAMILIES[names[i % len(names)]](rng)
        response = ANSWERERS[item.meta["answer_type"]](rng, item)
        dialogues.append({"prompt": item.prompt, "response": response, "meta": json.dumps(item.meta)})
    return dialogues
