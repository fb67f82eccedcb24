"""Reference and opponent log-probs, computed once per iteration and stored with the pairs.

The columns added to a preference table are what `loop.PreferenceRecipe` reads:
    ref_chosen_logp, ref_rejected_logp      float, summed response log-prob under the reference (nats)
    opp_chosen_logp, opp_rejected_logp      list[float], one per opponent, in population order
    chosen_tokens, rejected_tokens          int, response lengths in tokens (after truncation)
Everything is encoded by `logprobs.encode_pair` and scored by `logprobs.sequence_logps`, the same code the
training step runs, so the stored values are exactly what the policy would compute at initialisation.
"""

from __future__ import annotations

from contextlib import nullcontext

import pandas as pd
import torch

from mnpo_bench.progress import Progress
from mnpo_bench.train.chunked import LogProbTiles
from mnpo_bench.train.logprobs import encode_pair, precompute_logps


def score_pairs(policy_path: str, pairs: pd.DataFrame, *, max_length: int, batch_size: int,
                device: str = "auto", precision: str = "no", tiles: LogProbTiles | None = None,
                cast_weights: bool = False) -> dict[str, list]:
    """Summed log-probs and lengths of every pair's chosen and rejected response under one frozen policy
    (see `logprobs.precompute_logps` for the keys), with fp32 weights under the same autocast as the
    trainer's `Accelerator(mixed_precision=precision)`: bf16 on GPU and on CPU, fp16 on GPU only
    (`recipes.resolve_precision` refuses fp16 on a CPU), none for "no". Matching precisions make the
    stored reference log-probs equal the policy's at step 0. `cast_weights` (`ranks.engine_casts_params`: DeepSpeed's
    bf16/fp16 engine, FSDP's parameter policy, which run the module with parameters in that dtype) scores
    with the parameters cast instead, no autocast."""
    from mnpo_bench.policy.load import load_policy

    model, tokenizer = load_policy(policy_path, device=device, dtype="float32")
    encoded = [encode_pair(tokenizer, r.prompt, r.chosen, r.rejected, max_length) for r in pairs.itertuples()]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if dtype and cast_weights:  # the parameters only: DeepSpeed and FSDP2 leave buffers (rotary frequencies) in fp32
        for param in model.parameters():
            param.data = param.data.to(dtype)
    autocast = torch.autocast(model.device.type, dtype=dtype) if dtype and not cast_weights else nullcontext()
    with autocast:
        scores = precompute_logps(model, tokenizer, encoded, batch_size, model.device, tiles)
    del model
    return scores


def add_logps(
    pairs: pd.DataFrame,
    reference: str,
    opponents: list[str],
    *,
    max_length: int,
    batch_size: int = 32,
    device: str = "auto",
    precision: str = "no",
    cast_weights: bool = False,
    tiles: LogProbTiles | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """`pairs` with the reference's and each opponent's log-probs added (columns in the module docstring).
    A policy that appears several times (the reference as an opponent at t = 1) is scored once."""
    progress = progress or Progress(quiet=True)
    cache: dict[str, dict[str, list]] = {}
    for path in progress.track(list(dict.fromkeys([reference, *opponents])), "score pairs (ref + opponents)"):
        cache[path] = score_pairs(path, pairs, max_length=max_length, batch_size=batch_size, device=device,
                                  precision=precision, tiles=tiles, cast_weights=cast_weights)
    out = pairs.reset_index(drop=True).copy()
    ref = cache[reference]
    out["ref_chosen_logp"], out["ref_rejected_logp"] = ref["chosen_logp"], ref["rejected_logp"]
    out["chosen_tokens"], out["rejected_tokens"] = ref["chosen_tokens"], ref["rejected_tokens"]
    out["opp_chosen_logp"] = [[cache[o]["chosen_logp"][i] for o in opponents] for i in range(len(out))]
    out["opp_rejected_logp"] = [[cache[o]["rejected_logp"][i] for o in opponents] for i in range(len(out))]
    return out
