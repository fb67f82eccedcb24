"""One iteration of one method, given each player's preference rows: pick opponents, score the pairs
under the reference and the opponents, train every player, save `iter<t>` in Hugging Face format.

Used by the pipeline stage (`stage.py`, which first samples and labels fresh pairs for t > 1) and by
`mnpo-bench train --data` (t = 1 on a given file). A player is None for single-policy methods, or the
persona name for HT-MNPO.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mnpo_bench.progress import Progress, hf_progress_hidden
from mnpo_bench.store import atomic_dir, read_table, safe_name, write_json, write_table
from mnpo_bench.train.data import SELECTIONS, add_win_rates
from mnpo_bench.train.loop import TrainJob, run_recipe
from mnpo_bench.train.objectives import OBJECTIVES
from mnpo_bench.train.population import opponents_for, td_missing, td_shortfall
from mnpo_bench.train.precompute import add_logps
from mnpo_bench.train.ranks import is_main, train_device, engine_casts_params, wait_for_everyone
from mnpo_bench.train.recipes import Recipe, resolve_precision


SELECTION_COUNTS = ("prompts", "skipped_prompts", "not_best_vs_worst")  # best_vs_worst's counts, per iteration


def player_dir(root: Path, player: str | None, t: int) -> Path:
    """Where iterate t of `player` is saved: <root>/iter<t> or <root>/<player>/iter<t>."""
    return root / player / f"iter{t}" if player else root / f"iter{t}"


def policy_name(method: str, player: str | None, t: int) -> str:
    """The iterate's name in policies.json: "<method>/iter<t>", or "<method>-<persona>/iter<t>"."""
    return f"{method}-{player}/iter{t}" if player else f"{method}/iter{t}"


def data_path(root: Path, player: str | None, t: int, kind: str = "pairs") -> Path:
    """Where an iteration's tables are kept: <root>/data/iter<t>[-<player>]-<kind>.parquet."""
    return root / "data" / f"iter{t}{'-' + player if player else ''}-{kind}.parquet"


@dataclass
class Iteration:
    """Everything an iteration needs besides the preference rows."""

    recipe: Recipe
    method: str
    t: int
    root: Path  # train/<method> (absolute)
    reference: str
    history: dict[str | None, list[str]]  # per player: [reference, iter1, ..., iter(t-1)] checkpoints
    work: Path  # scratch that survives an interruption (scored pairs, mid-iteration checkpoints)
    seed: int
    device: str = "auto"
    starts: dict[str | None, str] | None = None  # per player, the policy to start from (None: iterate t - 1)
    outputs: dict[str | None, Path] | None = None  # per player, where to save (None: player_dir(root, player, t))
    label: str = ""  # suffix of this fit's file names, for a second fit in one iteration ("" for the first)
    report_to: tuple[str, ...] = ()  # train.report_to


def train_players(it: Iteration, prefs: dict[str | None, pd.DataFrame], progress: Progress | None = None
                  ) -> dict[str | None, dict[str, Any]]:
    """Train every player of `it` on its rows; returns {player: summary with output_dir and opponents}.

    A player left without pairs (its persona tied every comparison, or none reaches min_prob) keeps its
    policy: iterate t is a copy of iterate t - 1, and the summary says so in `note`.

    Under several processes every rank trains (data parallel) but only the main one writes the work files
    and the summaries (`ranks.py`); all ranks meet after each player, so none reads a half-written file and
    the caller may remove `it.work` once this returns."""
    progress = progress or Progress(quiet=True)
    device = train_device(it.device)  # this rank's own device (cuda:LOCAL_RANK under a launcher)
    starts = it.starts or {player: history[-1] for player, history in it.history.items()}
    summaries: dict[str | None, dict[str, Any]] = {}
    for player, rows in prefs.items():
        name = policy_name(it.method, player, it.t)
        opponents = opponents_for(it.recipe.opponents, history=it.history[player], players=starts, me=player)
        td = it.recipe.opponents.population == "td"
        shortfall = td_shortfall(it.history[player], it.recipe.opponents.k) if td else 0
        missing = td_missing(it.history[player], it.recipe.opponents.k) if td else []
        if shortfall:
            progress.note(f"  [yellow]{name}: the population has {len(opponents)} of k = {it.recipe.opponents.k} "
                          f"opponents at t = {it.t}; missing (not yet trained): {', '.join(missing)}; nothing "
                          f"replaces them (the reference is played once, the weights renormalised over the "
                          f"{len(opponents)})[/yellow]")
        recorded = {"population_shortfall": shortfall, "population_missing": missing}
        tag = player or "policy"
        done = it.work / f"done-{tag}.json"
        out = it.outputs[player] if it.outputs else player_dir(it.root, player, it.t)
        wait_for_everyone()  # every rank decides on the same files
        if done.exists() and (out / "config.json").exists():  # finished before an interruption
            summaries[player] = json.loads(done.read_text())
            continue
        scored_path = it.work / f"scored-{tag}.parquet"
        selected = select_pairs(it.recipe, rows)  # cheap; its counts go in the summary even when resumed
        recorded["pair_selection"] = {k: selected.attrs[k] for k in SELECTION_COUNTS if k in selected.attrs}
        if scored_path.exists():
            scored = read_table(scored_path)
        else:
            if selected.attrs.get("not_best_vs_worst") or selected.attrs.get("skipped_prompts"):
                progress.note(f"  {name}: best_vs_worst kept another decided pair on "
                              f"{selected.attrs['not_best_vs_worst']} prompt(s) (the panel judged against "
                              f"best-vs-worst, or never decided it) and skipped {selected.attrs['skipped_prompts']}"
                              f" of {selected.attrs['prompts']} with no decided pair")
            if selected.empty:
                progress.note(f"  [yellow]{name}: no preference pairs (all ties or below min_prob); "
                              f"the policy is kept unchanged[/yellow]")
                summary = {"steps": 0, "skipped": 0, "seconds": 0.0, "loss": None, "output_dir": str(out),
                           "note": "no preference pairs: policy kept unchanged", **recorded}
                if is_main():
                    keep_policy(starts[player], out)
                summaries[player] = _finish(done, summary, starts[player], opponents, it.reference, 0)
                continue
            scored = add_logps(selected, it.reference, opponents, max_length=it.recipe.max_length,
                               batch_size=it.recipe.precompute_batch_size, device=str(device),
                               precision=resolve_precision(it.recipe, device.type == "cuda"),
                               cast_weights=engine_casts_params(),
                               tiles=it.recipe.logprob_tiles, progress=progress)
            if is_main():
                write_table(scored_path, scored)
        if is_main():
            write_table(data_path(it.root, player, it.t, f"pairs{it.label}"), scored)
        progress.note(f"  train {name}: {len(scored)} pairs, {len(opponents)} opponent(s)")
        job = TrainJob(it.recipe, starts[player], scored, out, it.work / f"state-{tag}", it.root / "metrics.jsonl",
                       it.method, iteration=it.t, player=player, seed=it.seed, device=it.device,
                       report_to=it.report_to, tracking_dir=it.root.parent / "tracking", tracking_name=safe_name(name))
        summary = run_recipe(job)
        summary.update(recorded)
        summaries[player] = _finish(done, summary, starts[player], opponents, it.reference, len(scored))
    return summaries


def select_pairs(recipe: Recipe, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a recipe trains on: its `pairs` selection, then those with prob >= min_prob. A loss that needs
    win rates (SPPO) gets them from all of the prompt's labelled pairs, before the selection keeps one."""
    if rows.empty:
        return rows
    if OBJECTIVES.get(recipe.loss.name).win_rates:
        rows = add_win_rates(rows)
    rows = SELECTIONS.get(recipe.pairs, where="pairs")(rows)
    counts = dict(rows.attrs)
    kept = rows[rows["prob"] >= recipe.min_prob].reset_index(drop=True)
    kept.attrs = counts  # best_vs_worst's prompt counts, for the note the caller prints
    return kept


@hf_progress_hidden
def keep_policy(start: str, out: Path) -> None:
    """Save the policy at `start` (a directory or a hub id) unchanged as `out`."""
    with atomic_dir(out) as scratch:
        if Path(start).is_dir():
            shutil.copytree(start, scratch, dirs_exist_ok=True)
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        AutoModelForCausalLM.from_pretrained(start).save_pretrained(scratch)
        AutoTokenizer.from_pretrained(start).save_pretrained(scratch)


def _finish(done: Path, summary: dict[str, Any], start: str, opponents: list[str], reference: str,
            pairs: int) -> dict[str, Any]:
    """`summary` with the player's start, opponents, reference and pair count, recorded in `done` by the
    main process once every rank has got here."""
    summary.update({"start": start, "opponents": opponents, "reference": reference, "pairs": pairs})
    if is_main():
        write_json(done, summary)
    wait_for_everyone()
    return summary
