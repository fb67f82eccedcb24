"""Verdict parsers: turn a judge model's reply into P(first wins) (1, 0, 0.5 for a stated tie) or None.

None means "unparseable": the openai backend retries, and after its retry bound records a failure. A
reply that is ambiguous (a tie and a letter, both letters declared winner, a hedge or a refusal) is None,
never a win: misreading "a tie" or "A and B" as "A" would bias every panel toward the first-shown response.
Regular expressions rather than a library: the replies are a handful of words, and the rules (which
words make a tie, when a capital "A" is an article) are the content of this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Parser = Callable[[str], float | None]
_LETTER = {"A": 1.0, "B": 0.0}

# "A and B", "both A and B", "neither A nor B", "A/B", "A or B": a mention of both, never a verdict
_ONE = r"(?:\((?-i:[ABab])\)|(?-i:[AB]))"
_PAIR = re.compile(rf"(?<![A-Za-z])(?:both\s+|neither\s+|either\s+)?(?:responses?\s+|assistants?\s+|outputs?\s+)?"
                   rf"{_ONE}\s*(?:and|&|or|nor|/|,|vs\.?|versus)\s*(?:responses?\s+|assistants?\s+|outputs?\s+)?"
                   rf"{_ONE}(?![A-Za-z])", re.IGNORECASE)
_TIE = re.compile(r"\[\[C\]\]|\btie[ds]?\b|\bdraw\b|\bneither\b|\bequal(?:ly)?\b|\bequivalent\b|\bidentical\b"
                  r"|\bindistinguishable\b|\bthe same\b|\bsame (?:quality|level)\b|\bevenly matched\b"
                  r"|\bno (?:clear )?(?:preference|winner|difference)\b|\bboth\b.{0,40}?\b(?:good|bad|fine|correct"
                  r"|wrong|acceptable|similar|helpful|unhelpful|strong|weak|comparable|valid)\b", re.IGNORECASE)
_HEDGE = re.compile(r"\bcannot\b|\bcan'?t\b|\bunable\b|\bsorry\b|\bas an ai\b|\bdepends\b|\bhard to (?:say|tell|decide)"
                    r"|\bdifficult to\b|\bnot sure\b|\bunclear\b|\bunsure\b|\bit'?s complicated\b|\bmaybe\b"
                    r"|\bperhaps\b|\bprobably\b|\bmight\b|\bno way to\b|\bwon'?t\b|\bdecline\b", re.IGNORECASE)
# a capital A followed by a lower-case word is an article ("A tie", "A close call") unless the word is a verb
_VERB_AFTER = (r"(?=\s*(?:$|[.,;:!?)\]*\"'\n—-]|(?:is|was|wins?|won|would|seems?|clearly|because|since|as|due|"
               r"provides?|gives?|answers?|does|has|beats|outperforms|offers|over|which|here|overall)\b))")
_NAMED = r"(?:(?:response|assistant|answer|output|option|model|candidate|summary)\s+)"
_CANDIDATE = re.compile(rf"(?<![A-Za-z'])(?:{_NAMED}\(?([AB])\)?(?![A-Za-z])|\(?(B)\)?(?![A-Za-z'])"
                        rf"|\(?(A)\)?(?![A-Za-z']){_VERB_AFTER})", re.IGNORECASE)
_DECLARED = re.compile(
    rf"(?:\b(?:verdict|final answer|answer|choice|winner|decision|preference|pick|better (?:response|one|answer|output)"
    rf"(?: is)?|i (?:would )?(?:prefer|choose|pick|select|go with)|overall,?)[\"'*\s]*(?:is|:|=)?[\"'*\s]*{_NAMED}?"
    rf"\**\(?([AB])\)?\**(?![A-Za-z])(?!\s+(?:tie|draw)\b))"
    rf"|(?:\b{_NAMED}?([AB])\)?\**\s+(?:is|was)\s+(?:clearly\s+|slightly\s+|much\s+|far\s+)?(?:better|preferred"
    rf"|superior|the better|stronger|more helpful|more accurate|more correct|the winner))"
    rf"|(?:\b{_NAMED}?([AB])\s+wins\b)", re.IGNORECASE)


def parse_letter(reply: str) -> float | None:
    """1.0 when the reply picks A (the first-shown response), 0.0 for B, 0.5 for a stated tie ("tie",
    "Neither", "Both are equally good", "[[C]]"), None when it is unreadable, a refusal, a hedge, or
    contradicts itself (a tie and a winner, or both letters declared)."""
    text = re.sub(r"[*_`#>]", " ", reply).strip()
    if not text:
        return None
    if re.fullmatch(r"\W*\(?(?:[Cc]|tie|TIE|Tie)\)?\W*", text):
        return 0.5
    if _HEDGE.search(text):
        return None
    tie = bool(_TIE.search(text))
    text = _PAIR.sub(" ", text)
    declared = {next(g for g in m.groups() if g).upper() for m in _DECLARED.finditer(text) if _is_letter(m)}
    letters = declared or {next(g for g in m.groups() if g).upper() for m in _CANDIDATE.finditer(text)
                           if _is_letter(m)}
    if tie:
        return 0.5 if not letters else None
    return _LETTER[letters.pop()] if len(letters) == 1 else None


def _is_letter(match: re.Match[str]) -> bool:
    """A candidate letter counts when it is a capital, or a lower-case one named ("response a") or in
    parentheses ("(a)"): a lone lower-case "a" is the article."""
    group = next(i for i, g in enumerate(match.groups(), start=1) if g)
    if match.group(group).isupper():
        return True
    before = match.string[:match.start(group)]
    return before.endswith("(") or bool(re.search(rf"\b{_NAMED}$", before, re.IGNORECASE))


def parse_brackets(reply: str) -> float | None:
    """MT-Bench style "[[A]]", "[[B]]" or "[[C]]" (tie); the last one in the reply counts."""
    found = re.findall(r"\[\[([ABC])\]\]", reply)
    return {"A": 1.0, "B": 0.0, "C": 0.5}[found[-1]] if found else None


PARSERS: dict[str, Parser] = {"letter": parse_letter, "brackets": parse_brackets}
