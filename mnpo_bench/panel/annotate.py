"""Annotation: judge every pair among each prompt's sampled responses and turn verdicts into preferences.

Used by the annotate stage (reference policy's samples) and by the trainer's online loop (the current
iterate's samples, optionally one persona at a time for HT-MNPO players).
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.panel.aggregate import preferences
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.judge import PAIR_COLUMNS, JudgeStats, run_panel
from mnpo_bench.panel.personas import Panel, resolve_panel
from mnpo_bench.progress import Progress


def build_pairs(prompts: pd.DataFrame, generations: pd.DataFrame) -> pd.DataFrame:
    """The pairs table (PAIR_COLUMNS): every unordered pair among each prompt's responses, in sample order."""
    unknown = sorted(set(generations["prompt_id"]) - set(prompts["prompt_id"]))
    if unknown:
        raise UserError(f"generations name prompt_id '{unknown[0]}' that is not among the prompts",
                        where="generations", fix="annotate generations of the same run's prompts")
    by_id = prompts.set_index("prompt_id")
    rows = []
    for prompt_id, group in generations.sort_values(["prompt_id", "sample"]).groupby("prompt_id", sort=False):
        info = by_id.loc[prompt_id]
        samples = list(group[["response_id", "text"]].itertuples(index=False))
        for a, b in combinations(samples, 2):
            rows.append({"prompt_id": prompt_id, "prompt": info["prompt"], "gold": info["gold"], "meta": info["meta"],
                         "response_a_id": a.response_id, "response_a": a.text,
                         "response_b_id": b.response_id, "response_b": b.text})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def annotate(prompts: pd.DataFrame, generations: pd.DataFrame, panel_cfg: PanelConfig, *, seed: int,
             progress: Progress, persona: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(judgments, preferences) of the run's panel on all pairs among each prompt's samples, both orders.

    `persona` keeps only that panel member's verdicts (it then judges every comparison). Preference rows
    follow TRL (prompt, chosen, rejected) plus prob, prompt_id, annotators, chosen_id, rejected_id.
    """
    judgments, prefs, _stats, _pairs = annotate_with_stats(prompts, generations, resolve_panel(panel_cfg), panel_cfg,
                                                           seed=seed, progress=progress, persona=persona)
    return judgments, prefs


def annotate_with_stats(prompts: pd.DataFrame, generations: pd.DataFrame, panel: Panel, panel_cfg: PanelConfig, *,
                        seed: int, progress: Progress, persona: str | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, JudgeStats, pd.DataFrame]:
    """As `annotate`, with the panel resolved, plus the judge call statistics and the pairs table."""
    pairs = build_pairs(prompts, generations)
    judgments, stats = run_panel(pairs, panel, panel_cfg, seed=seed, progress=progress, only=persona)
    return judgments, preferences(judgments, pairs, persona_panel(panel, persona)), stats, pairs


def persona_panel(panel: Panel, persona: str | None) -> Panel:
    """`panel` itself (persona None), or the one-member panel whose verdicts are `persona`'s alone (weight 1,
    mean aggregation): how HT-MNPO players' labels are aggregated."""
    if persona is None:
        return panel
    return Panel(panel.name, "mean", tuple((p, w) for p, w in panel.members if p.name == persona),
                 panel.shared_quality, panel.quality, panel.source, panel.description, {persona: 1.0})
