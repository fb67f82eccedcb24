"""Verdict parsers: turn a judge model's reply into P(first wins) (1, 0, 0.5 for a stated tie) or None.

None means "unparseable": the openai backend retries, and after its retry bound records a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Parser = Callable[[str], float | None]
_LETTER = {"A": 1.0, "B": 0.0}


def parse_letter(reply: str) -> float | None:
    """"A"/"B" alone, or after "Response"/"Answer"/"Verdict"/"Output", or the only one of the two letters
    standing alone in the reply."""
    text = reply.strip()
    bare = re.fullmatch(r"\W*([AB])\W*", text)
    if bare:
        return _LETTER[bare.group(1)]
    stated = re.search(r"\b(?:response|answer|verdict|output|choice)\s*(?:is\s*)?[:\s(]*\b([AB])\b", text, re.IGNORECASE)
    if stated and stated.group(1).upper() in _LETTER:
        return _LETTER[stated.group(1).upper()]
    letters = set(re.findall(r"(?<![A-Za-z])([AB])(?![A-Za-z])", text))
    return _LETTER[letters.pop()] if len(letters) == 1 else None


def parse_brackets(reply: str) -> float | None:
    """MT-Bench style "[[A]]", "[[B]]" or "[[C]]" (tie); the last one in the reply counts."""
    found = re.findall(r"\[\[([ABC])\]\]", reply)
    return {"A": 1.0, "B": 0.0, "C": 0.5}[found[-1]] if found else None


PARSERS: dict[str, Parser] = {"letter": parse_letter, "brackets": parse_brackets}
