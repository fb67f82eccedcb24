"""Run directories made by another config: found up front, before an experiment launches anything.

The rule: a (cell, seed) run directory that already holds a `config.yaml` must have been made with the run
config the cell has now; and, for the tiny model, its reference.json must name the tiny build this code makes
(the build's key follows the corpus and chat-template code, not only the config). A run that differs (a default
changed since, a method was added, a newer corpus) stops the experiment with one line naming the run directory
and the first differences, exit 2, unless `--rerun-changed` is given: then every run re-runs, in place, the
stages whose inputs changed (the pipeline's ordinary rule) and keeps the rest. Starting over in a fresh --out
is the other way out.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mnpo_bench.errors import UserError
from mnpo_bench.experiment.grid import Job
from mnpo_bench.settings import changes

SHOWN = 3  # differences named in the error line


def run_changes(job: Job) -> list[str]:
    """How the run directory of `job` differs from what the job would make now ('key: old -> new' lines);
    empty when it holds no config.yaml yet, or the same config and reference build. The run's name and
    leaderboard.publish_dir are not compared: the experiment derives them from --out."""
    run = Path(job.out)
    recorded = run / "config.yaml"
    if not recorded.exists():
        return []
    try:
        old = yaml.safe_load(recorded.read_text()) or {}
    except yaml.YAMLError:
        return ["config.yaml: unreadable"]
    new = json.loads(json.dumps(job.config))
    found = [line for line in changes(old, new)
             if line.split(":")[0] not in ("name", "leaderboard.publish_dir")]
    reference = run / "reference.json"
    if job.config["policy"]["model"] == "tiny" and reference.exists():
        from mnpo_bench.policy.config import TinyModelConfig
        from mnpo_bench.policy.tiny import tiny_model_dir

        from mnpo_bench.policy.locations import TINY_PREFIX

        stored = json.loads(reference.read_text()).get("reference", "")  # tiny:<key>, or a cache path (older runs)
        built = Path(stored.removeprefix(TINY_PREFIX)).name
        wanted = tiny_model_dir(TinyModelConfig.model_validate(job.config["policy"]["tiny"])).name
        if built != wanted:
            found.append(f"reference build: tiny/{built} -> tiny/{wanted} (the tiny model's code changed)")
    return found


def check_runs(jobs: list[Job], where: str) -> None:
    """Raise a UserError naming the first run directory of `jobs` that was made with another config or
    reference build (see the module docstring); return None when every existing run matches."""
    for job in jobs:
        found = run_changes(job)
        if found:
            more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            raise UserError(f"run {job.out} was made with a different config ({'; '.join(found[:SHOWN])}{more})",
                            where=where, fix="give a fresh --out DIR, or add --rerun-changed to re-run the "
                            "changed stages of every run in place")
