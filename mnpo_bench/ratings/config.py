"""Config of the leaderboard stage: how battles become ratings, and where they are published."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mnpo_bench.settings import Section


MAX_BOOTSTRAP = 10_000  # AlpacaEval and Chatbot Arena use 1000 or fewer; beyond this the CI's own noise is negligible


class LeaderboardConfig(Section):
    """How battles become ratings, and where they are published."""

    enabled: bool = Field(True, description="compute ratings and publish them")
    reference: str = Field("reference", description="model that win_rate_vs_ref and lc_win_rate_vs_ref compare against")
    bootstrap: int = Field(100, ge=0, le=MAX_BOOTSTRAP, description="bootstrap rounds for confidence intervals "
                           f"(at most {MAX_BOOTSTRAP}: each round refits every rating, and 10^7 rounds ran out of memory)")
    resample: Literal["prompts", "battles"] = Field("prompts", description="what the bootstrap resamples: 'prompts' with all their battles (a cluster bootstrap; battles on one prompt are not independent) or 'battles'")
    soft: bool = Field(True, description="score a battle by its prob_a where given (AlpacaEval's weighted win rate); false: by winner only")
    publish_dir: str = Field("leaderboards", description="ratings are published to <publish_dir>/<run name>/")
