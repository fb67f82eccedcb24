"""First render of every dashboard page on a run with 1,000,000 battles, against an uncached pandas baseline.

    python benchmarks/dashboard.py [--battles 1000000] [--keep DIR]

Builds a fixture run (8 policies, 3 personas, the real leaderboard with 20 bootstrap rounds), then for each
page opens a fresh Streamlit session with every cache cleared (st.cache_data.clear()) and times its first
script run through streamlit's AppTest (server side: reads, DuckDB queries, figure building, serialisation;
the browser's drawing is not included), and then a second, cached run.

Baseline, in the same process on the same file: "uncached pandas", the way a page is usually first written:
pandas.read_parquet of the whole battles table, then pandas groupbys for the same aggregates the Tournament
page (pairwise win rates and counts) and the Annotators page (biases, per-persona ranks, agreement) show.
Two ratios: the dashboard's DuckDB aggregates alone over the baseline (like for like), and the whole page's
first render (aggregates + figures + Streamlit) over the baseline's aggregates alone.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PAGES = ("runs", "leaderboard", "tournament", "annotators", "training", "explorer", "compare")
EXTRA_MODELS = ("sft", "inpo/iter1", "inpo/iter2", "simpo/iter1")


def first_render(page: str, run: str) -> tuple[float, float]:
    """Seconds of the first (all caches cleared) and second (cached) run of `page` for `run`."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["run"] = run
    at.session_state["run_b"] = run
    at.switch_page(f"mnpo_bench/dashboard/pages/{page}.py")
    began = time.perf_counter()
    at.run()
    cold = time.perf_counter() - began
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and page.title() in at.title[0].value, (page, [t.value for t in at.title])
    began = time.perf_counter()
    at.run()
    return cold, time.perf_counter() - began


def pandas_tournament(path: Path) -> float:
    """Seconds for the Tournament page's battle aggregates the uncached pandas way."""
    began = time.perf_counter()
    b = pd.read_parquet(path)
    hard = b["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5})
    b["score_a"] = b["prob_a"].fillna(hard)
    g = b.groupby(["model_a", "model_b"])["score_a"].agg(["sum", "count"]).reset_index()
    back = g.rename(columns={"model_a": "model_b", "model_b": "model_a"}).assign(sum=lambda d: d["count"] - d["sum"])
    both = pd.concat([g, back]).groupby(["model_a", "model_b"]).sum()
    (both["sum"] / both["count"]).unstack()
    both["count"].unstack()
    return time.perf_counter() - began


def pandas_annotators(path: Path) -> float:
    """Seconds for the Annotators page's battle aggregates the uncached pandas way."""
    began = time.perf_counter()
    b = pd.read_parquet(path)
    hard = b["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5})
    b["score_a"] = b["prob_a"].fillna(hard)
    b["first"] = np.where(b["order"] == "ab", b["score_a"], 1 - b["score_a"])
    b["longer"] = np.where(b["len_a"] > b["len_b"], b["score_a"], np.where(b["len_a"] < b["len_b"], 1 - b["score_a"], np.nan))
    b.groupby("annotator")[["first", "longer"]].mean()
    g = b.groupby(["annotator", "model_a", "model_b"])["score_a"].agg(["sum", "count"]).reset_index()
    g.groupby("annotator").size()
    wide = b.pivot_table(index=["prompt_id", "model_a", "model_b", "order"], columns="annotator", values="winner",
                         aggfunc="first")
    personas = list(wide.columns)
    {(x, y): (wide[x] == wide[y]).mean() for x in personas for y in personas}
    return time.perf_counter() - began


def duckdb_aggregates(path: Path) -> dict[str, float]:
    """Seconds for the same aggregates through the dashboard's own DuckDB functions, caches cleared."""
    import streamlit as st

    from mnpo_bench.dashboard import votes

    st.cache_data.clear()
    began = time.perf_counter()
    pairs = votes.pairs(path)
    votes.win_matrix(pairs), votes.count_matrix(pairs)
    tournament = time.perf_counter() - began
    began = time.perf_counter()
    votes.bias(path), votes.rank_spread(votes.persona_ranks(path)), votes.agreement(path)
    return {"tournament": round(tournament, 3), "annotators": round(time.perf_counter() - began, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build the run here and keep it")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mnpo_bench.dashboard import fixture

    root = args.keep or Path(tempfile.mkdtemp(prefix="mnpo_dashboard_bench_"))
    run_dir = root / "runs" / "million"
    began = time.perf_counter()
    if not (run_dir / "leaderboard" / "ratings.csv").exists():
        fixture.build_run(root / "runs", "million", n_battles=args.battles, models=fixture.MODELS + EXTRA_MODELS)
    build_s = time.perf_counter() - began
    os.environ["MNPO_BENCH_RUNS_DIR"] = str(root / "runs")
    os.environ["MNPO_BENCH_LEADERBOARDS_DIR"] = str(root / "leaderboards")
    import mnpo_bench.dashboard.pages.compare  # noqa: F401  warm the imports the server has done before any session
    import plotly.express  # noqa: F401

    began = time.perf_counter()
    first_render("runs", "million")  # a throw-away session: the server process's own start-up, not a page's render
    warmup_s = time.perf_counter() - began
    cold, warm = {}, {}
    for page in PAGES:
        cold[page], warm[page] = (round(x, 3) for x in first_render(page, "million"))
        print(f"{page:<12} first render {cold[page]:.2f} s, cached {warm[page]:.2f} s", flush=True)
    battles = run_dir / "battles.parquet"
    baseline = {"tournament": round(pandas_tournament(battles), 3), "annotators": round(pandas_annotators(battles), 3)}
    ours = duckdb_aggregates(battles)
    print(f"battle aggregates: DuckDB {ours}, baseline (uncached pandas) {baseline}", flush=True)
    result = {
        "benchmark": "dashboard first render", "battles": int(pd.read_parquet(battles, columns=["winner"]).shape[0]),
        "first_render_s": cold, "cached_render_s": warm, "max_first_render_s": max(cold.values()), "target_s": 3.0,
        "baseline": "pandas.read_parquet(all columns) + pandas groupby, uncached, battle aggregates only",
        "baseline_s": baseline,
        "aggregates_s": ours, "ratio_aggregates_vs_baseline": {p: round(ours[p] / baseline[p], 3) for p in baseline},
        "ratio_first_render_vs_baseline": {p: round(cold[p] / baseline[p], 3) for p in baseline},
        "process_warmup_s": round(warmup_s, 3), "fixture_build_s": round(build_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
