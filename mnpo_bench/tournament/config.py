"""Config of the tournament stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mnpo_bench.settings import Section


class TournamentConfig(Section):
    """Which policies meet in the mixed-policy tournament, and how they answer."""

    enabled: bool = Field(True, description="run the tournament stage")
    policies: Literal["all", "final"] = Field("all", description="'all' (reference + every trained iterate) or 'final' (reference + each method's last iterate)")
    extra_policies: list[str] = Field(default_factory=list, description="more policies to enter: 'name=path_or_hub_id' or a path")
    max_prompts: int | None = Field(None, ge=1, description="judge at most this many eval prompts (None: all)")
    temperature: float | None = Field(None, ge=0, description="sampling temperature of the answers (None: generation.temperature)")
    schedule: Literal["round_robin", "baseline", "swiss", "active"] = Field(
        "round_robin", description="which comparisons are judged: round_robin (every pair, every prompt), baseline "
        "(every policy vs leaderboard.reference only), swiss (nearest-rated pairs each round) or active (the "
        "comparisons that shrink the ranking's and the maximal lottery's uncertainty most)")
    budget: int | None = Field(None, ge=1, description="most judge calls the schedule may make, cache hits included "
                               "(None: no limit); a re-run with a larger budget continues, earlier calls from the cache")
    lottery_width: float | None = Field(None, gt=0, le=1, description="active: also stop once every maximal-lottery "
                                        "95% interval is narrower than this (None: no such rule)")
    stop_when_separated: bool = Field(True, description="active: stop once every adjacent pair of the Bradley-Terry "
                                      "ranking is separated at 95%")
    n_answers: int = Field(4, ge=1, description="answers each policy samples per eval prompt; every cross-policy pair of them is judged (see answer_pairs)")
    answer_pairs: int | None = Field(None, ge=1, description="judge at most this many answer pairs per policy pair and prompt, a balanced subsample (each answer used equally often, within one) seeded by (run seed, prompt, pair) (None: all n_answers^2); below n_answers^2 the Nash gap is undefined where no answer met all of a policy's answers; a schedule other than round_robin, or a budget, judges one seeded answer pair per match")
    common_random_numbers: bool = Field(False, description="true: every policy samples from the same random numbers (the run seed; with the hf backend one stream per prompt and answer index, so close policies give mostly the same answers: a paired design, the marginals unchanged); false: each policy its own stream, seeded by (run seed, policy name)")
