"""The bench stage: lm-eval tasks on every policy of the run, and their eval answers for AlpacaEval.

Two pipeline stages, so that new tournament answers re-export without re-running lm-eval:
- `bench` writes `bench.parquet` (rows described in `mnpo_bench.bench.evaluate`), one resumable chunk per
  policy; it re-runs when the bench config, the policies or the stages that made them change;
- `bench_export` writes `alpaca_eval/<policy>/model_outputs.json` (see `mnpo_bench.bench.alpaca`) from the
  run's eval answers; it re-runs when those answers change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mnpo_bench.bench.alpaca import ANSWER_TABLES, export_alpaca
from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.bench.evaluate import COLUMNS, evaluate_model, timed
from mnpo_bench.bench.taskset import TaskSet, check_task_files, check_task_names, load_tasks, task_dirs
from mnpo_bench.progress import Progress
from mnpo_bench.policy.load import location_identity, read_policies
from mnpo_bench.store import RunStore, file_hash, safe_name, stable_hash


LOGS = "bench"  # lm-eval's results JSON and per-sample logs, one folder per policy


def bench_policies(policies: dict[str, str], tasks: TaskSet, config: BenchConfig, *, seed: int, device: str,
                   dtype: str, progress: Progress, parts: Any = None, log_root: Path | None = None) -> pd.DataFrame:
    """Bench rows of every policy in `policies` ({name: location}); with `parts` (a `store.Parts`), each
    policy's rows are kept as a chunk, so an interrupted run resumes at the next policy. With `log_root`,
    lm-eval's results JSON and per-sample logs of each policy go to `log_root/<policy as a path component>/`."""
    from mnpo_bench.policy.load import check_model_location, load_policy

    for name, location in policies.items():  # every checkpoint must exist before any is scored
        check_model_location(location, where=f"policies.json: {name}")
    frames = []
    for name, location in progress.track(list(policies.items()), "bench"):
        def score(name: str = name, location: str = location) -> pd.DataFrame:
            (model, tokenizer), load_s = timed(load_policy, location, device=device, dtype=dtype)
            log_dir = log_root / safe_name(name) if log_root is not None else None
            rows, eval_s = timed(evaluate_model, model, tokenizer, name, tasks, config, seed, log_dir)
            progress.note(f"  {name}: {_headline(rows)}  (load {load_s:.1f} s, eval {eval_s:.1f} s)")
            return rows

        key = safe_name(name, "_") + "-" + stable_hash(name)[:6]
        frames.append(parts.compute(key, score) if parts is not None else score())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def _headline(rows: pd.DataFrame) -> str:
    primary = rows[rows["primary"]]
    return " · ".join(f"{r.task.removeprefix('mnpo_')} {r.value:.3f}" for r in primary.itertuples())


def bench_stage(ctx: Any) -> None:
    """Run the `bench` and `bench_export` stages on `ctx` (a `mnpo_bench.pipeline.Context`)."""
    config: BenchConfig = ctx.config.bench
    if not config.enabled:
        ctx.progress.note("[dim]skip[/dim] bench (bench.enabled is false)")
        return
    store: RunStore = ctx.store
    policies = read_policies(store.root)
    after = tuple(stage for stage in ("policy", "train") if stage in ctx.hashes)

    def run_bench(stage: Any) -> list[str]:
        tasks = load_tasks(config.tasks, task_dirs(config.task_dirs), config.num_fewshot, ctx.config.seed,
                           ctx.progress)
        frame = bench_policies(policies, tasks, config, seed=ctx.config.seed, device=ctx.config.policy.device,
                               dtype=ctx.config.policy.dtype, progress=ctx.progress, parts=stage.parts(),
                               log_root=store.path(LOGS))
        return [store.write_table("bench", frame).name, LOGS]

    identities = {name: location_identity(location, store.root) for name, location in policies.items()}
    inputs = {"bench": config, "policies": identities, "seed": ctx.config.seed,
              "device": ctx.config.policy.device, "dtype": ctx.config.policy.dtype}
    ctx.stage("bench", run_bench, inputs=inputs, after=after)
    if not config.export_alpaca:
        return
    tables = ["prompts", *ANSWER_TABLES]
    answers = {t: file_hash(store.path(f"{t}.parquet")) for t in tables if store.has_table(t)}

    def run_export(stage: Any) -> list[str]:
        written = export_alpaca(store, list(policies))
        missing = len(policies) - len(written)
        if missing:
            ctx.progress.note(f"  alpaca_eval: no eval answers yet for {missing} of {len(policies)} policies")
        return written

    ctx.stage("bench_export", run_export, inputs={"policies": sorted(policies), "answers": answers})


def validate_bench(config: Any) -> list[str]:
    """Check the run config's bench section (task folders, task names) without loading any model; one
    line per check, a UserError at the first problem. For `mnpo-bench validate`."""
    bench: BenchConfig = config.bench
    if not bench.enabled:
        return ["ok  bench disabled"]
    dirs = task_dirs(bench.task_dirs)
    check_task_files(bench.tasks, dirs)
    check_task_names(bench.tasks, dirs)
    return [f"ok  bench tasks {', '.join(bench.tasks)}"]
