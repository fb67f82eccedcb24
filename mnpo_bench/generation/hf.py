"""The `hf` backend: batched, KV-cached sampling with transformers, seeded per sequence.

Two decoding paths, the same distribution:
- `prune_finished=True` (default): our loop, which drops a row from the batch and its KV cache as soon as it
  emits end-of-turn. transformers' `generate` keeps decoding finished rows until the longest one ends; with
  short answers of very different lengths (the embedded default: ~10 tokens on average, 48 at most) that is
  most of the work. transformers' own continuous batching (`generate_batch`) also drops finished requests,
  but its paged-attention set-up made the same job ~20x slower on CPU, so it does not fit here.
- `prune_finished=False`: `model.generate`, for architectures whose cache cannot drop rows.

A response ends on any of `policy.chat.stop_token_ids`: the template's end-of-turn token and every end
token of the checkpoint's generation config (Llama 3 lists `<|end_of_text|>` and `<|eot_id|>`), not only
the tokenizer's EOS. The prefill asks for the logits of the last position only (`logits_to_keep=1`): the
full (R, P, V) block would be 16 GB for 128 prompts of 240 tokens at vocabulary 128k.

Random numbers (pruned path): every sequence, (prompt, answer index), has its own generator, seeded by the call's
seed and its place, and draws one Exp(1) vector per token it samples; the token is argmax(p / q), the exponential
race (the Gumbel-max trick), an exact draw from p. vLLM's sampler does the same for seeded requests. A batch-wide
generator (torch.multinomial on the batch) would hand a row different numbers whenever another row ended at
another step, so an answer would depend on its batch-mates and on batch_size. With one generator per sequence:
- an answer depends only on its policy, its prompt, the seed and its place, whatever else is in the batch;
- two policies sampled with the same seed (train/tournament common_random_numbers) share their random numbers
  token by token, so where their next-token distributions agree they pick the same token (the exponential race
  couples p and q with P(same token) >= (1 - TV) / (1 + TV)), and close policies give mostly the same answers:
  the paired design the CRN options promise. `model.generate` (prune_finished=False) keeps transformers' global
  stream and has neither property.
"""

from __future__ import annotations

from typing import Any

import torch

from mnpo_bench.generation.base import Completion
from mnpo_bench.policy.chat import stop_token_ids
from mnpo_bench.seeds import stream_seed


class HFBackend:
    """Samples from a causal LM on left-padded batches of rendered prompts."""

    def __init__(self, model: Any, tokenizer: Any, *, max_new_tokens: int, temperature: float, top_p: float,
                 batch_size: int, prune_finished: bool = True):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size
        self.prune_finished = prune_finished
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))

    @torch.inference_mode()
    def complete(self, prompts: list[str], n: int, seed: int) -> list[list[Completion]]:
        """`n` completions per prompt; prompts are batched so one call holds batch_size sequences."""
        per_call = max(1, self.batch_size // n)
        results: list[list[Completion]] = []
        for start in range(0, len(prompts), per_call):
            chunk = prompts[start: start + per_call]
            if self.prune_finished:
                token_lists = self._decode_pruned(chunk, n, seed, first_prompt=start)
            else:
                token_lists = self._decode_generate(chunk, n, seed + start)
            completions = [self._completion(ids) for ids in token_lists]
            results.extend(completions[i * n: (i + 1) * n] for i in range(len(chunk)))
        return results

    def _encode(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)

    def _decode_generate(self, prompts: list[str], n: int, seed: int) -> list[list[int]]:
        """New token ids per sequence (prompt-major, n per prompt) from `model.generate`."""
        torch.manual_seed(seed)
        batch = self._encode(prompts)
        sampling = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p} \
            if self.temperature > 0 else {"do_sample": False}
        output = self.model.generate(
            **batch, max_new_tokens=self.max_new_tokens, num_return_sequences=n, use_cache=True,
            eos_token_id=self.stop_ids, pad_token_id=self.tokenizer.pad_token_id, **sampling,
        )  # (len(prompts) * n, prompt_width + new)
        return output[:, batch["input_ids"].shape[1]:].tolist()

    def _decode_pruned(self, prompts: list[str], n: int, seed: int, first_prompt: int = 0) -> list[list[int]]:
        """New token ids per sequence (prompt-major, n per prompt), each ending at its end-of-turn token;
        finished rows leave the batch and the KV cache. Sequence (i, j), answer j of prompts[i], samples from its
        own generator, seeded by (seed, first_prompt + i, j) (module docstring)."""
        from transformers import DynamicCache

        generators = [torch.Generator(device=self.model.device).manual_seed(stream_seed(seed, first_prompt + i, j))
                      for i in range(len(prompts)) for j in range(n)]  # (R,)
        stops = torch.tensor(self.stop_ids, device=self.model.device)  # (S,)
        batch = self._encode(prompts)
        input_ids = batch["input_ids"].repeat_interleave(n, dim=0)  # (R, P), R = len(prompts) * n
        mask = batch["attention_mask"].repeat_interleave(n, dim=0)  # (R, P), 0 on left padding
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (R, P): real tokens at 0..len-1
        cache = self.model.new_cache() if hasattr(self.model, "new_cache") else DynamicCache()  # mixture: two caches
        logits = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                            cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1, :]  # (R, V)
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)  # (A,) rows still decoding
        next_position = positions[:, -1] + 1  # (A,)
        out: list[list[int]] = [[] for _ in range(input_ids.shape[0])]
        for step in range(self.max_new_tokens):
            active = rows.tolist()
            tokens = self._sample(logits, [generators[row] for row in active])  # (A,)
            for row, token in zip(active, tokens.tolist()):
                out[row].append(token)
            keep = ~torch.isin(tokens, stops)  # (A,)
            if step == self.max_new_tokens - 1 or not bool(keep.any()):
                break
            if not bool(keep.all()):
                kept = keep.nonzero().squeeze(1)
                cache.batch_select_indices(kept)
                rows, mask, next_position, tokens = rows[kept], mask[kept], next_position[kept], tokens[kept]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)  # (A, P + step + 1)
            logits = self.model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_position[:, None],
                                cache=cache, use_cache=True).logits[:, -1, :]
            next_position = next_position + 1
        return out

    def _sample(self, logits: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        """One token per row of `logits` (A, V), row a drawing its numbers from generators[a]: greedy at
        temperature 0, else temperature + nucleus sampling by the exponential race (module docstring)."""
        if self.temperature == 0:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            outside = sorted_probs.cumsum(-1) - sorted_probs > self.top_p  # keep the smallest set reaching top_p
            sorted_probs = sorted_probs.masked_fill(outside, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        return exponential_race(probs, generators)

    def _completion(self, ids: list[int]) -> Completion:
        """The response in `ids` (new token ids), cut before its first stop token ("stop"), else "length"."""
        end = next((k for k, token in enumerate(ids) if token in self.stop_ids), None)
        if end is not None:
            ids = ids[:end]
            reason = "stop"
        else:
            reason = "length"
        text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        return Completion(text=text, n_tokens=len(ids), finish_reason=reason)


def open_backend(policy_path: str, config: Any, *, seed: int, device: str = "auto",
                 mixture: tuple[str, float] | None = None) -> tuple[HFBackend, Any]:
    """The `hf` entry of GENERATION_BACKENDS: (backend, tokenizer) for the policy at `policy_path` under a
    GenerationConfig (seeds are per call, so `seed` is unused here); `mixture` = (reference path, m) samples
    the geometric mixture of the policy and the reference (generation/mixture.py)."""
    from mnpo_bench.policy.load import load_policy

    model, tokenizer = load_policy(policy_path, device=device)
    prune = config.prune_finished
    if mixture is not None:
        from mnpo_bench.generation.mixture import GeometricMixture

        reference, _ = load_policy(mixture[0], device=device)
        model, prune = GeometricMixture(model, reference, mixture[1]), True  # model.generate cannot mix
    backend = HFBackend(model, tokenizer, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                        top_p=config.top_p, batch_size=config.batch_size, prune_finished=prune)
    return backend, tokenizer


def exponential_race(probs: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    """One index per row of `probs` (A, V; rows need not sum to 1), distributed as the row normalised:
    argmax_v probs[a, v] / q[a, v] with q[a] ~ Exp(1)^V drawn from generators[a]. torch.multinomial takes one
    generator for the whole batch, so it cannot give each row its own stream; hence this."""
    noise = torch.stack([torch.empty(probs.shape[-1], device=probs.device).exponential_(generator=g)
                         for g in generators])  # (A, V)
    return (probs / noise).argmax(dim=-1)
