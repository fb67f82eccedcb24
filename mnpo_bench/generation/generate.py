"""`generate()`: K sampled responses per prompt from one policy, as a generations table."""

from __future__ import annotations

import pandas as pd

from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.generation.base import COLUMNS, Backend, response_id
from mnpo_bench.policy.chat import render_prompt
from mnpo_bench.progress import Progress
from mnpo_bench.store import Parts

BACKENDS = ("hf", "vllm")
CHUNK = 64  # prompts per resumable chunk


def make_backend(policy_path: str, config: GenerationConfig, *, seed: int, device: str = "auto",
                 mixture: tuple[str, float] | None = None) -> tuple[Backend, object]:
    """(backend, tokenizer) for `config.backend` on the policy at `policy_path`; with `mixture` = (reference path,
    m), the hf backend samples the geometric mixture π^{1−m}·π_ref^{m} (see generation/mixture.py)."""
    from mnpo_bench.policy.load import load_policy

    if mixture is not None and config.backend != "hf":
        raise UserError("sampling from a policy/reference mixture needs the hf backend", where="generation.backend",
                        fix="set generation.backend to hf for nash_md")
    if config.backend == "hf":
        from mnpo_bench.generation.hf import HFBackend

        model, tokenizer = load_policy(policy_path, device=device)
        prune = config.prune_finished
        if mixture is not None:
            from mnpo_bench.generation.mixture import GeometricMixture

            reference, _ = load_policy(mixture[0], device=device)
            model, prune = GeometricMixture(model, reference, mixture[1]), True  # model.generate cannot mix
        backend = HFBackend(model, tokenizer, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            top_p=config.top_p, batch_size=config.batch_size, prune_finished=prune)
        return backend, tokenizer
    if config.backend == "vllm":
        from transformers import AutoTokenizer

        from mnpo_bench.generation.vllm import VLLMBackend
        from mnpo_bench.policy.chat import ensure_chat_template

        tokenizer = ensure_chat_template(AutoTokenizer.from_pretrained(policy_path))
        backend = VLLMBackend(policy_path, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                              top_p=config.top_p, gpu_memory_utilization=config.vllm_gpu_memory_utilization, seed=seed)
        return backend, tokenizer
    raise UserError(f"unknown generation backend '{config.backend}'", where="generation.backend",
                    fix=did_you_mean(config.backend, BACKENDS))


def generate(
    policy_path: str,
    prompts: pd.DataFrame,
    config: GenerationConfig,
    *,
    policy_name: str,
    seed: int,
    progress: Progress | None = None,
    n_samples: int | None = None,
    parts: Parts | None = None,
    device: str = "auto",
    mixture: tuple[str, float] | None = None,
) -> pd.DataFrame:
    """A generations table: `n_samples` (default config.n_samples) responses for each row of `prompts`
    (needs prompt_id and prompt) from the policy at `policy_path`, labelled `policy_name`.

    With `parts`, finished chunks of 64 prompts are kept, so an interrupted call resumes where it stopped.
    Each chunk is seeded from `seed` and its position, so the table depends only on the inputs.
    `mixture` = (reference path, m) samples the geometric mixture of the policy and that reference instead.
    """
    progress = progress or Progress(quiet=True)
    n = n_samples or config.n_samples
    backend, tokenizer = make_backend(policy_path, config, seed=seed, device=device, mixture=mixture)
    try:
        frames = _generate_chunks(backend, tokenizer, prompts, config, n, policy_name, seed, progress, parts)
    finally:
        if config.backend == "vllm" and not config.vllm_keep_engine:
            from mnpo_bench.generation.vllm import shutdown

            shutdown()  # free the GPU for the trainer or the next policy
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def _generate_chunks(backend: Backend, tokenizer, prompts: pd.DataFrame, config: GenerationConfig, n: int,
                     policy_name: str, seed: int, progress: Progress, parts: Parts | None) -> list[pd.DataFrame]:
    frames = []
    starts = range(0, len(prompts), CHUNK)
    for start in progress.track(starts, f"generate {policy_name}", total=len(starts)):
        chunk = prompts.iloc[start: start + CHUNK]

        def run_chunk(chunk=chunk, start=start) -> pd.DataFrame:
            texts = [render_prompt(tokenizer, p) for p in chunk["prompt"]]
            completions = backend.complete(texts, n, seed=seed * 100_003 + start)
            return _rows(policy_name, chunk["prompt_id"].tolist(), completions, config.max_new_tokens)

        frames.append(parts.compute(f"{policy_name.replace('/', '__')}-{start:06d}", run_chunk) if parts else run_chunk())
    return frames


def _rows(policy: str, prompt_ids: list[str], completions, max_new_tokens: int) -> pd.DataFrame:
    rows = []
    for prompt_id, samples in zip(prompt_ids, completions):
        for sample, c in enumerate(samples):
            rows.append({
                "policy": policy, "prompt_id": prompt_id, "sample": sample,
                "response_id": response_id(policy, prompt_id, sample), "text": c.text, "n_tokens": c.n_tokens,
                "finish_reason": c.finish_reason, "is_empty": not c.text.strip(),
                "is_truncated": c.finish_reason == "length" and c.n_tokens >= max_new_tokens,
            })
    return pd.DataFrame(rows, columns=COLUMNS)
