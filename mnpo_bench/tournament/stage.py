"""The tournament stage: every policy answers each eval prompt tournament.n_answers times from its own random
stream (cached per policy), then every cross-policy pair of answers on every prompt (or a seeded subsample,
tournament.answer_pairs) is judged by the panel in both orders.

Writes `responses.parquet` (n_answers answers per policy and eval prompt), `identical_answers.parquet`,
`tournament_judgments.parquet` and
`battles.parquet`. Adding a policy generates answers for that policy only; judgments already made come
from the panel's cache.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.policy.load import checkpoint_fingerprint, policy_spec, read_policies
from mnpo_bench.store import RunStore, safe_name, write_json
from mnpo_bench.seeds import stream_seed
from mnpo_bench.tournament.battles import identical_answers, judgments_to_battles, policy_pairs


def parse_policies(policies: list[str], out: Path) -> dict[str, str]:
    """The `tournament` verb's policy arguments ("name=location" or a location) as {name: location}, each
    location checked, each name given once; with none, the run at `out` must already have a policies.json.
    A UserError before anything is written otherwise."""
    entered: dict[str, str] = {}
    for spec in policies:
        name, location = policy_spec(spec, where=f"policy argument '{spec}'")
        if not name.strip():
            raise UserError("the policy has no name", where=f"policy argument '{spec}'", fix="write name=location")
        if name in entered:
            raise UserError(f"policy name '{name}' is given twice", where=f"policy argument '{spec}'",
                            fix="give each policy its own name (name=location)")
        entered[name] = location
    if not entered and not (Path(out) / "policies.json").exists():
        raise UserError("no policies.json in the run", where=str(out), fix="name the policies to enter as arguments")
    return entered


def enter_policies(store: RunStore, entered: dict[str, str]) -> None:
    """Write the parsed policy arguments as the run's policies.json (none: keep the run's own)."""
    if entered:
        write_json(store.path("policies.json"), entered)


def entrants(ctx: Context) -> dict[str, str]:
    """{policy name: loadable location} of the policies that meet: policies.json filtered by
    tournament.policies, plus tournament.extra_policies."""
    policies = read_policies(ctx.store.root)
    if ctx.config.tournament.policies == "final":
        last: dict[str, str] = {}
        for name in policies:
            if "/iter" in name:
                method = name.rsplit("/iter", 1)[0]
                if method not in last or _iteration(name) > _iteration(last[method]):
                    last[method] = name
        policies = {n: p for n, p in policies.items() if "/iter" not in n or n in last.values()}
    for spec in ctx.config.tournament.extra_policies:
        name, location = policy_spec(spec, where=f"tournament.extra_policies: {spec}")
        policies[name] = location
    return policies


def _iteration(name: str) -> int:
    return int(name.rsplit("/iter", 1)[1])


def tournament_stage(ctx: Context) -> None:
    """Answers per policy (one sub-stage each), then the judged round robin."""
    from mnpo_bench.generation import generate

    config = ctx.config
    generation = config.generation.model_copy(update={
        "temperature": config.tournament.temperature if config.tournament.temperature is not None
        else config.generation.temperature,
    })
    policies = entrants(ctx)
    if len(policies) < 2:
        ctx.progress.note("[dim]skip[/dim] tournament (it needs at least two policies; enable train or add "
                          "tournament.extra_policies)")
        return
    answer_stages = []
    for name, location in policies.items():
        stage_name = f"tournament/answers/{safe_name(name)}"
        output = f"tournament/answers/{safe_name(name)}.parquet"

        def answer(stage: StageRun, name=name, location=location, output=output) -> list[str]:
            frame = generate(location, eval_prompts(ctx), generation, policy_name=name, seed=answer_seed(config, name),
                             n_samples=config.tournament.n_answers, progress=ctx.progress, parts=stage.parts(),
                             device=config.policy.device)
            ctx.store.write_table(output.removesuffix(".parquet"), frame)
            return [output]

        ctx.stage(stage_name, answer, after=("prompts",), inputs={
            "policy": name, "fingerprint": checkpoint_fingerprint(location), "generation": generation,
            "seed": answer_seed(config, name), "n_answers": config.tournament.n_answers,
            "max_prompts": config.tournament.max_prompts,
        })
        answer_stages.append(stage_name)

    def judge(stage: StageRun) -> list[str]:
        from mnpo_bench.panel.judge import JudgeStats, run_panel
        from mnpo_bench.panel.personas import resolve_panel

        responses = pd.concat([ctx.store.read_table(f"tournament/answers/{safe_name(n)}") for n in policies],
                              ignore_index=True)
        # a schedule picks (policy pair, prompt) matches: it judges one seeded answer pair of each
        max_pairs = 1 if scheduled else config.tournament.answer_pairs
        pairs = policy_pairs(eval_prompts(ctx), responses, max_pairs=max_pairs, seed=config.seed)
        ctx.progress.note(f"  {len(policies)} policies, {len(pairs)} answer pairs, both orders")
        identical = identical_answers(responses)
        for row in identical[identical["identical_share"] > 0.5].itertuples():
            ctx.progress.note(f"  [yellow]{row.policy_a} and {row.policy_b}[/yellow] gave identical answers "
                              f"in {row.identical_share:.0%} of answer pairs")
        plan_cost(pairs, config.tournament, config.panel, seed=config.seed, progress=ctx.progress)
        schedule, stats = None, JudgeStats()
        if scheduled:
            judgments, battles, result = judge_scheduled(pairs, responses, config.tournament, config.panel,
                                                         seed=config.seed, reference=config.leaderboard.reference,
                                                         progress=ctx.progress, stats=stats)
            schedule = result.note()
            ctx.progress.note(f"  {schedule_note(schedule)}")
        else:
            judgments, stats = run_panel(pairs, resolve_panel(config.panel), config.panel, seed=config.seed,
                                         progress=ctx.progress)
            battles = judgments_to_battles(judgments, responses)
        stage.record_spend(*stats.spent())
        write_json(ctx.store.path("tournament_schedule.json"), schedule)
        failed = int(battles["winner"].isna().sum())
        if failed:
            ctx.progress.note(f"  [yellow]{failed} judgment(s) failed[/yellow]: recorded as failures, not ties")
        outputs = [ctx.store.write_table("responses", responses).name,
                   ctx.store.write_table("tournament_judgments", judgments).name,
                   ctx.store.write_table("battles", battles).name,
                   ctx.store.write_table("identical_answers", identical).name]
        settle_failures(judgments, resolve_panel(config.panel), config.panel, stage, "tournament")
        return outputs + ["tournament_schedule.json"]

    from mnpo_bench.panel.failures import settle_failures
    from mnpo_bench.panel.personas import resolve_panel
    from mnpo_bench.panel.stage import panel_inputs
    from mnpo_bench.ratings.report import schedule_note
    from mnpo_bench.store import write_json
    from mnpo_bench.tournament.live import judge_scheduled, plan_cost

    t = config.tournament
    scheduled = t.schedule != "round_robin" or t.budget is not None
    extra = {"schedule": t.model_dump(mode="json", include={"schedule", "budget", "lottery_width",
                                                             "stop_when_separated"})} if scheduled else {}
    ctx.stage("tournament", judge, inputs={**panel_inputs(config.panel), "seed": config.seed,
                                           "answer_pairs": t.answer_pairs, **extra},
              after=("prompts", *answer_stages))


def answer_seed(config, name: str) -> int:
    """The seed of `name`'s answers: the run seed under tournament.common_random_numbers (one shared stream,
    a paired design), else a stream of its own fixed by (run seed, policy name)."""
    return config.seed if config.tournament.common_random_numbers else stream_seed(config.seed, name)


def eval_prompts(ctx: Context) -> pd.DataFrame:
    """The held-out prompts the tournament uses (at most tournament.max_prompts)."""
    prompts = ctx.store.read_table("prompts")
    held_out = prompts[prompts["split"] == "eval"]
    limit = ctx.config.tournament.max_prompts
    return held_out.iloc[:limit] if limit else held_out
