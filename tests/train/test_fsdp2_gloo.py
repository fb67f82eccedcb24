"""The FSDP2 and DDP paths of the log-prob code on CPU: accelerate cannot select FSDP on a CPU, so two gloo
ranks wrap a Qwen2-style model (tied embeddings) with torch.distributed.fsdp.fully_shard directly (each
decoder layer, then the root, as trainer/accelerate/fsdp.yaml does) and with DDP, and must reproduce the
plain model's sequence log-probs and gradients."""

from __future__ import annotations

import os

import pytest
import torch
import torch.multiprocessing as mp

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def _rank(rank: int, path: str, port: int, out: str) -> None:
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard
    from torch.nn.parallel import DistributedDataParallel
    from transformers import AutoModelForCausalLM

    from mnpo_bench.train.chunked import head_of
    from mnpo_bench.train.logprobs import sequence_logps

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    ids = torch.randint(0, 4000, (4, 20), generator=torch.Generator().manual_seed(0))  # (N, T), same on both ranks
    mask = torch.ones_like(ids)
    response = torch.zeros_like(ids, dtype=torch.bool)
    response[:, 10:] = True
    sharded = AutoModelForCausalLM.from_pretrained(path)
    for layer in sharded.model.layers:
        fully_shard(layer)
    fully_shard(sharded)
    logps, _ = sequence_logps(sharded, ids, mask, response)  # (N,)
    logps.sum().backward()
    grads = {name: p.grad.full_tensor() for name, p in sharded.named_parameters()}  # averaged over the 2 ranks
    ddp = DistributedDataParallel(AutoModelForCausalLM.from_pretrained(path))
    ddp_logps, _ = sequence_logps(ddp, ids, mask, response)
    if rank == 0:
        torch.save({"fsdp": logps.detach(), "grads": grads, "ddp": ddp_logps.detach(),
                    "ddp_head": head_of(ddp) is not None}, out)
    dist.destroy_process_group()


def test_fully_shard_on_gloo_and_ddp_match_the_plain_model(tmp_path):
    from transformers import AutoModelForCausalLM

    from mnpo_bench.train.logprobs import sequence_logps
    from tests.real_models import build_qwen2_style

    path = build_qwen2_style(tmp_path / "qwen2", vocab_size=4096)
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_rank, args=(path, 29671, out), nprocs=2, join=True)
    got = torch.load(out)
    plain = AutoModelForCausalLM.from_pretrained(path)
    ids = torch.randint(0, 4000, (4, 20), generator=torch.Generator().manual_seed(0))
    response = torch.zeros_like(ids, dtype=torch.bool)
    response[:, 10:] = True
    logps, _ = sequence_logps(plain, ids, torch.ones_like(ids), response)
    logps.sum().backward()
    assert torch.allclose(got["fsdp"], logps.detach(), atol=1e-5)
    assert torch.allclose(got["ddp"], logps.detach(), atol=1e-5)
    assert got["ddp_head"]  # the head-only shortcut survives the DDP wrapper
    for name, p in plain.named_parameters():
        assert torch.allclose(got["grads"][name], p.grad, atol=1e-5), name
