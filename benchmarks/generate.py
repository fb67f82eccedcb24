"""Throughput of the `hf` generation backend against two baselines measured in the same run.

- ratio_vs_raw_generate: tokens/s of `generate()` (our backend: rendering, batching, decoding that drops
  finished rows, flags, table) over a bare batched `model.generate` on the same rendered prompts, batches
  and sampling settings. Target >= 0.9 (our overhead is small; dropping finished rows makes it > 1).
- ratio_vs_per_prompt: tokens/s of `generate()` over a loop that calls `model.generate` once per prompt
  (K samples each). Target >= 4 (batching pays).

Each variant runs `--repeats` times interleaved; medians are compared. Last line: one JSON object.
Usage: HF_HUB_OFFLINE=1 python benchmarks/generate.py [--prompts 64] [--samples 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from mnpo_bench.generation.config import GenerationConfig  # noqa: E402
from mnpo_bench.policy.config import TinyModelConfig  # noqa: E402
from mnpo_bench.prompts.config import PromptsConfig  # noqa: E402
from mnpo_bench.generation import generate  # noqa: E402
from mnpo_bench.policy.chat import render_prompt  # noqa: E402
from mnpo_bench.policy.load import load_policy  # noqa: E402
from mnpo_bench.policy.tiny import build_tiny  # noqa: E402
from mnpo_bench.prompts.load import load_prompts  # noqa: E402


def ours(path, prompts, config, seed) -> tuple[float, int]:
    start = time.perf_counter()
    table = generate(path, prompts, config, policy_name="bench", seed=seed)
    return time.perf_counter() - start, int(table["n_tokens"].sum())


def _new_tokens(output, width: int, eos: int) -> int:
    count = 0
    for row in output[:, width:].tolist():
        count += row.index(eos) if eos in row else len(row)
    return count


def raw_batched(path, prompts, config, seed) -> tuple[float, int]:
    """Bare model.generate on the same batches as the backend (load included, as in ours)."""
    start = time.perf_counter()
    model, tok = load_policy(path)
    texts = [render_prompt(tok, p) for p in prompts["prompt"]]
    per_call = max(1, config.batch_size // config.n_samples)
    tokens = 0
    with torch.inference_mode():
        for first in range(0, len(texts), per_call):
            torch.manual_seed(seed * 100_003 + first)
            batch = tok(texts[first: first + per_call], return_tensors="pt", padding=True, add_special_tokens=False)
            out = model.generate(**batch, max_new_tokens=config.max_new_tokens, num_return_sequences=config.n_samples,
                                 do_sample=True, temperature=config.temperature, top_p=config.top_p,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            tokens += _new_tokens(out, batch["input_ids"].shape[1], tok.eos_token_id)
    return time.perf_counter() - start, tokens


def per_prompt(path, prompts, config, seed) -> tuple[float, int]:
    """One model.generate call per prompt (K samples each)."""
    start = time.perf_counter()
    model, tok = load_policy(path)
    tokens = 0
    with torch.inference_mode():
        for i, prompt in enumerate(prompts["prompt"]):
            torch.manual_seed(seed + i)
            batch = tok([render_prompt(tok, prompt)], return_tensors="pt", add_special_tokens=False)
            out = model.generate(**batch, max_new_tokens=config.max_new_tokens, num_return_sequences=config.n_samples,
                                 do_sample=True, temperature=config.temperature, top_p=config.top_p,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            tokens += _new_tokens(out, batch["input_ids"].shape[1], tok.eos_token_id)
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every variant (1: the pipeline's default for the tiny model)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = str(build_tiny(TinyModelConfig()))
    frame = load_prompts(PromptsConfig(n_train=args.prompts, n_eval=1), seed=0)
    prompts = frame[frame["split"] == "train"]
    config = GenerationConfig(n_samples=args.samples)
    rates: dict[str, list[float]] = {"ours": [], "raw": [], "per_prompt": []}
    for fn in (ours, raw_batched, per_prompt):  # warm-up: first calls pay for lazy initialisation
        fn(path, prompts.iloc[:4], config, seed=0)
    for repeat in range(args.repeats):
        for name, fn in (("ours", ours), ("raw", raw_batched), ("per_prompt", per_prompt)):
            seconds, tokens = fn(path, prompts, config, seed=repeat)
            rates[name].append(tokens / seconds)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(json.dumps({
        "benchmark": "generate", "prompts": len(prompts), "samples": args.samples,
        "max_new_tokens": config.max_new_tokens, "threads": torch.get_num_threads(),
        "tokens_per_s": {k: round(v, 1) for k, v in median.items()},
        "ratio_vs_raw_generate": round(median["ours"] / median["raw"], 3),
        "ratio_vs_per_prompt": round(median["ours"] / median["per_prompt"], 3),
    }))


if __name__ == "__main__":
    main()
