"""The leaderboard stage: the run's battles (and bench results) to `leaderboard/`, published to
`<leaderboard.publish_dir>/<run name>/`. The last stage of the default pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.ratings.leaderboard import OUTPUTS, build_leaderboard, copy_leaderboard
from mnpo_bench.store import RunStore


def leaderboard_stage(ctx: Context) -> None:
    """Run (or skip, when its inputs are unchanged) the leaderboard stage of the run in `ctx`."""
    config = ctx.config.leaderboard
    if not config.enabled:
        ctx.progress.note("[dim]skip[/dim] leaderboard (disabled)")
        return
    if not ctx.store.has_table("battles"):
        ctx.progress.note("[dim]skip[/dim] leaderboard (no battles: the tournament did not run)")
        return
    inputs = {"leaderboard": config, "seed": ctx.config.seed, "name": ctx.config.name}
    after = tuple(stage for stage in ("tournament", "bench") if stage in ctx.hashes)
    ctx.stage("leaderboard", _run, inputs=inputs, after=after)


def _run(run: StageRun) -> list[str]:
    ctx = run.ctx
    config = ctx.config.leaderboard
    store = ctx.store
    bench = store.read_table("bench") if store.has_table("bench") else None
    out = store.path("leaderboard")
    schedule_file = store.path("tournament_schedule.json")
    schedule = json.loads(schedule_file.read_text()) if schedule_file.exists() else None
    battles = store.read_table("battles")
    responses = store.read_table("responses") if store.has_table("responses") else None
    build_leaderboard(battles, out, reference=_reference(store, battles, config.reference), bootstrap=config.bootstrap,
                      seed=ctx.config.seed, bench=bench, soft=config.soft, source=str(store.path("battles.parquet")),
                      reference_option="leaderboard.reference", schedule=schedule, resample=config.resample,
                      responses=responses)
    published = Path(config.publish_dir) / ctx.config.name
    copy_leaderboard(out, published)
    ctx.progress.note(f"published the leaderboard to {published}/")
    return [f"leaderboard/{name}" for name in OUTPUTS]


def _reference(store: RunStore, battles: pd.DataFrame, entered: str) -> str:
    """leaderboard.reference when it fought (or the run has no policies.json), else the first policy of
    policies.json: the `tournament` verb's policies need not include one called 'reference'."""
    path = store.path("policies.json")
    if entered in set(battles["model_a"]) | set(battles["model_b"]) or not path.exists():
        return entered
    return next(iter(json.loads(path.read_text())), entered)
