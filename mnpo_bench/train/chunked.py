"""Per-token log-probabilities from the last hidden states, without the (M, V) logits block.

The output layer's logits are what runs out of memory first with real vocabularies: M scored tokens × V
entries, kept for the log-softmax and again for its gradient. `token_logps` computes

    log p(t_m) = z_m[t_m] − logsumexp_v z_m[v],      z_m = f(W h_m + b)       (W: (V, H), h_m: (H,))

(f: the model's own logit scale and soft-capping) in tiles of positions. Forward keeps only the logsumexp per
token (M floats); backward recomputes each tile's logits and turns them into the gradient in place,

    ∂ log p(t_m) / ∂ z_m[v] = 1[v = t_m] − softmax(z_m)[v],
    ∂L/∂h_m = Σ_v g_m (e_{t_m} − p_m)_v f'_mv W_v,      ∂L/∂W = Σ_m (g_m (e_{t_m} − p_m) ⊙ f'_m) h_mᵀ,

so the extra peak memory is about one (tile, V) fp32 block, whatever M × V is.

Kernels (`logprob_tiles.kernel`):
- "tiled": ours, above. We wrote it because TRL's `trl.kernels.ChunkedLogProbFunction`, which also tiles the
  vocabulary and folds each tile into an online logsumexp, runs those folds as many small torch ops where
  there is no Triton: measured on CPU (M=2048, H=128, V=32k, one thread) it took 3.4x one plain
  cross-entropy, where this takes 1.15x. On CPU, tiling positions alone bounds memory well enough.
- "trl": TRL's kernel (maintained upstream; Triton folds on CUDA, fp32 accumulation of the gradient GEMMs),
  called on slices of positions, since TRL fixes its own token tile at 4096 rows. The natural choice on GPU.
- "full": one (M, V) block through `F.cross_entropy`; the fastest when it fits.
- "auto": "full" when M × V fits in one tile (`elements`), else "trl" on CUDA (when TRL imports), else "tiled".
Liger's fused linear cross-entropy does not fit: it computes the gradient during the forward pass and
scales it by one scalar upstream gradient, so it serves a mean or summed loss only, while our per-token
log-probs feed a non-linear preference loss with a different gradient for every sequence.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from mnpo_bench.settings import Section


class LogProbTiles(Section):
    """Kernel and tile sizes of the chunked log-prob computation (training and precompute)."""

    kernel: Literal["auto", "tiled", "trl", "full"] = Field(
        "auto", description="'tiled' ours (tiles of positions, recomputed in backward; the CPU default), 'trl' "
        "TRL's ChunkedLogProbFunction (Triton on CUDA), 'full' one (tokens, vocab) block, 'auto' full when it fits "
        "one tile, else trl on CUDA and tiled elsewhere (train/chunked.py)")
    elements: int = Field(2**25, ge=1024, description="most logits one tile holds (positions x vocabulary "
                          "entries; 2^25 fp32 = 128 MiB): bounds the extra peak memory whatever vocab x tokens is")
    positions: int = Field(1024, ge=1, le=4096, description="most scored tokens per tile (TRL's kernel caps a "
                           "tile at 4096); reached with small vocabularies")
    vocab: int = Field(32768, ge=256, description="vocabulary entries per tile of the 'trl' kernel, folded with "
                       "an online log-sum-exp (the whole vocabulary when it is smaller)")

    def rows(self, width: int) -> int:
        """Positions per tile when a tile spans `width` vocabulary entries (at least 1)."""
        return max(1, min(self.positions, self.elements // max(width, 1)))

    def choose(self, tokens: int, vocab: int, device: torch.device) -> str:
        """The kernel `token_logps` runs for `tokens` scored positions over `vocab` entries on `device`."""
        if self.kernel != "auto":
            return self.kernel
        if tokens * vocab <= self.elements:
            return "full"
        return "trl" if device.type == "cuda" and _trl_kernel() is not None else "tiled"


def token_logps(hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, tiles: LogProbTiles,
                *, softcap: float | None = None, logit_scale: float = 1.0) -> Tensor:
    """log softmax(f(hidden @ weight.T + bias))[targets] in nats, float32, shape (M,).

    hidden (M, H), weight (V, H), bias (V,) or None, targets (M,) token ids. f is the model's own
    post-processing of the logits (`logit_scale` as Cohere/Granite, then `softcap` as Gemma-2), so the values
    equal those of the model's full logits. Differentiable in hidden, weight and bias.
    """
    if hidden.shape[0] == 0:
        return hidden.sum(-1).float()  # (0,), still attached to the graph so an empty batch backpropagates
    vocab = weight.shape[0]
    kernel = tiles.choose(hidden.shape[0], vocab, hidden.device)
    if kernel == "full":
        logits = _transform(F.linear(hidden, weight, bias).float(), softcap, logit_scale)  # (M, V)
        return -F.cross_entropy(logits, targets, reduction="none")
    if kernel == "tiled":
        return _TiledLogProb.apply(hidden, weight, bias, targets, tiles.rows(vocab), softcap, logit_scale)
    function = _trl_kernel()
    if function is None:
        raise RuntimeError("logprob_tiles.kernel 'trl' needs TRL installed (pip install trl)")
    rows, width = tiles.rows(min(tiles.vocab, vocab)), tiles.vocab
    return torch.cat([function.apply(hidden[s:s + rows], weight, bias, targets[s:s + rows], 1.0, width, softcap,
                                     logit_scale, ())[0] for s in range(0, hidden.shape[0], rows)])  # (M,)


def _transform(z: Tensor, softcap: float | None, scale: float) -> Tensor:
    """f(z): the model's logit scale, then its soft-capping (shape kept)."""
    z = z * scale if scale != 1.0 else z
    return softcap * torch.tanh(z / softcap) if softcap else z


def _trl_kernel():
    try:
        from trl.kernels import ChunkedLogProbFunction
    except ImportError:
        return None
    return ChunkedLogProbFunction


def _compute_dtype(hidden: Tensor) -> torch.dtype:
    """The matmul dtype: autocast's where it is on (bf16/fp16 mixed precision), else the input's."""
    device = hidden.device.type
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else hidden.dtype


class _TiledLogProb(torch.autograd.Function):
    """The "tiled" kernel: tiles of `rows` positions, logits recomputed in backward (module docstring)."""

    @staticmethod
    def forward(ctx, hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, rows: int,
                softcap: float | None, scale: float) -> Tensor:
        ctx.dtype, ctx.rows, ctx.softcap, ctx.scale = _compute_dtype(hidden), rows, softcap, scale
        w, b = weight.to(ctx.dtype), None if bias is None else bias.to(ctx.dtype)  # cast once, not per tile
        m = hidden.shape[0]
        out = torch.empty(m, dtype=torch.float32, device=hidden.device)  # (M,)
        lse = torch.empty(m, dtype=torch.float32, device=hidden.device)  # (M,)
        for s in range(0, m, rows):
            z = _tile_logits(hidden[s:s + rows], w, b, ctx)  # (rows, V) fp32
            target = z.gather(1, targets[s:s + rows, None])[:, 0]  # (rows,)
            top = z.amax(-1)  # (rows,)
            lse[s:s + rows] = top + z.sub_(top[:, None]).exp_().sum(-1).log_()  # in place: one tile held
            out[s:s + rows] = target - lse[s:s + rows]
        ctx.save_for_backward(hidden, weight, bias, targets, lse)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        hidden, weight, bias, targets, lse = ctx.saved_tensors
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        w, b = weight.to(ctx.dtype), None if bias is None else bias.to(ctx.dtype)
        grad_h = torch.empty_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        grad_b = torch.zeros(bias.shape, dtype=torch.float32, device=bias.device) if need_b else None
        grad, rows = grad.float(), ctx.rows
        for s in range(0, hidden.shape[0], rows):
            h, g = hidden[s:s + rows], grad[s:s + rows]  # (rows, H), (rows,)
            z = _tile_logits(h, w, b, ctx)  # (rows, V) fp32, recomputed
            slope = 1 - (z / ctx.softcap).square() if ctx.softcap else None  # f' of the tanh cap, over the scale
            dz = z.sub_(lse[s:s + rows, None]).exp_().mul_(-g[:, None])  # −g·softmax, in place
            dz[torch.arange(dz.shape[0], device=dz.device), targets[s:s + rows]] += g  # + g·1[v = target]
            if slope is not None:
                dz.mul_(slope)
            if ctx.scale != 1.0:
                dz.mul_(ctx.scale)
            if need_b:
                grad_b += dz.sum(0)
            if need_h:
                grad_h[s:s + rows] = (dz.to(ctx.dtype) @ w).to(hidden.dtype)  # (rows, H)
            if need_w:
                grad_w.addmm_(dz.T, h.float())  # (V, H), accumulated in fp32
        return (grad_h, grad_w.to(weight.dtype) if need_w else None,
                grad_b.to(bias.dtype) if need_b else None, None, None, None, None)


def _tile_logits(h: Tensor, w: Tensor, b: Tensor | None, ctx: Any) -> Tensor:
    """(rows, V) float32 logits f(h @ w.T + b) of h (rows, H), the matmul in w's dtype with autocast off, so
    forward and backward (which autograd runs outside autocast) compute identical tiles."""
    with torch.autocast(h.device.type, enabled=False):
        z = F.linear(h.to(w.dtype), w, b).float()
    return _transform(z, ctx.softcap, ctx.scale)


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
