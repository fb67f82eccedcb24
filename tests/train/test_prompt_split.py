"""train.prompt_split: disjoint per-iteration slices of the train prompts, and the validate-time error."""

from __future__ import annotations

import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.train.prompt_split import check_prompt_split, iteration_prompts, iteration_slices


def test_slices_are_disjoint_cover_the_prompts_and_follow_the_seed():
    ids = [f"p{i}" for i in range(10)]
    slices = iteration_slices(ids, 3, seed=0)
    assert sorted(len(s) for s in slices) == [3, 3, 4]  # 10 = 4 + 3 + 3, near-equal
    assert sorted(sum(slices, [])) == sorted(ids)  # disjoint and covering
    assert all(s == sorted(s, key=ids.index) for s in slices)  # each keeps the prompts' order
    assert slices == iteration_slices(ids, 3, seed=0)
    assert slices != iteration_slices(ids, 3, seed=1)  # a permutation of the run seed, not a fixed cut
    with pytest.raises(ValueError):
        iteration_slices(ids[:2], 3, seed=0)


def test_iteration_prompts_shared_and_per_iteration():
    prompts = pd.DataFrame({"prompt_id": [f"p{i}" for i in range(6)], "prompt": list("abcdef")})
    shared = iteration_prompts(prompts, 2, iterations=3, seed=0, split="shared")
    assert shared["prompt_id"].tolist() == prompts["prompt_id"].tolist()
    per = [iteration_prompts(prompts, t, iterations=3, seed=0, split="per_iteration") for t in (1, 2, 3)]
    assert [len(p) for p in per] == [2, 2, 2]
    assert len(set().union(*(set(p["prompt_id"]) for p in per))) == 6


def test_too_few_prompts_for_the_slices_is_a_user_error_naming_the_field():
    assert "3 disjoint slices of 16" in check_prompt_split(48, 3, "per_iteration")
    assert check_prompt_split(2, 3, "shared").startswith("ok")
    with pytest.raises(UserError) as err:
        check_prompt_split(2, 3, "per_iteration")
    assert "train.prompt_split" in str(err.value) and "prompts.n_train" in str(err.value)
