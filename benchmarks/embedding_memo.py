"""Benchmark of the minilm persona on a tournament-shaped workload (python benchmarks/embedding_memo.py [--quick]).

The tournament judges every answer many times: 10 policies x 4 answers on each eval prompt give 45 policy
pairs x 16 answer pairs x 2 orders, in chunks of panel.chunk_size (256) comparisons. The embedding backend
now keeps each text's vector for the process (`_memo` in panel/backends/embedding.py). Baseline, measured in
the same run: the same backend with the memo emptied before every chunk, which is what it did before
(encode the chunk's unique texts every time). Also reports the largest verdict difference between the two
(float32 rounding from different encoder batch padding). Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from mnpo_bench.panel.backends import Comparison  # noqa: E402
from mnpo_bench.panel.backends.embedding import EmbeddingBackend, _memo, load_encoder  # noqa: E402
from mnpo_bench.panel.personas import load_persona  # noqa: E402

CHUNK = 256


def workload(n_prompts: int, policies: int = 10, answers: int = 4) -> list[Comparison]:
    """Every cross-policy answer pair of every prompt, both orders, as the round-robin tournament builds them."""
    items = []
    for p in range(n_prompts):
        texts = {(k, a): f"Policy {k} answer {a} to prompt {p}: the result is {p * 7 + k + a} because {'so ' * (a + k)}."
                 for k in range(policies) for a in range(answers)}
        for k, m in itertools.combinations(range(policies), 2):
            for a, b in itertools.product(range(answers), repeat=2):
                first, second = texts[(k, a)], texts[(m, b)]
                items += [Comparison(f"Prompt {p}?", first, second, gold=str(p * 7)),
                          Comparison(f"Prompt {p}?", second, first, gold=str(p * 7))]
    return items


def judge_all(backend: EmbeddingBackend, items: list[Comparison], memo: bool) -> tuple[float, list[float]]:
    """(seconds, P(first wins) per item) judging `items` in chunks, the memo kept or emptied per chunk."""
    store = _memo(backend.params.model, backend.device)
    store.clear()
    started, probs = time.perf_counter(), []
    for start in range(0, len(items), CHUNK):
        if not memo:
            store.clear()
        probs += [v.prob_first for v in backend.judge(items[start:start + CHUNK])]
    return time.perf_counter() - started, probs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 prompts instead of 12")
    args = parser.parse_args()
    items = workload(4 if args.quick else 12)
    backend = EmbeddingBackend(load_persona("minilm"), device="cpu")
    load_encoder("minilm", "cpu")  # model load outside the timings
    base_s, base = judge_all(backend, items, memo=False)
    memo_s, fast = judge_all(backend, items, memo=True)
    diff = max(abs(a - b) for a, b in zip(base, fast))
    print(json.dumps({"benchmark": "embedding_memo", "comparisons": len(items), "baseline": "memo emptied per chunk",
                      "baseline_s": round(base_s, 2), "memo_s": round(memo_s, 2), "speedup": round(base_s / memo_s, 2),
                      "max_prob_diff": diff}))


if __name__ == "__main__":
    main()
