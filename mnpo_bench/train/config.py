"""Config of the training stage in a run (owned by the trainer subsystem)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mnpo_bench.devices import DEVICE_PATTERN
from mnpo_bench.settings import Section


class TrainConfig(Section):
    """Which methods train, for how many online iterations, and with which recipe settings."""

    enabled: bool = Field(True, description="run the train stage")
    methods: list[str] = Field(default_factory=lambda: ["mnpo", "inpo", "dpo"], description="recipe names in trainer/ (or paths)")
    iterations: int = Field(
        2, ge=1, description="online iterations T; from 3 on, TD-MNPO with k = 2 plays two distinct past iterates "
        "(at T = 2 it is INPO with another ratio)")
    profile: Literal["auto", "tiny", "paper"] = Field(
        "auto", description="recipe settings: tiny (embedded model), paper (7-9B), auto = tiny for policy.model 'tiny'")
    n_samples: int | None = Field(
        None, ge=2, description="responses sampled per train prompt in iterations t > 1 (null: generation.n_samples)")
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-method recipe overrides, e.g. {mnpo: {optim: {lr: 1e-4}}}")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="training device: 'auto', 'cpu', 'cuda' or 'cuda:N'")
