"""Three planted policies with hand-written responses over the built-in prompts, for the cyclic preset.

Each policy is best on one attribute, middle on another and worst on the third (a Latin square):

    policy  brevity (concise)   explanation (explainer)    warmth (friendly)        correct
    A       shortest            1 reasoning word (middle)  none (least)             yes
    B       middle              none (least)               2 warm phrases (most)    yes
    C       longest             3 reasoning words (most)   1 warm phrase (middle)   no (lists: partly)

so by majority A beats B (brevity, explanation), B beats C (brevity, warmth) and C beats A
(explanation, warmth): a Condorcet cycle. Mixing in correctness breaks C > A.
"""

from __future__ import annotations

import json

import pandas as pd

from mnpo_bench.prompts.families import FAMILIES
from mnpo_bench.prompts.load import builtin_prompts


def _answers(meta: dict, gold: str | None) -> tuple[str, str]:
    """(right answer, wrong answer) as text; lists on their own line in the requested format."""
    if meta["answer_type"] == "list":
        items = meta["keywords"]
        n = meta["n_items"]

        def as_list(k: int) -> str:
            chosen = items[:k]
            if meta["format"] == "numbered":
                return "\n" + "\n".join(f"{i}. {w}" for i, w in enumerate(chosen, start=1))
            if meta["format"] == "bullets":
                return "\n" + "\n".join(f"- {w}" for w in chosen)
            return "\n" + ", ".join(chosen)

        return as_list(n), as_list(n + 2)  # the wrong list has two items too many
    if meta["answer_type"] == "number":
        return gold, str(int(gold) + 3)
    if meta["answer_type"] == "yesno":
        return gold, "no" if gold == "yes" else "yes"
    return gold, "unknown"


def planted(n_prompts: int = 30, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prompts, generations): `n_prompts` built-in prompts, one response per policy A, B, C each."""
    prompts = builtin_prompts(sorted(FAMILIES), n_prompts, 1, seed)
    prompts = prompts[prompts["split"] == "train"].reset_index(drop=True)
    rows = []
    for row in prompts.itertuples(index=False):
        right, wrong = _answers(json.loads(row.meta), row.gold)
        texts = {  # the answer goes last, so a list stays a clean list
            "A": f"Because: {right}",
            "B": f"Sure! I hope this helps! {right}",
            "C": f"Of course, I went one step at a time, since this needs care, because it matters: {wrong}",
        }
        for sample, (policy, text) in enumerate(texts.items()):
            rows.append({"policy": policy, "prompt_id": row.prompt_id, "sample": sample,
                         "response_id": f"{policy}|{row.prompt_id}|0", "text": text, "n_tokens": len(text.split()),
                         "finish_reason": "stop", "empty": False, "truncated": False})
    return prompts, pd.DataFrame(rows)
