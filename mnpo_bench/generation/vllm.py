"""The `vllm` backend: `vllm.LLM` with `SamplingParams`, for GPUs. vLLM is imported only when chosen."""

from __future__ import annotations

from mnpo_bench.errors import UserError
from mnpo_bench.generation.base import Completion


class VLLMBackend:
    """Samples with vLLM's offline engine; prompts arrive already rendered with the chat template."""

    def __init__(self, model_path: str, *, max_new_tokens: int, temperature: float, top_p: float,
                 gpu_memory_utilization: float, seed: int):
        try:
            import vllm
        except ImportError:
            raise UserError("vLLM is not installed", where="generation.backend=vllm",
                            fix="pip install 'mnpo-bench[gpu]' on a CUDA machine, or use backend hf") from None
        self._vllm = vllm
        self.llm = vllm.LLM(model=model_path, seed=seed, gpu_memory_utilization=gpu_memory_utilization)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p

    def complete(self, prompts: list[str], n: int, seed: int) -> list[list[Completion]]:
        """`n` completions per prompt from one vLLM call (vLLM schedules the batch itself)."""
        params = self._vllm.SamplingParams(
            n=n, temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_new_tokens, seed=seed,
        )
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [
            [Completion(text=c.text.strip(), n_tokens=len(c.token_ids),
                        finish_reason="length" if c.finish_reason == "length" else "stop") for c in out.outputs]
            for out in outputs
        ]
