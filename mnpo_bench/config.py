"""The run config: what `mnpo-bench run` does, one section per pipeline stage.

Load it with `load_config(path, overrides)`; every field carries a description (`mnpo-bench config` prints
them all). Each section lives beside the subsystem that owns it (`<subsystem>/config.py`); this module
only composes them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from mnpo_bench import settings
from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.policy.config import PolicyConfig
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.ratings.config import LeaderboardConfig
from mnpo_bench.settings import Section
from mnpo_bench.tournament.config import TournamentConfig
from mnpo_bench.train.config import TrainConfig


RUN_NAME_PATTERN = r"^[^/\\\x00]+$"  # one path component: no '/' or '\\', not empty ('.' and '..': _one_component)


class RunConfig(Section):
    """Everything `mnpo-bench run` needs; every field has a default, so no config at all is valid."""

    name: str = Field("default", pattern=RUN_NAME_PATTERN, description="run name: the run directory is "
                      "<runs_dir>/<name> and the leaderboard <publish_dir>/<name>, so one path component (no '/', not "
                      "'.' or '..', not empty); with --out DIR and no name set, the name is DIR's")
    seed: int = Field(0, ge=0, lt=2**32, strict=True, description="seeds every sample, label, split and bootstrap of the run (0 to 2^32-1, numpy's range)")
    runs_dir: str = Field("runs", description="parent directory of run directories")
    prompts: PromptsConfig = Field(default_factory=PromptsConfig, description="prompt source")
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="reference policy")
    generation: GenerationConfig = Field(default_factory=GenerationConfig, description="sampling")
    panel: PanelConfig = Field(default_factory=PanelConfig, description="annotator panel")
    train: TrainConfig = Field(default_factory=TrainConfig, description="preference optimisation")
    tournament: TournamentConfig = Field(default_factory=TournamentConfig, description="mixed-policy tournament")
    bench: BenchConfig = Field(default_factory=BenchConfig, description="standard benchmarks")
    leaderboard: LeaderboardConfig = Field(default_factory=LeaderboardConfig, description="ratings and publishing")

    @field_validator("name")
    @classmethod
    def _one_component(cls, name: str) -> str:
        """'.' and '..' would put the run (and its published leaderboard) outside their folders."""
        if name.strip(".") == "":
            raise ValueError("must name a folder, not '.' or '..'")
        return name


def load_config(path: Path | None, overrides: list[str] | None = None) -> RunConfig:
    """The run config from YAML `path` (None: defaults) with `--set` overrides; UserError when invalid."""
    return settings.load(RunConfig, path, overrides)
