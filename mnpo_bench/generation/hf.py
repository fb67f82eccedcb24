"""The `hf` backend: batched, KV-cached sampling with transformers' `generate`, seeded per batch."""

from __future__ import annotations

from typing import Any

import torch

from mnpo_bench.generation.base import Completion


class HFBackend:
    """Samples with `model.generate` on left-padded batches of rendered prompts."""

    def __init__(self, model: Any, tokenizer: Any, *, max_new_tokens: int, temperature: float, top_p: float,
                 batch_size: int):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size

    @torch.inference_mode()
    def complete(self, prompts: list[str], n: int, seed: int) -> list[list[Completion]]:
        """`n` completions per prompt; prompts are batched so one generate call holds batch_size sequences."""
        per_call = max(1, self.batch_size // n)
        results: list[list[Completion]] = []
        for start in range(0, len(prompts), per_call):
            chunk = prompts[start: start + per_call]
            torch.manual_seed(seed + start)
            results.extend(self._generate(chunk, n))
        return results

    def _generate(self, prompts: list[str], n: int) -> list[list[Completion]]:
        tok = self.tokenizer
        batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
        sampling = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p} \
            if self.temperature > 0 else {"do_sample": False}
        output = self.model.generate(
            **batch, max_new_tokens=self.max_new_tokens, num_return_sequences=n,
            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, use_cache=True, **sampling,
        )  # (len(prompts) * n, prompt_width + new)
        new_tokens = output[:, batch["input_ids"].shape[1]:].tolist()
        completions = [self._completion(ids) for ids in new_tokens]
        return [completions[i * n: (i + 1) * n] for i in range(len(prompts))]

    def _completion(self, ids: list[int]) -> Completion:
        eos = self.tokenizer.eos_token_id
        if eos in ids:
            ids = ids[: ids.index(eos)]
            reason = "stop"
        else:
            reason = "length"
        text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        return Completion(text=text, n_tokens=len(ids), finish_reason=reason)
