"""The verbs that run stages: `run` (the whole pipeline), `annotate` and `tournament` (a part of it).

Each subsystem defines its stages in its own `stage.py`; this module only lists them and runs a list with
`run_stages`, so one stage gets the same input hash from every verb (docs/ARCHITECTURE.md has the picture).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from mnpo_bench.bench.stage import bench_stage
from mnpo_bench.config import load_config
from mnpo_bench.errors import UserError
from mnpo_bench.generation.stage import generate_stage
from mnpo_bench.panel.stage import annotate_stage, non_transitivity_line
from mnpo_bench.pipeline import Context, open_run
from mnpo_bench.policy.stage import policies_stage, policy_stage
from mnpo_bench.prompts.stage import prompts_stage
from mnpo_bench.ratings.stage import leaderboard_stage
from mnpo_bench.store import file_hash
from mnpo_bench.tournament.stage import enter_policies, parse_policies, tournament_stage
from mnpo_bench.train.stage import train_stage

# (stage name, the config section whose `enabled` switches it or None: always runs, the stage function);
# a name also covers its sub-stages ("train" covers train/<method>/iter<t>/...)
Stage = tuple[str, str | None, Callable[[Context], None]]
PROMPTS: Stage = ("prompts", None, prompts_stage)
ANNOTATE: Stage = ("annotate", "panel", annotate_stage)
TOURNAMENT: Stage = ("tournament", "tournament", tournament_stage)
LEADERBOARD: Stage = ("leaderboard", "leaderboard", leaderboard_stage)
RUN = [PROMPTS, ("policy", None, policy_stage), ("generate", None, generate_stage), ANNOTATE,
       ("train", "train", train_stage), ("policies", None, policies_stage), TOURNAMENT, ("bench", "bench", bench_stage),
       LEADERBOARD]
ANNOTATE_ONLY = [ANNOTATE]
TOURNAMENT_ONLY = [PROMPTS, TOURNAMENT, LEADERBOARD]


def run_stages(ctx: Context, stages: list[Stage]) -> Context:
    """Run `stages` in order on `ctx` (each skipped when its inputs are unchanged); returns `ctx`. Stages of the
    run that are not in the list join downstream hashes with the input hash the manifest recorded for them, so a
    stage hashes the same whichever verb runs it."""
    listed = {name for name, _, _ in stages}
    for name, record in ctx.store.manifest()["stages"].items():
        if record["status"] == "done" and name.split("/")[0] not in listed:
            ctx.hashes.setdefault(name, record["input_hash"])
    started = time.time()
    try:
        for _, section, stage in stages:
            if section is None or getattr(ctx.config, section).enabled:
                stage(ctx)
    finally:
        ctx.store.unlock()  # the run directory's lock, taken by open_run (a no-op when not held)
    ctx.progress.note(f"done in {time.time() - started:.1f} s: ran {len(ctx.ran)} stage(s), "
                      f"skipped {len(ctx.skipped)} unchanged")
    return ctx


def run_pipeline(config_path: Path | None, overrides: list[str], *, out: Path | None = None,
                 quiet: bool = False) -> Context:
    """`mnpo-bench run`: every stage of the config at `config_path` (None: the embedded default)."""
    from mnpo_bench.validate import validate_parts

    config = load_config(config_path, overrides)
    validate_parts(config)
    ctx = run_stages(open_run(config, out, quiet=quiet), RUN)
    print(f"results: {ctx.store.root}")
    diagnostics = ctx.store.path("panel_diagnostics.json")
    if diagnostics.exists():  # the training preferences' non-transitivity, the run's headline about its data
        block = json.loads(diagnostics.read_text()).get("non_transitivity")
        if block:
            print(f"training preferences: {non_transitivity_line(block)}")
    return ctx


def run_tournament(policies: list[str], config_path: Path | None, overrides: list[str], *, out: Path,
                   quiet: bool = False) -> Context:
    """`mnpo-bench tournament`: the prompts, tournament and leaderboard stages over `policies`
    ("name=location" or a location) in the run at `out`; with no policies, the run's own policies.json."""
    from mnpo_bench.validate import validate_parts

    config = load_config(config_path, overrides)
    validate_parts(config, verb="tournament")
    entered = parse_policies(policies, Path(out))
    ctx = open_run(config, out, quiet=quiet)
    enter_policies(ctx.store, entered)
    ctx = run_stages(ctx, TOURNAMENT_ONLY)
    print(f"results: {ctx.store.root}")
    return ctx


def annotate_run(run_dir: Path, overrides: list[str], *, quiet: bool = False) -> Context:
    """`mnpo-bench annotate`: the annotate stage on an existing run directory (its config.yaml with
    `overrides`); upstream stages must have written prompts.parquet and generations.parquet."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError("run directory not found", where=str(run_dir), fix="pass a directory made by mnpo-bench run")
    from mnpo_bench.validate import validate_parts

    config_path = run_dir / "config.yaml"
    config = load_config(config_path if config_path.exists() else None, overrides)
    validate_parts(config, verb="annotate")
    for stage, table in (("prompts", "prompts"), ("generate", "generations")):
        if not (run_dir / f"{table}.parquet").exists():
            raise UserError(f"table '{table}' is missing", where=str(run_dir / f"{table}.parquet"),
                            fix=f"run the {stage} stage first (mnpo-bench run)")
    ctx = open_run(config, run_dir, quiet=quiet, record=False)
    for stage, table in (("prompts", "prompts"), ("generate", "generations")):
        if ctx.store.stage_record(stage) is None:  # tables made outside the pipeline: hash their content
            ctx.hashes[stage] = file_hash(ctx.store.path(f"{table}.parquet"))
    return run_stages(ctx, ANNOTATE_ONLY)
