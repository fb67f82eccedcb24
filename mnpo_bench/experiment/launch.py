"""Running an experiment's (cell, seed) jobs: each an ordinary run directory driven by `runner.run_stages`.

Three launchers share one job function, `run_job` (top level, so it pickles):
- local: a pool of `jobs` processes on this machine (concurrent.futures, spawn start method: each run sets
  torch's process-wide thread count itself, from its share of the CPUs, `threads.share_cpus`);
- slurm: one submitit job per run (`slurm.cluster: local|debug` runs them here, for tests and laptops);
- ray: one Ray task per run, on the cluster at `ray.address` or on a local Ray instance.

A job whose run directory holds a `experiment_cell.json` with the hash of the same config is finished and is
not launched again; any other job runs its stages, each skipped when its inputs are unchanged, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from mnpo_bench.experiment.config import ExperimentConfig
from mnpo_bench.experiment.grid import Job
from mnpo_bench.store import stable_hash, write_json
from mnpo_bench.threads import share_cpus

MARKER = "experiment_cell.json"


def job_hash(job: Job, stages: str) -> str:
    """The hash a finished job's marker records: its run config and which stages it ran."""
    return stable_hash(job.config, stages)


def is_finished(job: Job, stages: str = "all") -> bool:
    """True when the job's run directory says it finished these stages with this config."""
    marker = Path(job.out) / MARKER
    if not marker.exists():
        return False
    try:
        return json.loads(marker.read_text()).get(stages) == job_hash(job, stages)
    except (OSError, ValueError):
        return False


def run_job(job: Job, stages: str = "all", quiet: bool = True) -> dict[str, Any]:
    """Run the job's stages ("all": the `run` pipeline; "upstream": prompts, policy, generate) in its run
    directory; returns {cell, seed, seconds, ran, skipped, incomplete} (ran/skipped/incomplete: stage counts)."""
    from mnpo_bench.config import RunConfig
    from mnpo_bench.pipeline import open_run
    from mnpo_bench.runner import RUN, run_stages

    started = time.time()
    marker = Path(job.out) / MARKER
    record = json.loads(marker.read_text()) if marker.exists() else {}
    record.pop(stages, None)
    Path(job.out).mkdir(parents=True, exist_ok=True)
    write_json(marker, record)  # no longer finished: a kill from here on leaves the run to resume
    ctx = open_run(RunConfig.model_validate(job.config), Path(job.out), quiet=quiet)
    ctx = run_stages(ctx, RUN if stages == "all" else RUN[:3])
    if not ctx.incomplete:
        write_json(marker, {**record, stages: job_hash(job, stages)})
    return {"cell": job.cell, "seed": job.seed, "seconds": round(time.time() - started, 2), "ran": len(ctx.ran),
            "skipped": len(ctx.skipped), "incomplete": len(ctx.incomplete)}


def _local(todo: list[Job], stages: str, config: ExperimentConfig, on_done: Callable[[dict], None]) -> None:
    if config.jobs == 1 or len(todo) == 1:
        for job in todo:
            on_done(run_job(job, stages))
        return
    workers = min(config.jobs, len(todo))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=share_cpus,
                             initargs=(workers,)) as pool:
        futures = [pool.submit(run_job, job, stages) for job in todo]
        for future in futures:
            on_done(future.result())


def _slurm(todo: list[Job], stages: str, config: ExperimentConfig, on_done: Callable[[dict], None],
           folder: Path) -> None:
    import submitit

    settings = config.slurm
    executor = submitit.AutoExecutor(folder=str(folder / "submitit" / "%j"), cluster=settings.cluster)
    params: dict[str, Any] = {"timeout_min": settings.timeout_min, "cpus_per_task": settings.cpus_per_task,
                              "gpus_per_node": settings.gpus_per_node, "mem_gb": settings.mem_gb,
                              "name": config.name, **settings.extra}
    if settings.partition:
        params["slurm_partition"] = settings.partition
    executor.update_parameters(**params)
    submitted = [executor.submit(run_job, job, stages) for job in todo]
    for handle in submitted:
        on_done(handle.result())


def _ray(todo: list[Job], stages: str, config: ExperimentConfig, on_done: Callable[[dict], None]) -> None:
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=config.ray.address, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=config.ray.num_cpus, num_gpus=config.ray.num_gpus)(run_job)
        refs = [task.remote(job, stages) for job in todo]
        for ref in refs:
            on_done(ray.get(ref))
    finally:
        if started_here:
            ray.shutdown()


def launch(jobs: list[Job], config: ExperimentConfig, folder: Path, *, stages: str = "all",
           on_done: Callable[[dict], None] = lambda result: None) -> list[dict[str, Any]]:
    """Run every unfinished job of `jobs` with `config.launcher`; returns the results of those that ran
    (`on_done` also sees each as it arrives). Finished jobs are not launched."""
    todo = [job for job in jobs if not is_finished(job, stages)]
    results: list[dict[str, Any]] = []

    def done(result: dict[str, Any]) -> None:
        results.append(result)
        on_done(result)

    if not todo:
        return results
    if config.launcher == "local":
        _local(todo, stages, config, done)
    elif config.launcher == "slurm":
        _slurm(todo, stages, config, done, Path(folder))
    else:
        _ray(todo, stages, config, done)
    return results


def describe(job: Job) -> dict[str, Any]:
    """A job as plain data (cell, seed, out), for logs and the experiment's jobs.json."""
    data = asdict(job)
    data.pop("config")
    return data
