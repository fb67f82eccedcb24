"""One iteration's bookkeeping: a player whose persona gave no usable pair keeps its policy, visibly."""

import pandas as pd
import torch
from safetensors.torch import load_file

from mnpo_bench.train.iteration import Iteration, train_players
from mnpo_bench.train.recipes import load_recipe
from tests.train.conftest import arithmetic_pairs


def test_a_player_without_pairs_keeps_its_policy_and_says_so(tmp_path, small_policy):
    recipe = load_recipe("ht_mnpo", overrides={"optim": {"epochs": 1}, "max_length": 64, "pairs": "all",
                                               "min_prob": 0.6})
    sure = arithmetic_pairs(8).assign(prob=0.9)
    unsure = arithmetic_pairs(8, seed=1).assign(prob=0.55)  # below min_prob: nothing to train on
    it = Iteration(recipe, "ht_mnpo", 1, tmp_path / "ht_mnpo", small_policy,
                   {"a": [small_policy], "b": [small_policy]}, tmp_path / "work", seed=0)
    summaries = train_players(it, {"a": sure, "b": unsure})
    assert summaries["a"]["steps"] > 0 and summaries["a"]["opponents"] == [small_policy]
    assert summaries["b"]["steps"] == 0 and "kept unchanged" in summaries["b"]["note"]
    before = load_file(f"{small_policy}/model.safetensors")
    kept = load_file(str(tmp_path / "ht_mnpo" / "b" / "iter1" / "model.safetensors"))
    trained = load_file(str(tmp_path / "ht_mnpo" / "a" / "iter1" / "model.safetensors"))
    assert all(torch.equal(before[k], kept[k]) for k in before)
    assert any(not torch.equal(before[k], trained[k]) for k in before)
    assert pd.read_parquet(tmp_path / "ht_mnpo" / "data" / "iter1-a-pairs.parquet")["prob"].eq(0.9).all()
