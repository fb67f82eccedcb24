"""Sequence log-probabilities: the ONE code path used to precompute reference/opponent log-probs and to
train the policy, so both see identical tokens (chat template, truncation, prompt masked out).

A preference pair is encoded with `mnpo_bench.policy.chat.encode_dialogue` for each response; a batch of
B pairs becomes one right-padded tensor of 2B sequences (chosen rows first, then rejected), so chosen and
rejected go through the model in a single forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mnpo_bench.policy.chat import encode_dialogue
from mnpo_bench.train.chunked import LogProbTiles, gathered, head_of, token_logps


@dataclass
class EncodedPair:
    """Token ids of one pair: each response with its prompt, and how many leading tokens are prompt."""

    chosen_ids: list[int]
    chosen_prompt: int
    rejected_ids: list[int]
    rejected_prompt: int


def encode_pair(tokenizer: Any, prompt: Any, chosen: str, rejected: str, max_length: int) -> EncodedPair:
    """Both responses of a pair encoded with the chat template, truncated to `max_length` tokens."""
    c_ids, c_prompt = encode_dialogue(tokenizer, prompt, chosen, max_length)
    r_ids, r_prompt = encode_dialogue(tokenizer, prompt, rejected, max_length)
    return EncodedPair(c_ids, c_prompt, r_ids, r_prompt)


def collate_sequences(pairs: list[EncodedPair], pad_id: int) -> dict[str, Tensor]:
    """Right-padded tensors for 2B sequences (chosen of every pair, then rejected of every pair).

    Returns input_ids (2B, T), attention_mask (2B, T) and response_mask (2B, T), the last being 1 on tokens
    whose log-prob is scored (response tokens, not prompt, not padding).
    """
    seqs = [(p.chosen_ids, p.chosen_prompt) for p in pairs] + [(p.rejected_ids, p.rejected_prompt) for p in pairs]
    width = max(len(ids) for ids, _ in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)  # (2B, T)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)  # (2B, T)
    response = torch.zeros((len(seqs), width), dtype=torch.bool)  # (2B, T)
    for row, (ids, n_prompt) in enumerate(seqs):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[row, : len(ids)] = 1
        response[row, n_prompt: len(ids)] = True
    return {"input_ids": input_ids, "attention_mask": attention, "response_mask": response}


def sequence_logps(
    model: Any, input_ids: Tensor, attention_mask: Tensor, response_mask: Tensor, *,
    tiles: LogProbTiles | None = None,
) -> tuple[Tensor, Tensor]:
    """(log-probs (N,), response lengths (N,)): the summed log-probability in nats of each sequence's
    response tokens under `model`, and how many tokens were summed. Shapes in: (N, T).

    The model (plain, or wrapped by DDP/DeepSpeed/FSDP: it is called through its wrapper) returns its last
    hidden states with the logits of one position only (`logits_to_keep=1`); the output projection and the
    log-softmax then run on the M positions that predict a response token only, in tiles (`chunked.py`),
    so neither the (N, T, V) nor the (M, V) logits block is ever held.
    """
    tiles = tiles or LogProbTiles()
    targets = input_ids[:, 1:]  # (N, T-1): token t+1 is predicted at position t
    scored = response_mask[:, 1:]  # (N, T-1)
    head = head_of(model)
    if head is None:  # no plain linear head: the model's own logits (memory grows with N x T x V)
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits  # (N, T, V)
        token_logps_ = torch.log_softmax(logits[:, :-1][scored].float(), -1).gather(
            -1, targets[scored][:, None])[:, 0]  # (M,)
    else:
        out = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, output_hidden_states=True,
                    logits_to_keep=1)
        hidden = out.hidden_states[-1][:, :-1][scored]  # (M, H): the final (normed) hidden states
        weight, bias, softcap, scale = head
        with gathered(weight, bias):
            # the head in the body's dtype: FSDP2's bf16 parameter policy hands back bf16 hidden states while
            # the head's weight read here is the fp32 original (a no-op in fp32 and under autocast)
            token_logps_ = token_logps(hidden.to(weight.device), weight.to(hidden.dtype),
                                       None if bias is None else bias.to(hidden.dtype), targets[scored], tiles,
                                       softcap=softcap, logit_scale=scale)  # (M,)
    rows = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None].expand_as(scored)[scored]  # (M,)
    sums = torch.zeros(input_ids.shape[0], dtype=token_logps_.dtype, device=input_ids.device)
    sums = sums.index_add(0, rows, token_logps_)  # (N,)
    return sums, scored.sum(dim=1)


@torch.no_grad()
def precompute_logps(
    model: Any, tokenizer: Any, pairs: list[EncodedPair], batch_size: int, device: torch.device | str,
    tiles: LogProbTiles | None = None,
) -> dict[str, list[float] | list[int]]:
    """Summed response log-probs (nats) of every pair under a frozen `model`, in input order:
    {"chosen_logp", "rejected_logp", "chosen_tokens", "rejected_tokens"}, one entry per pair."""
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: -max(len(pairs[i].chosen_ids), len(pairs[i].rejected_ids)))
    out = {k: [0.0] * len(pairs) for k in ("chosen_logp", "rejected_logp")}
    out.update({k: [0] * len(pairs) for k in ("chosen_tokens", "rejected_tokens")})
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        batch = {k: v.to(device) for k, v in collate_sequences([pairs[i] for i in idx], tokenizer.pad_token_id).items()}
        logps, lengths = sequence_logps(model, **batch, tiles=tiles)  # (2b,)
        b = len(idx)
        for j, i in enumerate(idx):
            out["chosen_logp"][i] = float(logps[j])
            out["rejected_logp"][i] = float(logps[b + j])
            out["chosen_tokens"][i] = int(lengths[j])
            out["rejected_tokens"][i] = int(lengths[b + j])
    return out
