"""The probe set: built-in prompts with responses in the styles the tiny policy learns (terse, stated,
worked, chatty, hedged; right or wrong; lists in any format with right or wrong counts). `personas test`
judges its pairs to measure a persona's biases; tests use it as realistic, varied input.
"""

from __future__ import annotations

import json
import random

import pandas as pd

from mnpo_bench.policy.corpus import ANSWERERS
from mnpo_bench.prompts.families import FAMILIES, Prompt
from mnpo_bench.prompts.load import builtin_prompts


def probe_tables(n_prompts: int = 20, samples: int = 4, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prompts, generations) tables in the run-store schema: `n_prompts` built-in prompts, `samples`
    distinct styled responses each (policy "probe")."""
    prompts = builtin_prompts(sorted(FAMILIES), n_prompts, 1, seed)
    prompts = prompts[prompts["split"] == "train"].reset_index(drop=True)
    rng = random.Random(seed)
    rows = []
    for row in prompts.itertuples(index=False):
        meta = json.loads(row.meta)
        item = Prompt(row.family, row.prompt, row.gold, meta)
        texts: list[str] = []
        for _ in range(50):  # draw until `samples` distinct responses
            text = ANSWERERS[meta["answer_type"]](rng, item)
            if text not in texts:
                texts.append(text)
            if len(texts) == samples:
                break
        for sample, text in enumerate(texts):
            rows.append({"policy": "probe", "prompt_id": row.prompt_id, "sample": sample,
                         "response_id": f"probe|{row.prompt_id}|{sample}", "text": text,
                         "n_tokens": len(text.split()), "finish_reason": "stop", "empty": not text.strip(),
                         "truncated": False})
    return prompts, pd.DataFrame(rows)
