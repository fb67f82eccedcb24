"""EXPERIMENT.yaml: a grid of run configs, the seeds every cell repeats and the methods it compares.

    name: smoke
    base: {}                    # run-config fields every cell shares (a mapping, or a path to a run config)
    grid:                       # dotted run-config keys -> values; the cells are their product
      panel.preset: [default, cyclic]
    seeds: [0, 1, 2, 3, 4]
    methods: [mnpo, inpo, dpo]  # train.methods of every cell
    baseline: inpo              # effects are method - baseline, paired by seed and prompt

`load_experiment` validates all of it, and every (cell, seed) run config, before anything runs: a mistake is
one `UserError` naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from mnpo_bench import settings
from mnpo_bench.config import RunConfig
from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.paths import builtin_dir
from mnpo_bench.settings import Section


class SlurmConfig(Section):
    """How `--launcher slurm` submits each (cell, seed) run through submitit."""

    cluster: Literal["slurm", "local", "debug"] = Field(
        "slurm", description="submitit's executor: slurm (sbatch), local (subprocesses here) or debug (in this process)")
    partition: str | None = Field(None, description="slurm partition (None: the cluster's default)")
    timeout_min: int = Field(240, ge=1, description="wall-clock limit of each run's job, minutes")
    gpus_per_node: int = Field(0, ge=0, description="GPUs each run's job asks for")
    cpus_per_task: int = Field(2, ge=1, description="CPU cores each run's job asks for")
    mem_gb: int = Field(16, ge=1, description="memory each run's job asks for, GB")
    extra: dict[str, Any] = Field(default_factory=dict, description="more submitit parameters (slurm_* keys)")


class RayConfig(Section):
    """How `--launcher ray` runs each (cell, seed) run as a Ray task."""

    address: str | None = Field(None, description="Ray cluster address (None: start a local Ray instance)")
    num_cpus: float = Field(1, gt=0, description="CPUs each run's task reserves")
    num_gpus: float = Field(0, ge=0, description="GPUs each run's task reserves")


class ExperimentConfig(Section):
    """One experiment: cells (the grid) x seeds, each (cell, seed) an ordinary run directory."""

    name: str = Field(..., min_length=1, description="experiment name: runs go to <runs_dir>/experiments/<name>/, "
                      "results are published to leaderboards/experiments/<name>/")
    description: str = Field("", description="what the experiment asks, one or two sentences (shown in report.md)")
    base: dict[str, Any] | str = Field(default_factory=dict, description="run-config fields every cell shares: a "
                                       "mapping, or a path (relative to this file) to a run config YAML")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted run-config key -> values; the "
                                       "cells are the product of the axes (none: one cell)")
    cells: list[dict[str, Any]] = Field(default_factory=list, description="extra cells, each a mapping of dotted "
                                        "run-config keys to values (and optionally `name:`, the cell's name), for "
                                        "designs that are not a product (joint axes)")
    seeds: list[int] = Field(..., description="run seeds every cell repeats; the seed is the unit of replication")
    methods: list[str] = Field(..., min_length=1, description="train.methods of every cell (recipe names or paths)")
    baseline: str | None = Field(None, description="effects are method minus this method, paired by seed and "
                                 "prompt (None: the first of methods)")
    contrasts: list[tuple[str, str]] = Field(
        default_factory=list, description="more paired effects beyond every method - baseline, each [method, "
        "other] (both among methods), e.g. [[mnpo, dpo]] for mnpo - dpo; Holm's correction covers them too")
    metrics: list[str] = Field(default_factory=lambda: ["win_rate_vs_ref", "bt", "nash_gap", "nash_mass", "diversity"],
                               description="ratings.csv columns summarised and compared (missing ones are skipped)")
    launcher: Literal["local", "slurm", "ray"] = Field("local", description="how runs are launched (--launcher)")
    jobs: int = Field(2, ge=1, description="runs at once with the local launcher (--jobs)")
    slurm: SlurmConfig = Field(default_factory=SlurmConfig, description="submitit settings of --launcher slurm")
    ray: RayConfig = Field(default_factory=RayConfig, description="Ray settings of --launcher ray")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        if not seeds:
            raise ValueError("give at least one seed, e.g. seeds: [0, 1, 2]")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"a seed is listed twice: {seeds}")
        return seeds

    @field_validator("methods")
    @classmethod
    def _methods(cls, methods: list[str]) -> list[str]:
        twice = sorted({m for m in methods if methods.count(m) > 1})
        if twice:
            raise ValueError(f"method '{twice[0]}' is listed twice")
        return methods

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"axis '{key}' has no values")
        return grid

    @field_validator("baseline")
    @classmethod
    def _baseline_listed(cls, baseline: str | None, info: ValidationInfo) -> str | None:
        methods = info.data.get("methods")
        if baseline is not None and methods is not None and baseline not in methods:
            raise ValueError(f"baseline '{baseline}' is not among methods {methods}")
        return baseline

    @model_validator(mode="after")
    def _default_baseline(self) -> "ExperimentConfig":
        if self.baseline is None:
            self.baseline = self.methods[0]
        return self

    @field_validator("contrasts")
    @classmethod
    def _contrasts(cls, contrasts: list[tuple[str, str]], info: ValidationInfo) -> list[tuple[str, str]]:
        methods = info.data.get("methods") or []
        for method, other in contrasts:
            for name in (method, other):
                if name not in methods:
                    raise ValueError(f"contrast [{method}, {other}]: '{name}' is not among methods {methods}")
            if method == other:
                raise ValueError(f"contrast [{method}, {other}] compares a method with itself")
        if len(set(contrasts)) != len(contrasts):
            raise ValueError("a contrast is listed twice")
        return contrasts

    def pairs(self) -> list[tuple[str, str]]:
        """Every (method, other) effect to report: each method against the baseline, then the contrasts
        (one that repeats a method - baseline pair is reported once)."""
        pairs = [(method, self.baseline) for method in self.methods if method != self.baseline]
        return list(dict.fromkeys(pairs + [tuple(c) for c in self.contrasts]))


class Cell(BaseModel):
    """One cell of the grid: its name (its run directory's) and the run-config overrides that define it."""

    name: str
    overrides: dict[str, Any]


# Run-config fields the experiment itself sets: a grid axis over them would fight `seeds:` / `methods:`.
RESERVED = {"seed": "seeds", "train.methods": "methods", "name": "name", "runs_dir": "--out"}


def check_key(key: str, where: str) -> None:
    """Raise a UserError when the dotted `key` names no run-config field (below a mapping field, anything goes)."""
    if key in RESERVED:
        raise UserError(f"'{key}' cannot be a grid axis", where=where, fix=f"set it with '{RESERVED[key]}:' instead")
    model: Any = RunConfig
    parts = key.split(".")
    for depth, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            prefix = ".".join(parts[:depth])
            hint = did_you_mean(part, fields)
            raise UserError(f"no run-config field '{key}'" + (f" ('{prefix}' has no '{part}')" if prefix else ""),
                            where=where, fix=hint)
        annotation = fields[part].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif depth < len(parts) - 1:
            if getattr(annotation, "__origin__", None) is dict or annotation is dict:
                return  # a free-form mapping (train.overrides): the run config's own validation checks the rest
            raise UserError(f"'{'.'.join(parts[:depth + 1])}' is a value, not a section", where=where,
                            fix=f"use '{'.'.join(parts[:depth + 1])}' as the axis")


def nested(dotted: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": 1, "a.c": 2} as {"a": {"b": 1, "c": 2}}."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        node = out
        *heads, last = key.split(".")
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = value
    return out


def find_experiment(name: str | Path) -> Path:
    """`name` as a path, else the preset trainer/experiments/<name>.yaml; a UserError when neither exists."""
    path = Path(name)
    if path.exists():
        return path
    preset = builtin_dir("trainer") / "experiments" / f"{path.name}.yaml"
    if path.suffix == "" and preset.exists():
        return preset
    presets = [p.stem for p in (builtin_dir("trainer") / "experiments").glob("*.yaml")]
    raise UserError("experiment file not found", where=str(name), fix=f"give a path, or a preset: {did_you_mean(path.stem, presets)}")


def load_experiment(path: Path) -> ExperimentConfig:
    """The experiment at `path`, validated; a UserError naming the file and field when it is not valid."""
    path = Path(path)
    config = settings.build(ExperimentConfig, settings.read_yaml(path), str(path))
    for key in config.grid:
        check_key(key, f"{path}: grid.{key}")
    for index, cell in enumerate(config.cells):
        for key in cell:
            if key != "name":
                check_key(key, f"{path}: cells[{index}].{key}")
    return config


def base_mapping(config: ExperimentConfig, path: Path) -> dict[str, Any]:
    """The `base:` run-config fields as a mapping (read from the file it names, relative to `path`)."""
    if isinstance(config.base, dict):
        return config.base
    base_path = Path(config.base)
    if not base_path.is_absolute():
        base_path = Path(path).parent / base_path
    if not base_path.exists():
        raise UserError("base run config not found", where=f"{path}: base", fix=f"no file {base_path}")
    return settings.read_yaml(base_path)
