"""FSDP2's bf16 parameter policy (`MixedPrecisionPolicy(param_dtype=bf16)`, what accelerate builds from
`mixed_precision: bf16` with fsdp_version 2) and the precompute rule `ranks.engine_casts_params`: scoring the
reference with its parameters cast to bf16 (no autocast) reproduces what the sharded policy computes at step 0,
so MNPO's first loss is (1/(2 eta))^2. accelerate cannot select FSDP on a CPU, so two gloo ranks wrap the
model with `fully_shard` directly (as tests/train/test_fsdp2_gloo.py does)."""

from __future__ import annotations

import os

import pytest
import torch
import torch.multiprocessing as mp

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
MAX_LENGTH = 64


def _encoded(path: str):
    from transformers import AutoTokenizer

    from mnpo_bench.train.logprobs import encode_pair
    from tests.train.conftest import arithmetic_pairs

    tokenizer = AutoTokenizer.from_pretrained(path)
    pairs = arithmetic_pairs(8)
    return tokenizer, pairs, [encode_pair(tokenizer, r.prompt, r.chosen, r.rejected, MAX_LENGTH)
                              for r in pairs.itertuples()]


def _rank(rank: int, path: str, port: int, out: str) -> None:
    import torch.distributed as dist
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    from transformers import AutoModelForCausalLM

    from mnpo_bench.train.logprobs import precompute_logps

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    sharded = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    for layer in sharded.model.layers:
        fully_shard(layer, mp_policy=policy)
    fully_shard(sharded, mp_policy=policy)
    tokenizer, _, encoded = _encoded(path)
    scores = precompute_logps(sharded, tokenizer, encoded, 4, "cpu")  # the policy's step-0 log-probs
    if rank == 0:
        torch.save(scores, out)
    dist.destroy_process_group()


def _first_loss(policy: dict, ref: dict, eta: float, ratio: float) -> float:
    """MNPO's mean loss at step 0 (t = 1: the reference is the only opponent)."""
    from mnpo_bench.train.losses import mnpo_loss

    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in policy.items()}
    r = {k: torch.tensor(v, dtype=torch.float64) for k, v in ref.items()}
    return mnpo_loss(t["chosen_logp"], t["rejected_logp"], r["chosen_logp"], r["rejected_logp"],
                     r["chosen_logp"][None], r["rejected_logp"][None], None, ratio, eta).mean().item()


def test_fsdp2_bf16_param_policy_first_mnpo_loss_is_analytic_with_cast_precompute(tmp_path):
    from mnpo_bench.train.precompute import score_pairs
    from mnpo_bench.train.recipes import load_recipe
    from tests.real_models import build_qwen2_style

    path = build_qwen2_style(tmp_path / "qwen2", vocab_size=4096)
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_rank, args=(path, 29683, out), nprocs=2, join=True)
    policy = torch.load(out)
    _, pairs, _ = _encoded(path)
    loss = load_recipe("mnpo").loss
    eta, ratio = loss.beta, loss.ratio
    cast = score_pairs(path, pairs, max_length=MAX_LENGTH, batch_size=4, device="cpu", precision="bf16",
                       cast_weights=True)
    autocast = score_pairs(path, pairs, max_length=MAX_LENGTH, batch_size=4, device="cpu", precision="bf16")
    analytic = (1 / (2 * eta)) ** 2
    print({"analytic": analytic, "cast": _first_loss(policy, cast, eta, ratio),
           "autocast": _first_loss(policy, autocast, eta, ratio)})
    assert _first_loss(policy, cast, eta, ratio) == pytest.approx(analytic, rel=1e-6)
    assert policy["chosen_logp"] == cast["chosen_logp"] and policy["rejected_logp"] == cast["rejected_logp"]
    assert policy["chosen_tokens"] == cast["chosen_tokens"]
