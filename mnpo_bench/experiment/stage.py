"""`mnpo-bench experiment`: validate, launch every (cell, seed) run, then pool them (the `results` stage).

The experiment directory (default <runs_dir>/experiments/<name>/) holds one run directory per cell and seed,
`<cell>/seed<s>/`, and its own manifest, whose one stage `results` writes summary.csv, effects.csv, cells.csv,
seeds.csv, variance.csv and report.md; its input hash covers the experiment config and every run's leaderboard hash, so an
unchanged experiment re-run launches nothing and recomputes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

from mnpo_bench.config import RunConfig
from mnpo_bench.errors import UserError
from mnpo_bench.experiment import launch as launcher
from mnpo_bench.experiment.collect import collect
from mnpo_bench.experiment.config import ExperimentConfig, find_experiment, load_experiment
from mnpo_bench.experiment.drift import check_runs
from mnpo_bench.experiment.grid import Job, cell_table, jobs as expand_jobs
from mnpo_bench.experiment.report import (OUTPUTS, cells_table, effects_table, report_markdown, summary_table,
                                         write_outputs)
from mnpo_bench.experiment.share import donors, share_upstream
from mnpo_bench.experiment.variance import variance_table
from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.progress import Progress
from mnpo_bench.store import RunStore, write_json


def prepare(path: Path, *, out: Path | None = None, launcher_name: str | None = None,
            jobs: int | None = None) -> tuple[ExperimentConfig, list[Job], Path]:
    """The validated experiment at `path` (launcher / jobs overridden when given), its jobs and its directory;
    every run config and every persona, recipe and model they name is checked before anything runs."""
    from mnpo_bench.validate import validate_parts

    path = find_experiment(path)
    config = load_experiment(path)
    update = {k: v for k, v in (("launcher", launcher_name), ("jobs", jobs)) if v is not None}
    config = config.model_copy(update=update)
    base_runs = RunConfig.model_fields["runs_dir"].default
    folder = Path(out) if out is not None else Path(base_runs) / "experiments" / config.name
    job_list = expand_jobs(config, Path(path), folder)
    seen: set[str] = set()
    for job in job_list:
        key = repr(sorted((k, repr(v)) for k, v in job.config.items() if k not in ("seed", "name")))
        if key not in seen:
            seen.add(key)
            try:
                validate_parts(RunConfig.model_validate(job.config))
            except UserError as exc:
                raise UserError(exc.message, where=f"{path}: cell '{job.cell}': {exc.where}", fix=exc.fix) from None
    return config, job_list, folder


def run_experiment(path: Path, *, out: Path | None = None, launcher_name: str | None = None,
                   jobs: int | None = None, publish_dir: Path | None = Path("leaderboards"),
                   quiet: bool = False, rerun_changed: bool = False) -> Path:
    """Run the experiment at `path`: every unfinished (cell, seed) run, then its results; returns the
    experiment directory. `publish_dir` None: publish nothing. A run directory made with another config stops
    it before anything runs (experiment.drift), unless `rerun_changed`."""
    config, job_list, folder = prepare(path, out=out, launcher_name=launcher_name, jobs=jobs)
    path = find_experiment(path)
    if not rerun_changed:
        check_runs(job_list, str(path))
    progress = Progress(quiet=quiet)
    started = time.time()
    write_json(folder / "jobs.json", {"experiment": str(path), "jobs": [launcher.describe(j) for j in job_list]})
    todo = [job for job in job_list if not launcher.is_finished(job)]
    progress.note(f"experiment {config.name}: {len(job_list)} run(s) ({len(job_list) - len(todo)} finished), "
                  f"launcher {config.launcher}, folder {folder}")
    if todo:
        _warm_shared(todo, progress)
        upstream = [job for job in donors(job_list) if job in todo]
        if upstream:
            launcher.launch(upstream, config, folder, stages="upstream")
            progress.note(f"shared the upstream stages of {share_upstream(job_list)} (run, stage) pair(s)")

        def report(result: dict) -> None:
            progress.note(f"  {result['cell']} seed {result['seed']}: {result['ran']} stage(s) ran, "
                          f"{result['skipped']} skipped, {result['seconds']:.0f} s")

        launcher.launch(todo, config, folder, on_done=report)
    unfinished = [job for job in job_list if not launcher.is_finished(job)]
    if unfinished:
        raise UserError(f"{len(unfinished)} run(s) did not finish (e.g. {unfinished[0].out}: a stage is incomplete)",
                        where=str(path), fix="see that run's manifest.json; re-run the same command to resume")
    ctx = Context(config=RunConfig(), store=RunStore.open(folder), progress=progress)
    publish = Path(publish_dir) / "experiments" / config.name if publish_dir is not None else None
    inputs = {"experiment": config.model_dump(mode="json", exclude={"launcher", "jobs", "slurm", "ray"}),
              "runs": {job.out: _leaderboard_hash(job) for job in job_list},
              "publish": str(publish), "outputs": OUTPUTS}  # a new output file re-runs the results
    ctx.stage("results", lambda run: _results(run, config, job_list, publish), inputs=inputs)
    progress.note(f"experiment {config.name} done in {time.time() - started:.1f} s: {folder}")
    return folder


def _warm_shared(todo: list[Job], progress: Progress) -> None:
    """Build (or find in the cache) each distinct reference policy once, before runs start in parallel."""
    from mnpo_bench.policy.config import PolicyConfig
    from mnpo_bench.policy.load import resolve_policy

    for policy in {repr(job.config["policy"]): job.config["policy"] for job in todo}.values():
        resolve_policy(PolicyConfig.model_validate(policy), progress)


def _results(run: StageRun, config: ExperimentConfig, job_list: list[Job], publish: Path | None) -> list[str]:
    data = collect(job_list, config)
    summary, effects = summary_table(data), effects_table(data, config)
    cells = cells_table(data, cell_table(config))
    variance = variance_table(data.prompts)
    report = report_markdown(config, summary, effects, cells, variance)
    tables = {"summary": summary, "effects": effects, "cells": cells, "seeds": data.values, "variance": variance}
    written = write_outputs(run.ctx.store.root, tables, report, publish)
    if publish is not None:
        run.ctx.progress.note(f"published the experiment's results to {publish}/")
    return written


def _leaderboard_hash(job: Job) -> str | None:
    record = RunStore(Path(job.out)).stage_record("leaderboard")
    return record.input_hash if record else None
