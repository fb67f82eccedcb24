"""Config of the training stage in a run (owned by the trainer subsystem)."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section


class TrainConfig(Section):
    """Which methods train, and for how many online iterations."""

    enabled: bool = Field(True, description="run the train stage")
    methods: list[str] = Field(default_factory=lambda: ["mnpo", "inpo", "dpo"], description="recipe names in trainer/ (or paths)")
    iterations: int = Field(2, ge=1, description="online iterations T")
