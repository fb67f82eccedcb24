"""`mnpo-bench run`: the whole pipeline over one run directory, plus `validate` and `ls runs`.

Stage order (docs/ARCHITECTURE.md): prompts → policy → generate → annotate → train → tournament → bench →
leaderboard. Each stage is skipped when its inputs are unchanged (see pipeline.Context.stage).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from mnpo_bench.config import RunConfig, load_config
from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.progress import Progress
from mnpo_bench.store import RunStore, file_hash, write_json, write_text


def run_dir(config: RunConfig, out: Path | None) -> Path:
    """The run directory: --out if given, else <runs_dir>/<name>."""
    return Path(out) if out is not None else Path(config.runs_dir) / config.name


def set_cpu_threads(config: RunConfig) -> None:
    """Apply policy.cpu_threads (process-wide, as torch's thread pool is)."""
    import torch

    threads = config.policy.cpu_threads or (1 if config.policy.model == "tiny" else None)
    if threads:
        torch.set_num_threads(threads)


def run_pipeline(config_path: Path | None, overrides: list[str], *, out: Path | None = None,
                 quiet: bool = False) -> Context:
    """Run every stage of the config at `config_path` (None: the embedded default); returns the context."""
    config = load_config(config_path, overrides)
    if out is not None and config.name == RunConfig.model_fields["name"].default:
        config = config.model_copy(update={"name": Path(out).name})  # the run is named after its directory
    validate_parts(config)
    set_cpu_threads(config)
    store = RunStore.open(run_dir(config, out))
    write_text(store.path("config.yaml"), yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    ctx = Context(config=config, store=store, progress=Progress(quiet=quiet))
    started = time.time()
    for section, stage in STAGES:
        if section is None or getattr(config, section).enabled:
            stage(ctx)
    ctx.progress.note(
        f"done in {time.time() - started:.1f} s: ran {len(ctx.ran)} stage(s), skipped {len(ctx.skipped)} unchanged"
    )
    print(f"results: {store.root}")
    return ctx


def run_tournament(policies: list[str], config_path: Path | None, overrides: list[str], *, out: Path,
                   quiet: bool = False) -> Context:
    """`mnpo-bench tournament`: the prompts, tournament and leaderboard stages over `policies`
    ("name=location" or a location) in the run at `out`; with no policies, the run's own policies.json."""
    from mnpo_bench.policy.load import policy_spec

    config = load_config(config_path, overrides)
    set_cpu_threads(config)
    store = RunStore.open(out)
    if policies:
        entered = {}
        for spec in policies:
            name, location = policy_spec(spec, where=f"policy argument '{spec}'")
            entered[name] = location
        write_json(store.path("policies.json"), entered)
        if config.leaderboard.reference not in entered:  # rate against the first policy named
            config = config.model_copy(update={"leaderboard": config.leaderboard.model_copy(
                update={"reference": next(iter(entered))})})
    elif not store.path("policies.json").exists():
        raise UserError("no policies.json in the run", where=str(out), fix="name the policies to enter as arguments")
    write_text(store.path("config.yaml"), yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    ctx = Context(config=config, store=store, progress=Progress(quiet=quiet))
    prompts_stage(ctx)
    tournament_stage(ctx)
    if config.leaderboard.enabled:
        leaderboard_stage(ctx)
    print(f"results: {store.root}")
    return ctx


# -- the core stages -----------------------------------------------------------------------------------
def prompts_stage(ctx: Context) -> None:
    """prompts.parquet: the run's train and eval prompts."""
    from mnpo_bench.prompts.load import load_prompts

    source = Path(ctx.config.prompts.source)
    inputs = {"prompts": ctx.config.prompts, "seed": ctx.config.seed,
              "file": file_hash(source) if source.is_file() else None}

    def fn(stage: StageRun) -> list[str]:
        frame = load_prompts(ctx.config.prompts, ctx.config.seed)
        return [ctx.store.write_table("prompts", frame).name]

    ctx.stage("prompts", fn, inputs=inputs)


def policy_stage(ctx: Context) -> None:
    """policies.json with the reference policy (the tiny model is built on first use, then cached)."""
    from mnpo_bench.policy.load import resolve_policy

    def fn(stage: StageRun) -> list[str]:
        path = resolve_policy(ctx.config.policy, ctx.progress)
        write_json(ctx.store.path("reference.json"), {"reference": path})
        outputs = ["reference.json"]
        return outputs + ([path] if Path(path).is_absolute() else [])

    ctx.stage("policy", fn, inputs=ctx.config.policy)


def generate_stage(ctx: Context) -> None:
    """generations.parquet: K samples per train prompt from the reference policy (resumable by chunk)."""
    from mnpo_bench.generation import generate

    def fn(stage: StageRun) -> list[str]:
        prompts = ctx.store.read_table("prompts")
        frame = generate(reference_path(ctx.store), prompts[prompts["split"] == "train"], ctx.config.generation,
                         policy_name="reference", seed=ctx.config.seed, progress=ctx.progress,
                         parts=stage.parts(), device=ctx.config.policy.device)
        return [ctx.store.write_table("generations", frame).name]

    ctx.stage("generate", fn, inputs={"generation": ctx.config.generation, "seed": ctx.config.seed},
              after=("prompts", "policy"))


def reference_path(store: RunStore) -> str:
    """The reference policy's location recorded by the policy stage."""
    return json.loads(store.path("reference.json").read_text())["reference"]


def policies_stage(ctx: Context) -> None:
    """policies.json: the reference plus every trained iterate, {name: path} (relative paths are run-relative)."""
    policies = {"reference": reference_path(ctx.store)}
    trained = ctx.store.path("train/policies.json")
    if ctx.config.train.enabled and trained.exists():
        policies.update(json.loads(trained.read_text()))
    write_json(ctx.store.path("policies.json"), policies)


def annotate_stage(ctx: Context) -> None:
    from mnpo_bench.panel.stage import annotate_stage as run

    run(ctx)


def train_stage(ctx: Context) -> None:
    from mnpo_bench.train.stage import train_stage as run

    run(ctx)


def tournament_stage(ctx: Context) -> None:
    from mnpo_bench.tournament.stage import tournament_stage as run

    run(ctx)


def bench_stage(ctx: Context) -> None:
    from mnpo_bench.bench.stage import bench_stage as run

    run(ctx)


def leaderboard_stage(ctx: Context) -> None:
    from mnpo_bench.ratings.stage import leaderboard_stage as run

    if not ctx.store.has_table("battles"):
        ctx.progress.note("[dim]skip[/dim] leaderboard (no battles: the tournament did not run)")
        return
    run(ctx)


# (config section whose `enabled` switches the stage, or None: always runs; the stage)
STAGES = [
    (None, prompts_stage), (None, policy_stage), (None, generate_stage), ("panel", annotate_stage),
    ("train", train_stage), (None, policies_stage), ("tournament", tournament_stage), ("bench", bench_stage),
    ("leaderboard", leaderboard_stage),
]


# -- validate and ls ----------------------------------------------------------------------------------
def validate_parts(config: RunConfig) -> list[str]:
    """Check everything the config names (prompt file, model, personas, recipes, tasks); one line per check."""
    lines = []
    source = config.prompts.source
    if source != "builtin" and not source.startswith("hf:"):
        if not Path(source).is_file():
            raise UserError("prompts file not found", where=f"prompts.source={source}", fix="give an existing JSONL file")
        lines.append(f"ok  prompts file {source}")
    if config.policy.model != "tiny":
        from mnpo_bench.policy.load import check_model_location

        check_model_location(config.policy.model, where="policy.model")
    lines.append(f"ok  policy {config.policy.model}")
    for check in VALIDATORS:
        lines.extend(check(config))
    return lines


def _validate_panel(config: RunConfig) -> list[str]:
    from mnpo_bench.panel.personas import validate_panel

    return validate_panel(config.panel) if config.panel.enabled else ["ok  panel disabled"]


def _validate_train(config: RunConfig) -> list[str]:
    from mnpo_bench.train.recipes import validate_recipes

    return validate_recipes(config.train)


def _validate_bench(config: RunConfig) -> list[str]:
    from mnpo_bench.bench.stage import validate_bench

    return validate_bench(config)


VALIDATORS = [_validate_panel, _validate_train, _validate_bench]


def validate_config(path: Path | None, overrides: list[str]) -> list[str]:
    """`mnpo-bench validate`: the config at `path` (None: the embedded default) and every persona, panel,
    recipe and task it names."""
    config = load_config(path, overrides)
    return [f"ok  config {path or '(embedded default)'}", *validate_parts(config), "valid"]


def list_runs(runs_dir: Path) -> list[str]:
    """One line per run under `runs_dir`: name, status, stages, last update."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return [f"no runs under {runs_dir}"]
    lines = []
    for manifest_path in sorted(runs_dir.glob("*/manifest.json")):
        stages = json.loads(manifest_path.read_text()).get("stages", {})
        done = [name for name, record in stages.items() if record["status"] == "done"]
        running = [name for name, record in stages.items() if record["status"] != "done"]
        status = "complete" if not running else f"interrupted in {', '.join(running)}"
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(manifest_path.stat().st_mtime))
        lines.append(f"{manifest_path.parent.name:<24} {status:<32} {updated}  stages: {', '.join(done)}")
    return lines or [f"no runs under {runs_dir}"]
