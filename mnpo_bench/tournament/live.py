"""A scheduled tournament judged by the panel: `tournament.schedule` and `tournament.budget` in a run.

Each comparison the schedule asks for, (policy_a, policy_b, prompt_id), is judged by the panel on that
prompt's answers (both orders, every persona assigned), through the judge cache: a re-run with a larger
budget asks the same first comparisons again, finds them in the cache, and only the new ones cost calls.
"""

from __future__ import annotations

import pandas as pd

from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.cost import Estimate, calls_per_comparison, check_budget, estimate
from mnpo_bench.panel.judge import JudgeStats, run_panel
from mnpo_bench.panel.personas import resolve_panel
from mnpo_bench.progress import Progress
from mnpo_bench.tournament.battles import judgments_to_battles
from mnpo_bench.tournament.config import TournamentConfig
from mnpo_bench.tournament.schedule import ScheduleResult, check_schedule, run_schedule


def plan_cost(pairs: pd.DataFrame, tournament: TournamentConfig, panel_cfg: PanelConfig, *, seed: int,
              progress: Progress) -> Estimate:
    """The cost estimate of the tournament's judging, printed and checked against the panel's limits (a
    UserError before any call when over them). Under a budget the calls are capped at the budget (an upper
    bound: comparisons repeated or already cached cost nothing) and tokens and dollars scale with them."""
    panel = resolve_panel(panel_cfg)
    per = calls_per_comparison(panel, panel_cfg)
    check_schedule(tournament.schedule, tournament.budget, per)
    found = estimate(pairs, panel, panel_cfg, seed=seed)
    asked = found.calls + found.cached + found.repeats
    if tournament.budget is not None and asked > tournament.budget:
        calls = min(found.calls, tournament.budget)
        share = calls / max(found.calls, 1)
        found = Estimate(calls, found.cached, found.repeats, int(found.tokens_in * share),
                         int(found.tokens_out * share), found.cost_usd * share)
        progress.note(f"  {found.line()} (at most: tournament.budget {tournament.budget:,}, "
                      f"schedule {tournament.schedule})")
    else:
        progress.note(f"  {found.line()}")
    check_budget(found, panel_cfg, "the tournament")
    return found


def judge_scheduled(pairs: pd.DataFrame, responses: pd.DataFrame, tournament: TournamentConfig,
                    panel_cfg: PanelConfig, *, seed: int, reference: str | None,
                    progress: Progress, stats: JudgeStats | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, ScheduleResult]:
    """(judgments, battles, schedule result) of the comparisons `tournament.schedule` asks for within budget;
    `stats` (when given) accumulates the judge calls made and their cost."""
    panel = resolve_panel(panel_cfg)
    info = responses.set_index("response_id")["policy"]
    pairs = pairs.assign(policy_a=info.loc[pairs["response_a_id"]].to_numpy(),
                         policy_b=info.loc[pairs["response_b_id"]].to_numpy())
    index = pairs.set_index(["policy_a", "policy_b", "prompt_id"]).index
    judged: list[pd.DataFrame] = []

    def answer(matches: list[tuple[str, str, str]]) -> pd.DataFrame:
        rows = index.get_indexer(pd.MultiIndex.from_tuples(matches))
        judgments, made = run_panel(pairs.iloc[rows].drop(columns=["policy_a", "policy_b"]), panel, panel_cfg,
                                    seed=seed, progress=progress)
        if stats is not None:
            for name, value in made.calls.items():
                stats.calls[name] += value
            for name, value in made.cost_usd.items():
                stats.cost_usd[name] += value
        judged.append(judgments)
        return judgments_to_battles(judgments, responses)

    models = sorted(responses["policy"].unique())
    prompts = list(dict.fromkeys(pairs["prompt_id"]))
    result = run_schedule(tournament.schedule, models, prompts, answer, budget=tournament.budget,
                          calls_per_match=calls_per_comparison(panel, panel_cfg), seed=seed, reference=reference,
                          lottery_width=tournament.lottery_width, stop_when_separated=tournament.stop_when_separated)
    judgments = pd.concat(judged, ignore_index=True)
    return judgments, result.battles.reset_index(drop=True), result
