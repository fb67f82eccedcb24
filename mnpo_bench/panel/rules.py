"""Rule scorers: small functions that score one response to one prompt, for the `rule` backend.

Each scorer returns a number, mostly in [0, 1], from the response text and the prompt's metadata (gold
answer, answer_type, requested item count and list format, topic keywords). A rule persona weighs them:
score = sum(weight * scorer), and P(first wins) = sigmoid(scale * (score_first - score_second)).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from mnpo_bench.settings import Section

HEDGES = ("i think", "maybe", "probably", "perhaps", "not sure", "might", "could be wrong", "if i remember",
          "possibly", "i guess", "i believe")
NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
BULLET = re.compile(r"^\s*[-*\u2022]\s+(.*)$")
WORD = re.compile(r"[A-Za-z0-9']+")


@dataclass(frozen=True)
class Context:
    """What a scorer may look at besides the response."""

    prompt: str
    gold: str | None
    meta: dict[str, Any]


class NoOptions(Section):
    """A scorer without options."""


class KeywordOptions(Section):
    """Options of the `keywords` scorer."""

    words: dict[str, float] = Field(..., min_length=1, description="word or phrase -> weight per occurrence (case-insensitive)")
    cap: int = Field(3, ge=1, description="occurrences of one word counted at most")


def list_items(text: str) -> tuple[list[str], str | None]:
    """The items of a list in `text` and its format ("numbered", "bullets", "comma" or None)."""
    lines = [line for line in text.splitlines() if line.strip()]
    for fmt, pattern in (("numbered", NUMBERED), ("bullets", BULLET)):
        items = [m.group(1).strip() for m in map(pattern.match, lines) if m]
        if items:
            return items, fmt
    comma_line = max(lines, key=lambda line: line.count(","), default="")
    if comma_line.count(",") >= 1:
        body = comma_line.split(":")[-1]
        items = [re.sub(r"^(and|or)\s+", "", p.strip(" .")) for p in body.split(",")]
        return [i for i in items if i], "comma"
    if lines and len(WORD.findall(text)) <= 2:
        return [text.strip(" .\n")], None
    return [], None


def _clean(item: str) -> str:
    return item.strip(" .!*").lower()


def answer_number(text: str) -> str | None:
    """The number a response commits to: the one after "answer is", else the last number."""
    stated = re.search(r"answer is\s*(-?\d+)", text, flags=re.IGNORECASE)
    if stated:
        return stated.group(1)
    numbers = re.findall(r"-?\d+", text)
    return numbers[-1] if numbers else None


def correct(text: str, ctx: Context, _: Section) -> float:
    """1 when the response gives the gold answer (numbers, yes/no, text) or a valid list; else 0 (lists: partial)."""
    kind = ctx.meta.get("answer_type")
    if kind == "list":
        return count(text, ctx, _) * _valid_share(text, ctx)
    if ctx.gold is None:
        return 0.0
    if kind == "number":
        return float(answer_number(text) == ctx.gold.strip())
    if kind == "yesno":
        found = re.search(r"\b(yes|no)\b", text, flags=re.IGNORECASE)
        return float(bool(found) and found.group(1).lower() == ctx.gold.strip().lower())
    return float(ctx.gold.strip().rstrip(".") in text)


def _valid_share(text: str, ctx: Context) -> float:
    items, _fmt = list_items(text)
    allowed = {k.lower() for k in ctx.meta.get("keywords", [])}
    if not items:
        return 0.0
    if not allowed:
        return 1.0
    cleaned = [_clean(i) for i in items]
    return sum(c in allowed for c in set(cleaned)) / len(cleaned)


def count(text: str, ctx: Context, _: Section) -> float:
    """List prompts: 1 when the list has the requested number of items, falling linearly to 0 at double
    the error; other prompts: 0."""
    n = ctx.meta.get("n_items")
    if not n:
        return 0.0
    items, _fmt = list_items(text)
    return max(0.0, 1.0 - abs(len(items) - n) / n)


def list_format(text: str, ctx: Context, _: Section) -> float:
    """List prompts: 1 when the list is in the requested format (numbered, bullets, comma); others: 0."""
    wanted = ctx.meta.get("format")
    if not wanted:
        return 0.0
    return float(list_items(text)[1] == wanted)


def markdown(text: str, ctx: Context, _: Section) -> float:
    """Share (capped at 1) of five markdown features present: list lines, headings, bold, code, line breaks."""
    features = [
        bool(NUMBERED.search(text) or any(BULLET.match(line) for line in text.splitlines())),
        bool(re.search(r"^#+\s", text, flags=re.MULTILINE)),
        "**" in text,
        "`" in text,
        text.count("\n") >= 2,
    ]
    return sum(features) / len(features)


def length(text: str, ctx: Context, _: Section) -> float:
    """log(1 + words) / log(101): 0 for empty, 1 at 100 words."""
    return math.log1p(len(WORD.findall(text))) / math.log(101)


def hedging(text: str, ctx: Context, _: Section) -> float:
    """Hedge phrases present ("I think", "maybe", "not sure", ...), counted up to 3, divided by 3."""
    lower = text.lower()
    return min(3, sum(lower.count(h) for h in HEDGES)) / 3


def keywords(text: str, ctx: Context, options: Section) -> float:
    """Sum over `words` of weight x occurrences (whole words, case-insensitive, capped at `cap` each)."""
    lower = text.lower()
    total = 0.0
    for word, weight in options.words.items():  # type: ignore[attr-defined]
        hits = len(re.findall(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", lower))
        total += weight * min(hits, options.cap)  # type: ignore[attr-defined]
    return total


def repetition(text: str, ctx: Context, _: Section) -> float:
    """Share of repeated words (1 - distinct/total); 0 for responses under 4 words."""
    words = [w.lower() for w in WORD.findall(text)]
    return 0.0 if len(words) < 4 else 1.0 - len(set(words)) / len(words)


def empty(text: str, ctx: Context, _: Section) -> float:
    """1 for a blank response, else 0."""
    return float(not text.strip())


Scorer = Callable[[str, Context, Section], float]
SCORERS: dict[str, tuple[Scorer, type[Section]]] = {
    "correct": (correct, NoOptions),
    "count": (count, NoOptions),
    "format": (list_format, NoOptions),
    "markdown": (markdown, NoOptions),
    "length": (length, NoOptions),
    "hedging": (hedging, NoOptions),
    "keywords": (keywords, KeywordOptions),
    "repetition": (repetition, NoOptions),
    "empty": (empty, NoOptions),
}
