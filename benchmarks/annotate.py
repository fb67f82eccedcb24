"""Benchmark of the panel's judging path (python benchmarks/annotate.py [--quick]).

1. The `openai` backend against the local OpenAI-compatible server (mnpo_bench.panel.local_server) that
   waits 50 ms per request: comparisons per second at concurrency 32 over the named baseline, the same
   backend with concurrency 1 (sequential calls), both measured in this run, through the full judge path
   (cache disabled for both, so every comparison is a request); two alternating rounds, best of each.
2. A re-run of the concurrent judging with the persistent cache: the number of requests the server sees
   (target 0) and whether the labels are identical.
3. The default panel (8 local personas incl. MiniLM) annotating 48 prompts x 4 samples (6 pairs, both
   orders): seconds cold (empty cache, model load included) and warm (all from cache).

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from mnpo_bench.panel.annotate import annotate, build_pairs  # noqa: E402
from mnpo_bench.panel.config import PanelConfig  # noqa: E402
from mnpo_bench.panel.judge import run_panel  # noqa: E402
from mnpo_bench.panel.local_server import LocalJudgeServer  # noqa: E402
from mnpo_bench.panel.personas import Panel, load_persona  # noqa: E402
from mnpo_bench.panel.probe import probe_tables  # noqa: E402
from mnpo_bench.progress import Progress  # noqa: E402

LATENCY_S = 0.05
ROUNDS = 2
PERSONA = """name: bench-judge
include: gpt-4o-mini
description: the gpt-4o-mini persona pointed at the local server
version: 1
params: {model: local, base_url: "%s", api_key_env: null, timeout_s: 30, concurrency: %d}
"""


def judge_rate(server: LocalJudgeServer, pairs, concurrency: int, cache_dir: str | None, folder: Path):
    """(comparisons per second, judgments frame, server requests made) for one judging pass."""
    path = folder / f"bench-judge-{concurrency}.yaml"
    path.write_text(PERSONA % (server.url, concurrency))
    persona = load_persona(path)
    panel = Panel("bench", "mean", ((persona, 1.0),), weights={persona.name: 1.0})
    cfg = PanelConfig(cache=cache_dir is not None, cache_dir=cache_dir, chunk_size=1024)
    before = server.stats()["requests"]
    started = time.perf_counter()
    judgments, _ = run_panel(pairs, panel, cfg, seed=0, progress=Progress(quiet=True))
    seconds = time.perf_counter() - started
    return len(judgments) / seconds, judgments, server.stats()["requests"] - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer comparisons (noisier)")
    args = parser.parse_args()
    n_seq_prompts, n_prompts = (4, 24) if args.quick else (8, 48)
    folder = Path(tempfile.mkdtemp(prefix="mnpo-bench-annotate-"))
    prompts, generations = probe_tables(n_prompts, 4, seed=0)
    pairs = build_pairs(prompts, generations)
    seq_pairs = pairs[pairs["prompt_id"].isin(prompts["prompt_id"].head(n_seq_prompts))]
    with LocalJudgeServer(latency_s=LATENCY_S) as server:
        judge_rate(server, seq_pairs.head(4), 4, None, folder)  # warm-up: imports, first connection
        rounds = [(judge_rate(server, seq_pairs, 1, None, folder)[0], judge_rate(server, pairs, 32, None, folder)[0])
                  for _ in range(ROUNDS)]  # alternated; the best of each (load from other processes only slows)
        sequential, concurrent = max(r[0] for r in rounds), max(r[1] for r in rounds)
        cache = str(folder / "cache")
        _, first, first_calls = judge_rate(server, pairs, 32, cache, folder)
        _, again, rerun_calls = judge_rate(server, pairs, 32, cache, folder)
    same_labels = first[["prob_a", "label"]].equals(again[["prob_a", "label"]])

    cfg = PanelConfig(cache_dir=str(folder / "panel-cache"))
    started = time.perf_counter()
    judgments, prefs = annotate(prompts, generations, cfg, seed=0, progress=Progress(quiet=True))
    cold = time.perf_counter() - started
    started = time.perf_counter()
    annotate(prompts, generations, cfg, seed=0, progress=Progress(quiet=True))
    warm = time.perf_counter() - started

    result = {
        "speedup_at_concurrency_32": round(concurrent / sequential, 2),
        "calls_on_rerun": rerun_calls,
        "baseline": "same openai backend and judge path, concurrency 1 (sequential calls)",
        "server_latency_ms": LATENCY_S * 1000,
        "sequential_comparisons_per_s": round(sequential, 1),
        "concurrent_comparisons_per_s": round(concurrent, 1),
        "n_sequential": 2 * len(seq_pairs), "n_concurrent": 2 * len(pairs), "rounds_best_of": ROUNDS,
        "all_rounds_per_s": [[round(a, 1), round(b, 1)] for a, b in rounds],
        "calls_first_cached_pass": first_calls, "rerun_labels_identical": bool(same_labels),
        "default_panel_judgments": len(judgments), "default_panel_preferences": len(prefs),
        "default_panel_cold_s": round(cold, 2), "default_panel_warm_s": round(warm, 2),
        "cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
