"""Config of the tournament and leaderboard stages (owned by the tournament subsystem)."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section


class TournamentConfig(Section):
    """Which policies meet in the mixed-policy tournament."""

    enabled: bool = Field(True, description="run the tournament stage")
    extra_policies: list[str] = Field(default_factory=list, description="more HF model ids or paths to enter")


class LeaderboardConfig(Section):
    """How battles become ratings, and where they are published."""

    enabled: bool = Field(True, description="compute ratings and publish them")
    reference: str = Field("reference", description="model that win_rate_vs_ref and lc_win_rate_vs_ref compare against")
    bootstrap: int = Field(100, ge=0, description="bootstrap rounds for confidence intervals")
    publish_dir: str = Field("leaderboards", description="ratings are published to <publish_dir>/<run name>/")
