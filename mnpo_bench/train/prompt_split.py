"""Which train prompts each online iteration trains on (`train.prompt_split`).

`per_iteration` (the default) follows the MNPO and SPPO releases: the MNPO release shuffles its prompt set
once (a fixed seed) and cuts it into one contiguous part per iteration (`mnpo_scripts/split_dataset.py`);
SPPO reads a separate prompt set per iteration (`UCLA-AGI/data-*-sppo-iter<i>` in `run_sppo_*.sh`). Here the
train prompts are permuted by a stream of the run seed and cut into T near-equal contiguous slices (sizes
differ by at most one; the release gives its last part the remainder), and iteration t trains on slice t
only: its fresh samples, its labels, and at t = 1 the run's own preference pairs restricted to slice 1.
`shared` keeps every train prompt in every iteration.

The slices depend on (run seed, the train prompts, T), so changing `train.iterations` re-cuts them and
every iteration runs again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.seeds import stream_seed


def iteration_slices(prompt_ids: list[str], iterations: int, seed: int) -> list[list[str]]:
    """T disjoint lists of prompt ids whose union is `prompt_ids`: a permutation seeded by (seed,
    "prompt_split") cut into `iterations` contiguous slices of near-equal size; each slice keeps the
    prompts' original order. ValueError when there are fewer prompts than iterations."""
    if len(prompt_ids) < iterations:
        raise ValueError(f"{len(prompt_ids)} train prompts cannot give {iterations} non-empty slices")
    order = np.random.default_rng(stream_seed(seed, "prompt_split")).permutation(len(prompt_ids))
    return [[prompt_ids[i] for i in sorted(part)] for part in np.array_split(order, iterations)]


def iteration_prompts(prompts: pd.DataFrame, t: int, *, iterations: int, seed: int, split: str) -> pd.DataFrame:
    """The rows of `prompts` (the run's train prompts, in order) that iteration t (1-based) trains on: all of
    them under `shared`, slice t of `iteration_slices` under `per_iteration`."""
    if split == "shared":
        return prompts.reset_index(drop=True)
    keep = set(iteration_slices(list(prompts["prompt_id"]), iterations, seed)[t - 1])
    return prompts[prompts["prompt_id"].isin(keep)].reset_index(drop=True)


def check_prompt_split(n_train: int, iterations: int, split: str) -> str:
    """The validate line for the prompt split; UserError (naming the field and the fix) when
    `per_iteration` would leave an iteration without prompts (prompts.n_train < train.iterations)."""
    if split == "shared":
        return f"ok  train prompts shared by all {iterations} iteration(s) ({n_train} prompts)"
    if n_train < iterations:
        raise UserError(f"prompts.n_train = {n_train} cannot be cut into {iterations} disjoint slices, one per "
                        "iteration", where="train.prompt_split=per_iteration",
                        fix=f"raise prompts.n_train to at least {iterations}, lower train.iterations, or set "
                        "train.prompt_split=shared")
    low = n_train // iterations
    return (f"ok  train prompts split per iteration: {iterations} disjoint slices of "
            f"{low}{'' if n_train % iterations == 0 else f'-{low + 1}'} of the {n_train} prompts")
