"""The train stage: every method, iterated online, as resumable sub-stages train/<method>/iter<t>/<step>.

Each iteration runs the steps of its recipe's loop shape (train/shapes.py; the standard one is
generate → annotate → fit). Iteration t uses its own slice of the train prompts (train.prompt_split,
train/prompt_split.py). For t = 1 every method fits on the run's `preferences.parquet` (the panel's labels of
the reference's samples) on slice 1, so all methods see the same prompts, samples and budget. For t > 1 each
player samples K responses per prompt of slice t from its own last iterate, from the method's own random
stream (unless train.common_random_numbers), the panel labels every pair (HT-MNPO players: only their
persona), and the new rows are scored and trained on. train/online.py runs the steps.

Writes under the run: train/<method>/iter<t>/ (save_pretrained), train/<method>/metrics.jsonl,
train/<method>/data/ (each step's tables), and train/policies.json {"<method>/iter<t>": "train/<method>/iter<t>"}
which the policies stage merges into policies.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context
from mnpo_bench.policy.stage import reference_path
from mnpo_bench.store import write_json
from mnpo_bench.train.iteration import player_dir, policy_name
from mnpo_bench.train.online import UPSTREAM, OnlineIteration
from mnpo_bench.train.recipes import Recipe, check_overrides, load_recipe
from mnpo_bench.train.shapes import LOOP_SHAPES, check_shape


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
    """Every iteration of every method as its loop shape's sub-stages; returns {policy name: run-relative
    checkpoint} of every iterate."""
    published: dict[str, str] = {}
    for method, recipe in recipes.items():
        players = _players(ctx, recipe)
        previous = tuple(s for s in UPSTREAM if s in ctx.hashes)
        for t in range(1, ctx.config.train.iterations + 1):
            shape = LOOP_SHAPES.get(recipe.loop, where=f"train.methods: {method}: loop")
            steps = check_shape(shape(t, players != [None]))
            scheduled = recipe.at_iteration(t)  # the recipe's schedule entry for t (itself without one)
            previous = (OnlineIteration(ctx, method, scheduled, t, players, reference, previous).run(steps),)
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


def _players(ctx: Context, recipe: Recipe) -> list[str | None]:
    return players_of(ctx.config, recipe)


def players_of(config: Any, recipe: Recipe) -> list[str | None]:
    """[None] for one-policy methods; the panel's persona names for HT-MNPO (`config` is the RunConfig)."""
    if recipe.opponents.population != "ht":
        return [None]
    from mnpo_bench.panel.personas import resolve_panel

    names = sorted({persona.name for persona, _ in resolve_panel(config.panel).members})
    if len(names) < 2:
        raise UserError("HT-MNPO needs a panel with at least two personas", where="panel.preset",
                        fix="pick a panel preset with several personas")
    return names
