"""The train stage: every method, iterated online, as resumable sub-stages `train/<method>/iter<t>`.

For t = 1 every method trains on the run's `preferences.parquet` (the panel's labels of the reference's
samples), so all methods see the same prompts, samples and budget. For t > 1 each player samples K
responses per train prompt from its own last iterate, the panel labels every pair (HT-MNPO players:
only their persona), and the new rows are scored and trained on. The generation and labelling seeds
depend only on (run seed, t), never on the method.

Writes under the run: train/<method>/iter<t>/ (save_pretrained), train/<method>/metrics.jsonl,
train/<method>/data/iter<t>-{pairs,generations,judgments}.parquet, and train/policies.json
{"<method>/iter<t>": "train/<method>/iter<t>", ...} which the runner merges into policies.json.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.policy.stage import reference_path
from mnpo_bench.store import file_hash, write_json, write_table
from mnpo_bench.train.iteration import Iteration, data_path, player_dir, policy_name, train_players
from mnpo_bench.train.recipes import Recipe, check_overrides, load_recipe

UPSTREAM = ("policy", "generate", "annotate")  # stages whose outputs iteration 1 reads, when the runner has them


def train_stage(ctx: Context) -> None:
    """Run (or skip, when done with the same inputs) every iteration of every configured method, then
    write train/policies.json."""
    cfg = ctx.config.train
    if not cfg.enabled:
        ctx.progress.note("[dim]skip[/dim] train (train.enabled is false)")
        return
    recipes = resolve_recipes(ctx)
    reference = reference_path(ctx.store)
    published = _train_all(ctx, recipes, reference)
    write_json(ctx.store.path("train/policies.json"), published)


def _train_all(ctx: Context, recipes: dict[str, Recipe], reference: str) -> dict[str, str]:
    """Every iteration of every method as a sub-stage; returns {policy name: run-relative checkpoint}."""
    cfg = ctx.config.train
    published: dict[str, str] = {}
    for method, recipe in recipes.items():
        players = _players(ctx, recipe)
        for t in range(1, cfg.iterations + 1):
            after = tuple(s for s in UPSTREAM if s in ctx.hashes) if t == 1 else (f"train/{method}/iter{t - 1}",)
            inputs = {
                "recipe": recipe, "t": t, "seed": ctx.config.seed, "reference": reference, "players": players,
                "device": cfg.device, "data": _iteration_one_inputs(ctx) if t == 1 else
                {"generation": ctx.config.generation, "panel": ctx.config.panel, "n_samples": _n_samples(ctx)},
            }
            fn = partial(_run_iteration, ctx=ctx, method=method, recipe=recipe, t=t, players=players, reference=reference)
            ctx.stage(f"train/{method}/iter{t}", fn, inputs=inputs, after=after)
            for player in players:
                published[policy_name(method, player, t)] = str(player_dir(Path("train") / method, player, t))
    return published


def resolve_recipes(ctx: Context) -> dict[str, Recipe]:
    """{method name: recipe} for train.methods under the run's profile; a UserError on duplicates."""
    cfg = ctx.config.train
    profile = cfg.profile if cfg.profile != "auto" else ("tiny" if ctx.config.policy.model == "tiny" else "paper")
    check_overrides(cfg)
    recipes: dict[str, Recipe] = {}
    for name in cfg.methods:
        recipe = load_recipe(name, profile, cfg.overrides.get(name))
        if recipe.method in recipes:
            raise UserError(f"two recipes are both called '{recipe.method}'", where="train.methods",
                            fix="give each recipe a distinct `method:`")
        recipes[recipe.method] = recipe
    return recipes


def _run_iteration(run: StageRun, *, ctx: Context, method: str, recipe: Recipe, t: int, players: list[str | None],
                   reference: str) -> list[str]:
    root = ctx.store.root.resolve() / "train" / method
    parts = run.parts()
    history = {p: [reference] + [str(player_dir(root, p, s)) for s in range(1, t)] for p in players}
    prefs = {p: _preferences(ctx, run, method, root, p, t, history[p][-1]) for p in players}
    it = Iteration(recipe, method, t, root, reference, history, parts.directory, seed=ctx.config.seed,
                   device=ctx.config.train.device)
    summaries = train_players(it, prefs, ctx.progress)
    keys = ("steps", "skipped", "pairs", "start", "opponents", "population_shortfall", "seconds", "note")
    record = {p or "policy": {k: s.get(k) for k in keys} for p, s in summaries.items()}
    write_json(root / "data" / f"iter{t}.json", record)
    outputs = [f"train/{method}/metrics.jsonl", f"train/{method}/data/iter{t}.json"]
    outputs += [str(player_dir(Path("train") / method, p, t)) for p in players]
    return outputs


def _preferences(ctx: Context, run: StageRun, method: str, root: Path, player: str | None, t: int,
                 current: str) -> pd.DataFrame:
    """The preference rows `player` trains on at iteration t (see module docstring); failed judgments leave
    `run` incomplete (and stop the run over panel.max_failure_rate)."""
    from mnpo_bench.panel.annotate import annotate
    from mnpo_bench.panel.failures import settle_failures
    from mnpo_bench.panel.personas import resolve_panel

    parts = run.parts()

    store, seed = ctx.store, ctx.config.seed * 7919 + t
    if t == 1 and player is None:
        return store.read_table("preferences")
    prompts = store.read_table("prompts")
    train_prompts = prompts[prompts["split"] == "train"].reset_index(drop=True)
    tag = player or "policy"
    if t == 1:  # HT-MNPO: the reference's samples, labelled by this player's persona alone
        generations = store.read_table("generations")
    else:
        from mnpo_bench.generation import generate

        generations = parts.compute(f"generations-{tag}", lambda: generate(
            current, train_prompts, ctx.config.generation, policy_name=policy_name(method, player, t - 1),
            seed=seed, progress=ctx.progress, n_samples=_n_samples(ctx), device=ctx.config.train.device))
        write_table(data_path(root, player, t, "generations"), generations)

    key = f"preferences-{tag}"
    if parts.done(key):
        return parts.get(key)
    judgments, prefs = annotate(train_prompts, generations, ctx.config.panel, seed=seed, progress=ctx.progress,
                                persona=player)
    write_table(data_path(root, player, t, "judgments"), judgments)
    if not settle_failures(judgments, resolve_panel(ctx.config.panel), ctx.config.panel, run,
                           f"train/{method}/iter{t}"):
        parts.put(key, prefs)  # a chunk with failures is not kept: the re-run asks again for them
    return prefs


def _players(ctx: Context, recipe: Recipe) -> list[str | None]:
    """[None] for one-policy methods; the panel's persona names for HT-MNPO."""
    if recipe.opponents.population != "ht":
        return [None]
    from mnpo_bench.panel.personas import resolve_panel

    names = sorted({persona.name for persona, _ in resolve_panel(ctx.config.panel).members})
    if len(names) < 2:
        raise UserError("HT-MNPO needs a panel with at least two personas", where="panel.preset",
                        fix="pick a panel preset with several personas")
    return names


def _iteration_one_inputs(ctx: Context) -> dict[str, str | None]:
    """Content hashes of the tables iteration 1 reads, so changed labels re-run training."""
    return {name: file_hash(ctx.store.path(f"{name}.parquet")) if ctx.store.has_table(name) else None
            for name in ("preferences", "generations", "prompts")}


def _n_samples(ctx: Context) -> int:
    return ctx.config.train.n_samples or ctx.config.generation.n_samples
