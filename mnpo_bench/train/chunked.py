"""Per-token log-probabilities from the last hidden states, without the (M, V) logits block.

The output projection and the log-softmax run tile by tile: `positions` scored tokens at a time, and within
a tile `vocab` vocabulary entries at a time with an online log-sum-exp. The backward pass recomputes each
tile instead of keeping it, so the extra memory is a few (positions × vocab) fp32 tiles, whatever the
vocabulary size V and the number of scored tokens M are.

The kernel is TRL's `trl.kernels.ChunkedLogProbFunction` (maintained upstream, Triton on GPU, plain torch
on CPU, fp32 accumulation of the gradient GEMMs, ZeRO-3 gathering of the head in backward). We only add the
tiling over positions: TRL fixes its token tile at 4096 rows, which on CPU means 4096 × vocab-tile fp32
temporaries (several GiB at 32k entries); calling it on slices of `positions` rows makes that a setting.
Liger's fused linear cross-entropy would also fit on GPU, but it is CUDA/Triton only and returns a mean
loss rather than the per-token log-probs the sequence sums need, so it is not used.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field
from torch import Tensor

from mnpo_bench.settings import Section


class LogProbTiles(Section):
    """Tile sizes of the chunked log-prob computation (training and precompute)."""

    positions: int = Field(1024, ge=1, le=4096, description="scored tokens per tile (TRL's kernel caps a tile "
                           "at 4096); extra memory grows with positions × vocab")
    vocab: int = Field(32768, ge=256, description="vocabulary entries per tile, folded with an online "
                       "log-sum-exp; the whole vocabulary when it is smaller")


def token_logps(hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, tiles: LogProbTiles,
                *, softcap: float | None = None, logit_scale: float = 1.0) -> Tensor:
    """log softmax(logit_transform(hidden @ weight.T + bias))[targets] in nats, float32, shape (M,).

    hidden (M, H), weight (V, H), bias (V,) or None, targets (M,) token ids. `softcap` and `logit_scale` are
    the model's own post-processing of the logits (Gemma-2's soft-capping, Cohere's scale), so the values
    equal those of the model's full logits. Differentiable in hidden, weight and bias.
    """
    from trl.kernels import ChunkedLogProbFunction

    if hidden.shape[0] == 0:
        return hidden.sum(-1).float()  # (0,), still attached to the graph so an empty batch backpropagates
    chunks = []
    for start in range(0, hidden.shape[0], tiles.positions):
        stop = start + tiles.positions
        logps = ChunkedLogProbFunction.apply(hidden[start:stop], weight, bias, targets[start:stop], 1.0,
                                             tiles.vocab, softcap, logit_scale, ())[0]  # (tile,)
        chunks.append(logps)
    return torch.cat(chunks)  # (M,)


def head_of(model: Any) -> tuple[Tensor, Tensor | None, float | None, float] | None:
    """(weight (V, H), bias or None, softcap, logit_scale) of the output layer of `model` (unwrapped from
    DDP/DeepSpeed), or None when it has no plain linear head. FSDP2 shards become one full tensor."""
    from accelerate.utils import extract_model_from_parallel

    core = extract_model_from_parallel(model)
    head = core.get_output_embeddings() if hasattr(core, "get_output_embeddings") else None
    if not isinstance(head, torch.nn.Linear):
        return None
    config = getattr(core, "config", None)
    softcap = getattr(config, "final_logit_softcapping", None) or None
    scale = float(getattr(config, "logit_scale", None) or 1.0)  # Cohere multiplies its logits
    if getattr(config, "logits_scaling", None):  # Granite divides them
        scale /= float(config.logits_scaling)
    weight, bias = head.weight, head.bias
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # pragma: no cover - torch builds without distributed
        DTensor = ()  # noqa: N806
    if isinstance(weight, DTensor):
        weight = weight.full_tensor()
        bias = bias.full_tensor() if isinstance(bias, DTensor) else bias
    return weight, bias, softcap, scale


def gathered(weight: Tensor, bias: Tensor | None):
    """A context that gathers a ZeRO-3 partitioned head for direct use (a no-op otherwise)."""
    from trl.trainer.utils import maybe_gather_lm_head_ctx

    return maybe_gather_lm_head_ctx(weight, bias)
