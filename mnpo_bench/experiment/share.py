"""Work the cells of one seed share: the prompts, the reference policy and its generations are made once.

For every seed with more than one cell, the first cell's run (the donor) runs the upstream stages first; their
outputs are then hard-linked into the other cells' run directories with the donor's manifest records. A
sibling whose inputs differ computes a different input hash, so the pipeline re-runs that stage there (atomic
writes replace the links, the donor's files are untouched): sharing can save work but never changes a result.
The judge cache (one SQLite file per persona) shares the judgments of identical comparisons across all runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mnpo_bench.experiment.grid import Job
from mnpo_bench.store import RunStore

SHARED_STAGES = ("prompts", "policy", "generate")


def donors(jobs: list[Job]) -> list[Job]:
    """The first job of each seed that has more than one cell (the runs whose upstream stages are shared)."""
    by_seed: dict[int, list[Job]] = {}
    for job in jobs:
        by_seed.setdefault(job.seed, []).append(job)
    return [group[0] for group in by_seed.values() if len(group) > 1]


def _link(source: Path, target: Path) -> None:
    if source.is_dir():
        for child in source.iterdir():
            _link(child, target / child.name)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system: copy instead
        shutil.copy2(source, target)


def share_upstream(jobs: list[Job]) -> int:
    """Link each donor's finished upstream stages into the other runs of its seed that have not started them;
    returns how many (run, stage) pairs were shared."""
    donor_of = {job.seed: job for job in donors(jobs)}
    shared = 0
    for job in jobs:
        donor = donor_of.get(job.seed)
        if donor is None or donor.out == job.out:
            continue
        source, target = RunStore(Path(donor.out)), RunStore.open(Path(job.out))
        for stage in SHARED_STAGES:
            record = source.stage_record(stage)
            if record is None or record.status != "done" or target.stage_record(stage) is not None:
                continue
            for output in record.outputs:
                if Path(output).is_absolute() or not source.path(output).resolve().is_relative_to(source.root.resolve()):
                    continue  # a location outside the run (the tiny model's cache): both runs already share it
                _link(source.path(output), target.path(output))
            target.mark_done(stage, record.input_hash, record.outputs, record.started)
            shared += 1
    return shared
