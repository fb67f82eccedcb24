"""The `annotate` stage: the panel judges every pair among each train prompt's reference samples.

Reads `prompts` (split "train") and `generations` (policy "reference"); writes judgments.parquet,
preferences.parquet (plain text), preferences_conversational.parquet (TRL's chat-message form),
panel_diagnostics.json and panel_annotators.csv. Its input hash covers the panel config, every seated
persona's content hash and the seed; inside the stage, resuming is the persistent judge cache's job
(a killed stage re-run makes no calls for what it had already judged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.panel.annotate import annotate_with_stats, persona_panel
from mnpo_bench.panel.conversational import TABLE as CONVERSATIONAL, conversational_preferences
from mnpo_bench.panel.diagnostics import panel_diagnostics
from mnpo_bench.panel.failures import settle_failures
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.personas import Panel, resolve_panel
from mnpo_bench.store import json_safe, write_json, write_text

OUTPUTS = ["judgments.parquet", "preferences.parquet", "preferences_conversational.parquet",
           "panel_diagnostics.json", "panel_annotators.csv"]
RUNTIME_ONLY = {"cache", "cache_dir", "device", "chunk_size", "max_calls", "max_cost_usd", "over_budget_ok",
                "max_failure_rate"}  # do not change any verdict


def panel_inputs(cfg: PanelConfig, panel: Panel | None = None) -> dict[str, Any]:
    """What a panel's verdicts depend on, for a stage's input hash: the panel config (less runtime-only
    fields), the preset's aggregation, weights and knob, and every seated persona's content hash. The
    tournament stage can use it too, so editing a persona re-runs whatever it judged."""
    panel = panel or resolve_panel(cfg)
    personas = {p.name: p.hash for p, _ in panel.members}
    if panel.quality is not None:
        personas[f"quality:{panel.quality.name}"] = panel.quality.hash
    return {"panel": cfg.model_dump(mode="json", exclude=RUNTIME_ONLY), "personas": personas,
            "panel_file": {"aggregation": panel.aggregation, "shared_quality": panel.shared_quality,
                           "weights": panel.weights}}


def judge_samples(ctx: Any, stage: Any, prompts: pd.DataFrame, generations: pd.DataFrame, *, seed: int,
                  what: str, write: Callable[[pd.DataFrame, pd.DataFrame, dict, pd.DataFrame], None],
                  persona: str | None = None, panel: Panel | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, dict, pd.DataFrame]:
    """(judgments, preferences, diagnostics, per-annotator table) of the run's panel over every pair among
    each prompt's samples in `generations` (`persona`: that member's verdicts alone, as HT-MNPO players are
    labelled). The body of every judging sub-stage: the run's annotate stage and the online iterations'.

    Checks the call budget first, records the calls and dollars spent on `stage` (a StageRun), prints the
    counts and the non-transitivity, hands the four results to `write` (so failed judgments are on disk,
    redacted, for the user to read), then settles failures (`stage` incomplete; a UserError over
    panel.max_failure_rate). `what` names the stage in messages; `panel` is the resolved ctx.config.panel
    when the caller has it."""
    from mnpo_bench.panel.annotate import build_pairs
    from mnpo_bench.panel.cost import check_budget, estimate

    cfg = ctx.config.panel
    panel = panel or resolve_panel(cfg)
    per_prompt = generations.groupby("prompt_id")["response_id"].nunique()
    if per_prompt.empty or per_prompt.max() < 2:
        raise UserError(f"no prompt has two {'reference ' if what == 'annotate' else ''}responses to compare",
                        where="generation.n_samples",
                        fix="sample at least 2 responses per prompt, or set panel.enabled: false")
    if persona is None:  # a single persona's share is not what the panel's estimate counts
        found = estimate(build_pairs(prompts, generations), panel, cfg, seed=seed)
        ctx.progress.note(f"  {found.line()}")
        check_budget(found, cfg, what)
    judgments, prefs, stats, pairs = annotate_with_stats(prompts, generations, panel, cfg, seed=seed,
                                                         progress=ctx.progress, persona=persona)
    labelling = persona_panel(panel, persona)
    weights, aggregation = labelling.weights, labelling.aggregation
    diagnostics, table = panel_diagnostics(judgments, pairs, weights, aggregation, stats.as_dict())
    diagnostics["panel"] = {"name": panel.name, "source": panel.source, "aggregation": aggregation,
                            "shared_quality": panel.shared_quality, "weights": weights,
                            "quality_persona": panel.quality.name if panel.quality else None}
    diagnostics["counts"]["preferences"] = len(prefs)
    stage.record_spend(*stats.spent())
    counts = diagnostics["counts"]
    calls = sum(s["calls"] for s in stats.as_dict().values())
    hits = sum(s["cache_hits"] for s in stats.as_dict().values())
    ctx.progress.note(f"  {what}: {counts['judgments']} judgments ({counts['failed']} failed, "
                      f"{counts['ties']} ties) over {counts['pairs']} pairs -> {len(prefs)} preferences; "
                      f"{calls} judge calls, {hits} from cache")
    ctx.progress.note(f"  non-transitivity: {non_transitivity_line(diagnostics['non_transitivity'])}")
    diagnostics = json_safe(diagnostics)
    write(judgments, prefs, diagnostics, table)
    settle_failures(judgments, panel, cfg, stage, what)
    return judgments, prefs, diagnostics, table


def annotate_stage(ctx: Any) -> None:
    """Run the annotate stage of the pipeline on `ctx` (a mnpo_bench.pipeline.Context)."""
    cfg = ctx.config.panel
    if not cfg.enabled:
        ctx.progress.note("[dim]skip[/dim] annotate (panel.enabled is false)")
        return
    panel = resolve_panel(cfg)

    def run(stage: Any) -> list[str]:
        store = ctx.store
        prompts = store.read_table("prompts")
        prompts = prompts[prompts["split"] == "train"]
        generations = store.read_table("generations")
        generations = generations[(generations["policy"] == "reference")
                                  & generations["prompt_id"].isin(prompts["prompt_id"])]
        def write(judgments: pd.DataFrame, prefs: pd.DataFrame, diagnostics: dict, table: pd.DataFrame) -> None:
            store.write_table("judgments", judgments)
            store.write_table("preferences", prefs)
            store.write_table(CONVERSATIONAL, conversational_preferences(prefs))
            write_json(store.path("panel_diagnostics.json"), diagnostics)
            write_text(store.path("panel_annotators.csv"), table.to_csv(index=False))

        judge_samples(ctx, stage, prompts, generations, seed=ctx.config.seed, what="annotate", write=write, panel=panel)
        return list(OUTPUTS)

    inputs = {**panel_inputs(cfg, panel), "seed": ctx.config.seed}
    ctx.stage("annotate", run, inputs=inputs, after=("prompts", "generate"))


def non_transitivity_line(d: dict) -> str:
    """One line of the panel's non-transitivity measures (panel.cycles), shares as percentages."""
    pct = lambda x: "n/a" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    return (f"{pct(d['cyclic_triad_share'])} cyclic triads of {d['decided_triads']} decided, Hodge curl share "
            f"{pct(d['curl_share'])}, mixed maximal lottery on {pct(d['mixed_lottery_share'])} of "
            f"{d['lottery_prompts']} prompts")
