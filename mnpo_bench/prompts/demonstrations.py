"""Demonstrations: a full reference answer per prompt, what SPIN imitates.

A prompts file gives one per row in its `demonstration` field (kept in the row's `meta`); the built-in families
get one written from their gold answer and metadata, in the corpus's plain "stated" style (correct, in the
requested format and count, no chatter).
"""

from __future__ import annotations

import json
from typing import Any

from mnpo_bench.prompts.families import ITEMS


def demonstration(gold: str | None, meta: dict[str, Any] | str | None) -> str | None:
    """The prompt's demonstration text: `meta["demonstration"]` when given, else the built-in answer for its
    answer_type (number, yesno, list, text) from `gold` and `meta`; None when neither is known."""
    meta = json.loads(meta) if isinstance(meta, str) else dict(meta or {})
    given = meta.get("demonstration")
    if isinstance(given, str) and given.strip():
        return given
    kind = meta.get("answer_type")
    if kind == "list":
        words = (meta.get("keywords") or ITEMS.get(meta.get("topic", ""), []))[: meta.get("n_items", 0)]
        if not words:
            return None
        body = {"numbered": "\n".join(f"{i}. {w}" for i, w in enumerate(words, start=1)),
                "bullets": "\n".join(f"- {w}" for w in words)}.get(meta.get("format"), ", ".join(words))
        return f"Here are {len(words)} {meta.get('topic', 'items')}:\n{body}"
    if gold is None:
        return None
    if kind == "number":
        return f"The answer is {gold}."
    if kind == "yesno":
        return f"{gold.capitalize()}."
    return gold
