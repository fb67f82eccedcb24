"""The built-in SFT corpus of the tiny policy: answers that combine independently drawn attributes.

Every response is [warm opener] [reasoning] [hedge] core [warm closers]. Its parts:

- correctness: the gold answer (p = 0.7) or one a little off (lists: a wrong item count);
- hedging: none (p = 0.7) or one hedge ("Maybe", "Probably");
- format (lists): the requested one (p = 0.6) or another;
- style: how many reasoning clauses (each naming one reasoning word: because, since, step, therefore, so)
  and warm phrases ("Sure thing, friend!", "Hope this helps!", ...) the answer carries, one of STYLES.

Correctness, hedging, format and style are drawn independently of each other. Style is one draw, not two,
because reasoning and warmth both cost words: with brevity as the third attribute, (reasoning, warmth,
brevity) is a budget, and STYLES lay it out as a Latin square - each attribute takes the low, middle and
high level once across the three styles. Three samples in three different styles are then ranked by
brevity, explanation and warmth as rotations of each other (a Condorcet cycle, A > B > C > A), which is
what the `cyclic` panel measures on the policy's own samples. Independent uniform counts of clauses and
phrases (corpus v3) give that structure only by chance: most pairs tie on one attribute, and when one
attribute ties the other two pull in opposite directions, so the majority is undecided. Levels two apart
keep a style recognisable when the tiny model adds or drops one clause. Nothing here names a persona.
"""

from __future__ import annotations

import json
import random

from mnpo_bench.prompts.families import FAMILIES, ITEMS, Prompt

CORPUS_VERSION = 4  # bump when the corpus changes, so cached tiny models are rebuilt

# Every warm phrase and reasoning clause is three words long, so each level of either costs the same length.
OPENERS = ["Sure thing, friend! ", "Of course, friend! ", "Great question, friend! ", "Happy to help! "]
CLOSERS = [" Hope this helps!", " Let me know!", " Have a nice day!"]
REASONS = ["Because I checked,", "Since I counted,", "Each step checked,", "Therefore, to conclude,", "So, in short,"]
HEDGES = ["Maybe ", "Probably "]
# (reasoning clauses, warm phrases) per style; brevity = 6 - both, so (reasoning, warmth, brevity) takes
# each of the levels 0, 2, 4 once per attribute across the styles (a Latin square; module docstring).
STYLES = {"reasoned": (4, 0), "brief": (0, 2), "warm": (2, 4)}


def _attributes(rng: random.Random) -> dict[str, object]:
    """One independent draw of every attribute (see the module docstring)."""
    style = rng.choice(sorted(STYLES))
    reasoning, warmth = STYLES[style]
    return {
        "correct": rng.random() < 0.85,
        "style": style,
        "reasoning": reasoning,
        "warmth": warmth,
        "hedged": rng.random() < 0.15,
    }


def _compose(rng: random.Random, attrs: dict[str, object], core: str) -> str:
    """The response text: [opener] [reasoning clauses] [hedge] core [closers]."""
    text = core
    if attrs["hedged"]:
        text = rng.choice(HEDGES) + text[0].lower() + text[1:]
    reasons = rng.sample(REASONS, int(attrs["reasoning"]))
    if reasons:
        text = " ".join([reasons[0]] + [r[0].lower() + r[1:] for r in reasons[1:]]) + " " + text[0].lower() + text[1:]
    warm = int(attrs["warmth"])
    opener = warm == len(CLOSERS) + 1 or (warm >= 1 and rng.random() < 0.5)
    closers = rng.sample(CLOSERS, warm - int(opener))
    if opener:
        text = rng.choice(OPENERS) + text[0].upper() + text[1:]
    text = text[0].upper() + text[1:] + "".join(closers)
    return text


def _number_answer(rng: random.Random, item: Prompt, attrs: dict[str, object]) -> str:
    value = int(item.gold) if attrs["correct"] else int(item.gold) + rng.choice([-2, -1, 1, 2, 10])
    return _compose(rng, attrs, rng.choice([f"The answer is {value}.", f"It is {value}."]))


def _yesno_answer(rng: random.Random, item: Prompt, attrs: dict[str, object]) -> str:
    answer = item.gold if attrs["correct"] else ("no" if item.gold == "yes" else "yes")
    statement = item.prompt[3:].rstrip("?")
    return _compose(rng, attrs, f"{answer.capitalize()}, {statement}." if answer == "yes" else f"No, not {statement}.")


def _list_answer(rng: random.Random, item: Prompt, attrs: dict[str, object]) -> str:
    n = item.meta["n_items"]
    topic = item.meta["topic"]
    count = n if attrs["correct"] else max(1, n + rng.choice([-1, 1, 2]))
    fmt = item.meta["format"] if rng.random() < 0.8 else rng.choice(["numbered", "bullets", "comma"])
    words = rng.sample(ITEMS[topic], min(count, len(ITEMS[topic])))
    if fmt == "numbered":
        body = "\n".join(f"{i}. {w}" for i, w in enumerate(words, start=1))
    elif fmt == "bullets":
        body = "\n".join(f"- {w}" for w in words)
    else:
        body = ", ".join(words)
    return _compose(rng, attrs, f"Here are {len(words)} {topic}:\n{body}\n")


def _text_answer(rng: random.Random, item: Prompt, attrs: dict[str, object]) -> str:
    answer = item.gold
    if not attrs["correct"]:
        words = answer.split()
        rng.shuffle(words)
        answer = " ".join(words[: max(1, len(words) - 1)])
    return _compose(rng, attrs, f"Here it is: {answer}")


def respond(rng: random.Random, item: Prompt) -> tuple[str, dict[str, object]]:
    """(response text, the attributes drawn for it) for one prompt."""
    attrs = _attributes(rng)
    kind = item.meta["answer_type"]
    answer = {"number": _number_answer, "yesno": _yesno_answer, "list": _list_answer, "text": _text_answer}[kind]
    return answer(rng, item, attrs), attrs


ANSWERERS = {kind: (lambda rng, item: respond(rng, item)[0]) for kind in ("number", "yesno", "list", "text")}


def build_corpus(size: int, seed: int) -> list[dict[str, str]]:
    """`size` (prompt, response) dialogues over every built-in family, drawn from `seed`; each dialogue's
    `meta` (JSON) holds the prompt's metadata and the response's drawn attributes under "attributes"."""
    rng = random.Random(seed)
    names = sorted(FAMILIES)
    dialogues = []
    for i in range(size):
        item = FAMILIES[names[i % len(names)]](rng)
        response, attrs = respond(rng, item)
        dialogues.append({"prompt": item.prompt, "response": response,
                          "meta": json.dumps({**item.meta, "attributes": attrs})})
    return dialogues
