"""`mnpo-bench train RECIPE --data PREFS`: one iteration on an existing preference dataset, outside a run.

The pairs are scored under the reference (the starting policy) and the recipe's opponents, which at t = 1
are the reference itself (TD population) or the other personas' players, who all start at the reference
(HT population, with the persona taken from a column of the data); then the step loop trains and the
policy is saved in Hugging Face format. The layout matches a run's:
    <out>/<method>/iter1/                 the trained policy (or <out>/<method>/<persona>/iter1/ for HT)
    <out>/<method>/metrics.jsonl          one row per optimiser step
    <out>/<method>/data/iter1-pairs.parquet   the pairs with their stored reference/opponent log-probs
An interrupted call resumes when re-run with the same arguments (the scratch lives in <out>/.work/).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mnpo_bench.errors import UserError
from mnpo_bench.devices import check_device
from mnpo_bench.progress import Progress
from mnpo_bench.store import stable_hash, write_json
from mnpo_bench.train.data import read_preferences
from mnpo_bench.train.iteration import Iteration, player_dir, policy_name, train_players
from mnpo_bench.train.ranks import is_main, wait_for_everyone
from mnpo_bench.train.recipes import load_recipe


def train_offline(recipe_name: str, data: str, *, model: str | None, out: Path, profile: str = "tiny",
                  overrides: dict[str, Any] | None = None, persona_column: str | None = None, seed: int = 0,
                  device: str = "auto", progress: Progress | None = None) -> dict[str, str]:
    """Train recipe `recipe_name` on the preference rows at `data`; returns {policy name: saved path}."""
    progress = progress or Progress(quiet=True)
    recipe = load_recipe(recipe_name, profile, overrides, where="RECIPE")
    pairs = read_preferences(data)
    prefs = _split_players(pairs, recipe.opponents.population, persona_column, data)
    check_device(device, "--device")
    if not 0 <= seed < 2**32:
        raise UserError(f"seed {seed} is outside 0 to 2^32-1", where="--seed", fix="give a seed in numpy's range")
    reference = _reference(model, progress)
    root = Path(out).resolve() / recipe.method
    key = stable_hash(recipe.model_dump(mode="json"), data, reference, persona_column, seed)
    work = Path(out).resolve() / ".work" / key
    it = Iteration(recipe.at_iteration(1), recipe.method, 1, root, reference, {p: [reference] for p in prefs}, work,
                   seed, device)
    train_players(it, prefs, progress)  # returns on every rank together
    saved = {policy_name(recipe.method, p, 1): str(player_dir(root, p, 1)) for p in prefs}
    if is_main():  # the main process owns the outputs and the scratch
        write_json(Path(out) / "policies.json", saved)
        shutil.rmtree(work, ignore_errors=True)
    wait_for_everyone()
    return saved


def _reference(model: str | None, progress: Progress) -> str:
    """The starting policy: --model (a save_pretrained directory or a cached hub id), else the tiny model."""
    from mnpo_bench.policy.config import PolicyConfig
    from mnpo_bench.policy.load import check_model_location, resolve_policy

    if model is None:
        return resolve_policy(PolicyConfig(), progress)
    return check_model_location(model, where="--model")


def _split_players(pairs, population: str, persona_column: str | None, data: str) -> dict:
    """{None: all rows} for one-policy recipes; {persona: its rows} for HT (two personas at least)."""
    if population != "ht":
        if persona_column:
            raise UserError("--persona-column is only for HT recipes", where="--persona-column",
                            fix="drop it, or train the ht_mnpo recipe")
        return {None: pairs}
    if not persona_column:
        raise UserError("an HT recipe needs the persona of each row", where="--persona-column",
                        fix="name the column holding each row's persona (e.g. --persona-column persona)")
    if persona_column not in pairs.columns:
        raise UserError(f"no column '{persona_column}'", where=data, fix="pass the column that holds the persona")
    players = {str(name): rows.reset_index(drop=True) for name, rows in pairs.groupby(persona_column, sort=True)}
    if len(players) < 2:
        raise UserError(f"column '{persona_column}' holds {len(players)} persona(s)", where=data,
                        fix="HT-MNPO needs the labels of at least two personas")
    return players
