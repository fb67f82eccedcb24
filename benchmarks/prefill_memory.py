"""Peak memory of `hf` generation at vocabulary 128k: our prefill (`logits_to_keep=1`) against the full
(R, P, V) logits block it replaced, each in its own subprocess (peak RSS is per process).

- ours_128: `HFBackend.complete` on 128 prompts of ~240 tokens, Llama-3-style model (tests/real_models.py,
  vocab 128,256, hidden 32), 8 new tokens each. Target: peak RSS <= 2 GB.
- ours_16 / full_16: the same 16 prompts, our backend vs the baseline, a bare prefill that keeps every
  position's logits (what generation/hf.py did before); 16 prompts because the baseline at 128 would need
  ~16 GB on a shared machine. ratio_full_vs_ours_16 = baseline peak RSS / ours.
- full_logits_gb_128: the size of the block the baseline would build at 128 prompts (R x P x V x 4 bytes).

Last line: one JSON object. Usage: HF_HUB_OFFLINE=1 python benchmarks/prefill_memory.py [--prompts 128]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
PROMPT_CHARS = 195  # + the Llama 3 template's ~45 tokens = ~240 tokens (byte-level: one token per byte)


def prompts(n: int) -> list[str]:
    """`n` AlpacaEval-style prompts cut or padded to PROMPT_CHARS characters."""
    from mnpo_bench.prompts.config import PromptsConfig
    from mnpo_bench.prompts.load import load_prompts

    frame = load_prompts(PromptsConfig(n_train=n, n_eval=1), seed=0)
    texts = frame[frame.split == "train"]["prompt"].tolist()
    return [(t * (PROMPT_CHARS // max(1, len(t)) + 1))[:PROMPT_CHARS] for t in texts]


def child(model_path: str, n: int, mode: str) -> dict:
    """Runs in the subprocess: one generation (`ours`) or one full-logits prefill (`full`); peak RSS in GB."""
    import torch

    from mnpo_bench.generation.hf import HFBackend
    from mnpo_bench.policy.chat import render_prompt
    from mnpo_bench.policy.load import load_policy

    torch.set_num_threads(1)
    model, tokenizer = load_policy(model_path)
    texts = [render_prompt(tokenizer, p) for p in prompts(n)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    start = time.perf_counter()
    with torch.inference_mode():
        if mode == "ours":
            HFBackend(model, tokenizer, max_new_tokens=8, temperature=1.0, top_p=1.0, batch_size=n).complete(texts, 1, 0)
        else:  # the baseline: every position's logits from the prefill, then the last one used
            from transformers import DynamicCache

            batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
            model(**batch, position_ids=positions, cache=DynamicCache(), use_cache=True).logits[:, -1, :]
    width = len(tokenizer(texts[0], add_special_tokens=False)["input_ids"])
    return {"mode": mode, "prompts": n, "prompt_tokens": width, "seconds": round(time.perf_counter() - start, 3),
            "rss_before_gb": round(before, 3), "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}


def measure(model_path: str, n: int, mode: str) -> dict:
    """`child` in a fresh interpreter; its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, __file__, "--child", model_path, str(n), mode], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.child[2])))
        return
    sys.path.insert(0, str(ROOT))
    from tests.real_models import build_llama3_style

    with tempfile.TemporaryDirectory() as scratch:
        path = build_llama3_style(Path(scratch) / "llama3")
        ours = measure(path, args.prompts, "ours")
        ours_16, full_16 = measure(path, 16, "ours"), measure(path, 16, "full")
    print(json.dumps(ours), json.dumps(ours_16), json.dumps(full_16), sep="\n")
    full_gb = args.prompts * ours["prompt_tokens"] * 128_256 * 4 / 2**30
    print(json.dumps({"ours_128_peak_rss_gb": ours["peak_rss_gb"], "ours_128_seconds": ours["seconds"],
                      "ours_16_peak_rss_gb": ours_16["peak_rss_gb"], "full_16_peak_rss_gb": full_16["peak_rss_gb"],
                      "ratio_full_vs_ours_16": round(full_16["peak_rss_gb"] / ours_16["peak_rss_gb"], 2),
                      "full_logits_gb_128": round(full_gb, 2), "target_peak_rss_gb": 2.0}))


if __name__ == "__main__":
    main()
