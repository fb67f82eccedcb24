"""Sampling from the geometric mixture of two causal LMs (Nash-MD's π^μ ∝ π^{1−m}·π_ref^{m}, token by token).

`GeometricMixture` looks like a causal LM to `HFBackend`'s pruned decoder: one forward pass returns the
next-token logits (1 − m)·log_softmax(policy) + m·log_softmax(reference), whose softmax is the normalised
per-token geometric mixture (TRL's GeometricMixtureWrapper samples the same distribution). Both models keep
their own KV cache inside one `MixtureCache`, so finished rows leave both caches together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


class MixtureCache:
    """The policy's and the reference's DynamicCache, pruned together."""

    def __init__(self) -> None:
        from transformers import DynamicCache

        self.policy, self.reference = DynamicCache(), DynamicCache()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep only the rows `indices` (A,) in both caches."""
        self.policy.batch_select_indices(indices)
        self.reference.batch_select_indices(indices)


@dataclass
class _Output:
    logits: torch.Tensor  # (R, T, V)


class GeometricMixture:
    """A causal-LM stand-in whose next-token distribution is π^{1−m}·π_ref^{m}, renormalised; m = `mixture`."""

    def __init__(self, policy: Any, reference: Any, mixture: float):
        if not 0.0 <= mixture <= 1.0:
            raise ValueError(f"mixture weight must lie in [0, 1], got {mixture}")
        self.policy, self.reference, self.mixture = policy, reference, mixture

    @property
    def device(self) -> torch.device:
        return self.policy.device

    @staticmethod
    def new_cache() -> MixtureCache:
        """The cache the pruned decoder threads through every call."""
        return MixtureCache()

    def __call__(self, *, cache: MixtureCache | None = None, past_key_values: MixtureCache | None = None,
                 **inputs: Any) -> _Output:
        """Mixed log-probabilities (R, T, V) as `logits` for `inputs` (input_ids, attention_mask, position_ids,
        logits_to_keep, ...); `cache` (or `past_key_values`, the older keyword) is a MixtureCache."""
        both = cache if cache is not None else past_key_values
        policy = self.policy(cache=both.policy, **inputs).logits.float()  # (R, T, V)
        reference = self.reference(cache=both.reference, **inputs).logits.float()
        m = self.mixture
        return _Output((1.0 - m) * policy.log_softmax(-1) + m * reference.log_softmax(-1))
