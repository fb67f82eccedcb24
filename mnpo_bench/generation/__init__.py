"""Sampling responses from a policy: `generate()` over the `hf` or `vllm` backend."""

from mnpo_bench.generation.generate import generate

__all__ = ["generate"]
