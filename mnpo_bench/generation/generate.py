"""`generate()`: K sampled responses per prompt from one policy, as a generations table."""

from __future__ import annotations

import pandas as pd

from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.generation.base import COLUMNS, Backend, response_id
from mnpo_bench.policy.chat import render_prompt
from mnpo_bench.errors import UserError
from mnpo_bench.progress import Progress
from mnpo_bench.registry import Registry
from mnpo_bench.store import Parts, safe_name

# name -> open(policy_path, GenerationConfig, *, seed, device) -> (Backend, tokenizer); imported on first use
GENERATION_BACKENDS: Registry = Registry("generation backend")
GENERATION_BACKENDS.add("hf", "mnpo_bench.generation.hf:open_backend")
GENERATION_BACKENDS.add("vllm", "mnpo_bench.generation.vllm:open_backend")
CHUNK = 64  # prompts per resumable chunk


def make_backend(policy_path: str, config: GenerationConfig, *, seed: int, device: str = "auto",
                 mixture: tuple[str, float] | None = None) -> tuple[Backend, object]:
    """(backend, tokenizer) for `config.backend` on the policy at `policy_path` (GENERATION_BACKENDS); with
    `mixture` = (reference path, m), the hf backend samples the geometric mixture π^{1−m}·π_ref^{m} (see
    generation/mixture.py)."""
    opener = GENERATION_BACKENDS.get(config.backend, where="generation.backend")
    if mixture is None:
        return opener(policy_path, config, seed=seed, device=device)
    if config.backend != "hf":
        raise UserError("sampling from a policy/reference mixture needs the hf backend", where="generation.backend",
                        fix="set generation.backend to hf for nash_md")
    return opener(policy_path, config, seed=seed, device=device, mixture=mixture)


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

        frames.append(parts.compute(f"{safe_name(policy_name)}-{start:06d}", run_chunk) if parts else run_chunk())
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
