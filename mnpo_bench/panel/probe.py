"""The probe set: built-in prompts with responses in the styles the tiny policy learns (terse, stated,
worked, chatty, hedged; right or wrong; lists in any format with right or wrong counts). `personas test`
judges its pairs to measure a persona's biases (`measure_persona`); tests use it as realistic input.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pandas as pd

from mnpo_bench.panel.annotate import build_pairs
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.diagnostics import agreement, persona_table
from mnpo_bench.panel.judge import run_panel
from mnpo_bench.panel.personas import Panel, load_persona
from mnpo_bench.paths import builtin_dir
from mnpo_bench.policy.corpus import ANSWERERS
from mnpo_bench.progress import Progress
from mnpo_bench.prompts.families import FAMILIES, Prompt
from mnpo_bench.prompts.load import builtin_prompts

LOCAL_BACKENDS = ("rule", "embedding")  # built-in personas that run anywhere, instantly


def probe_tables(n_prompts: int = 20, samples: int = 4, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prompts, generations) tables in the run-store schema: `n_prompts` built-in prompts, `samples`
    distinct styled responses each (policy "probe")."""
    prompts = builtin_prompts(sorted(FAMILIES), n_prompts, 1, seed)
    prompts = prompts[prompts["split"] == "train"].reset_index(drop=True)
    return prompts, styled_generations(prompts, samples, seed, policy="probe")


def styled_generations(prompts: pd.DataFrame, samples: int, seed: int, policy: str) -> pd.DataFrame:
    """A generations table for `prompts` (built-in families only): up to `samples` distinct responses per
    prompt in the tiny policy's styles, drawn from `seed`."""
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
            rows.append({"policy": policy, "prompt_id": row.prompt_id, "sample": sample,
                         "response_id": f"{policy}|{row.prompt_id}|{sample}", "text": text,
                         "n_tokens": len(text.split()), "finish_reason": "stop", "empty": not text.strip(),
                         "truncated": False})
    return pd.DataFrame(rows)


def measure_persona(name_or_path: str, overrides: dict[str, Any] | None = None, *, n_prompts: int = 20,
                    seed: int = 0, cache_dir: str | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """What `personas test` prints: the persona's measured biases on the probe set and its agreement with
    every built-in persona that runs locally (rule and embedding backends).

    Returns {"persona", "backend", "source", "row" (persona_table row: rates in [0, 1], latency in seconds,
    cost in USD), "others": [{"persona", "agreement", "kappa"}], "skipped": [names not run]}.
    """
    progress = progress or Progress(quiet=True)
    persona = load_persona(name_or_path, overrides)
    others, skipped = [], []
    for path in sorted(builtin_dir("annotators").glob("*.yaml")):
        other = load_persona(path)
        if other.name == persona.name:
            continue
        if other.backend in LOCAL_BACKENDS:
            others.append(other)
        else:
            skipped.append(other.name)
    members = tuple([(persona, 1.0)] + [(o, 1.0) for o in others])
    panel = Panel("probe", "mean", members, weights={p.name: 1.0 for p, _ in members})
    prompts, generations = probe_tables(n_prompts, 4, seed)
    pairs = build_pairs(prompts, generations)
    cfg = PanelConfig(cache_dir=cache_dir)
    judgments, stats = run_panel(pairs, panel, cfg, seed=seed, progress=progress)
    table = persona_table(judgments, pairs, stats.as_dict()).set_index("persona")
    agree = agreement(judgments)
    return {
        "persona": persona.name, "backend": persona.backend, "source": persona.source,
        "row": table.loc[persona.name].to_dict(),
        "others": [{"persona": o.name, "agreement": agree["agreement"].get(persona.name, {}).get(o.name),
                    "kappa": agree["kappa"].get(persona.name, {}).get(o.name)} for o in others],
        "skipped": skipped,
    }
