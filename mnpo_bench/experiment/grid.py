"""Grid expansion: an experiment's cells, and the run config of every (cell, seed), all validated up front."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnpo_bench import settings
from mnpo_bench.config import RunConfig
from mnpo_bench.experiment.config import Cell, ExperimentConfig, base_mapping, nested


@dataclass(frozen=True)
class Job:
    """One (cell, seed) run: its config (a validated RunConfig dumped to JSON types) and its run directory."""

    cell: str
    seed: int
    out: str
    config: dict[str, Any]


def _value_text(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-") or "x"


def cell_name(overrides: dict[str, Any]) -> str:
    """A directory-safe name for a cell: 'key=value' per axis (the last part of the dotted key), joined by ','."""
    if not overrides:
        return "main"
    return ",".join(f"{key.split('.')[-1]}={_value_text(value)}" for key, value in overrides.items())


def expand(config: ExperimentConfig) -> list[Cell]:
    """The cells: the product of the grid axes (in file order), then the listed `cells:`; one cell 'main' when
    neither is given. Two cells with the same name get the full dotted keys in theirs."""
    axes = list(config.grid)
    combos = [dict(zip(axes, values)) for values in itertools.product(*config.grid.values())] if axes else []
    named = [(None, combo) for combo in combos]
    named += [(cell.get("name"), {k: v for k, v in cell.items() if k != "name"}) for cell in config.cells]
    if not named:
        named = [(None, {})]
    combos = [combo for _, combo in named]
    names = [_value_text(given) if given else cell_name(combo) for given, combo in named]
    cells = []
    for (given, combo), name in zip(named, names):
        if names.count(name) > 1 and not given:
            name = ",".join(f"{k}={_value_text(v)}" for k, v in combo.items())
        cells.append(Cell(name=name, overrides=combo))
    return cells


def jobs(config: ExperimentConfig, path: Path, out: Path) -> list[Job]:
    """Every (cell, seed) job of the experiment at `path` with run directories under `out`/<cell>/seed<s>;
    each run config is built and validated now, so a bad value stops the experiment before any cell runs."""
    base = base_mapping(config, path)
    result = []
    for cell in expand(config):
        for seed in config.seeds:
            data = settings.deep_merge(base, nested(cell.overrides))
            run_dir = Path(out) / cell.name / f"seed{seed}"
            data = settings.deep_merge(data, {
                "name": f"{config.name}-{cell.name}-seed{seed}", "seed": seed, "train": {"methods": config.methods},
                # each run's own leaderboard stays inside the experiment; the experiment publishes its summary
                "leaderboard": {"publish_dir": str(Path(out) / "published")},
            })
            run = settings.build(RunConfig, data, f"{path}: cell '{cell.name}'")
            result.append(Job(cell=cell.name, seed=seed, out=str(run_dir), config=run.model_dump(mode="json")))
    return result


def cell_table(config: ExperimentConfig) -> list[dict[str, Any]]:
    """One row per cell: its name and the value of every grid key (for cells.csv and the dashboard)."""
    return [{"cell": cell.name, **{key: str(value) for key, value in cell.overrides.items()}}
            for cell in expand(config)]
