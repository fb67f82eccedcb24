"""Speed of the whole leaderboard, and of our Bradley-Terry fit against Chatbot Arena's in the same run.

Data: 64 models with transitive strengths plus a cyclic part, 250,000 matchups (prompt, pair, order) each
judged by 4 annotators = 1,000,000 battles; two annotators give probabilities (prob_a), two only winners;
one has a length bias, one a position bias; 1% of judgments fail.

- seconds: `build_leaderboard` from the in-memory table to the written directory, 100 bootstrap rounds,
  every rating and diagnostic (BT + CIs, win rates, LC win rate, maximal lottery and Nash averaging + CIs,
  Copeland, cycles, Hodge, per-annotator ratings and stats, report). Target <= 5 on 2 cores.
- nash_gap_seconds, paired_seconds: the Nash gap table (every model, every annotator, 100 prompt-bootstrap
  rounds) and the paired comparisons (every pair, both metrics, 100 rounds, Holm), each also inside `seconds`.
  The bootstrap resamples prompts (500 of them), as the leaderboard does by default.
- ratio_vs_sklearn_bt: time of our BT fit (names to codes, aggregation to pair counts, Newton) over
  Chatbot Arena's `compute_mle_elo` (scikit-learn LogisticRegression on the battles duplicated, ties as one
  win each way; fastchat/serve/monitor/elo_analysis.py), on the same hard-winner battles; the two results
  must agree within 1 Elo point. Target <= 0.5.

Each timing is the median of --repeats runs. Last line: one JSON object.
Usage: python benchmarks/leaderboard.py [--models 64] [--battles 1000000] [--bootstrap 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time

import numpy as np
import pandas as pd
from scipy.special import expit

from mnpo_bench.ratings.battles import check_battles
from mnpo_bench.ratings.bradley_terry import fit_strengths, to_elo
from mnpo_bench.ratings.leaderboard import build_leaderboard
from mnpo_bench.ratings.nash_gap import nash_table
from mnpo_bench.ratings.paired import paired_table
from mnpo_bench.ratings.tally import Tally


def make_battles(n_models: int, n_battles: int, seed: int) -> pd.DataFrame:
    """Synthetic battles: P(i beats j) = sigmoid(s_i - s_j + C_ij + annotator biases), C antisymmetric."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(0, 1, n_models)
    cyc = rng.normal(0, 0.4, (n_models, n_models))
    cyc = cyc - cyc.T
    matchups = n_battles // 4
    a = rng.integers(0, n_models, matchups)
    b = (a + rng.integers(1, n_models, matchups)) % n_models
    order = rng.choice(np.array(["ab", "ba"]), matchups)
    prompt = rng.integers(0, 500, matchups)
    len_a, len_b = rng.lognormal(6, 0.5, matchups).round(), rng.lognormal(6, 0.5, matchups).round()
    frames = []
    for k, (length_bias, position_bias, soft) in enumerate([(0.0, 0.0, True), (1.0, 0.0, True), (0.0, 0.4, False), (0.0, 0.0, False)]):
        logit = skill[a] - skill[b] + cyc[a, b] + length_bias * np.tanh((len_a - len_b) / 300)
        logit += position_bias * np.where(order == "ab", 1, -1)
        prob = expit(logit + rng.normal(0, 0.3, matchups))
        draw = rng.random(matchups)
        winner = np.where(draw < prob - 0.05, "model_a", np.where(draw > prob + 0.05, "model_b", "tie")).astype(object)
        failed = rng.random(matchups) < 0.01
        winner[failed] = None
        frames.append(pd.DataFrame({
            "model_a": [f"m{i:02d}" for i in a], "model_b": [f"m{i:02d}" for i in b], "winner": winner,
            "prompt_id": prompt.astype(str), "annotator": f"persona_{k}", "order": order,
            "prob_a": np.where(failed | (not soft), np.nan, prob), "len_a": len_a, "len_b": len_b,
            "error": np.where(failed, "timeout", None)}))
    return pd.concat(frames, ignore_index=True)


def ours_bt(battles: pd.DataFrame) -> np.ndarray:
    """Elo (n,) from hard winners, our way: factorize names, aggregate to pair counts, batched Newton."""
    battles = battles[battles["winner"].notna()]
    codes, models = pd.factorize(pd.concat([battles["model_a"], battles["model_b"]], ignore_index=True), sort=True)
    n = len(battles)
    score = battles["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5}).to_numpy()
    W, N = Tally.from_codes(len(models), codes[:n], codes[n:], score).matrices()
    return to_elo(fit_strengths(W, N))[0]


def arena_bt(df: pd.DataFrame, SCALE=400, BASE=10, INIT_RATING=1000) -> np.ndarray:
    """Chatbot Arena's compute_mle_elo (its notebook and elo_analysis.py), verbatim but for the anchor."""
    from sklearn.linear_model import LogisticRegression

    df = df[df["winner"].notna()]
    models = pd.concat([df["model_a"], df["model_b"]]).unique()
    models = pd.Series(np.arange(len(models)), index=models)
    df = pd.concat([df, df], ignore_index=True)  # duplicate battles
    p, n = len(models.index), df.shape[0]
    X = np.zeros([n, p])
    X[np.arange(n), models[df["model_a"]]] = +math.log(BASE)
    X[np.arange(n), models[df["model_b"]]] = -math.log(BASE)
    Y = np.zeros(n)  # one A win => two A win
    Y[df["winner"] == "model_a"] = 1.0
    tie_idx = (df["winner"] == "tie") | (df["winner"] == "tie (bothbad)")  # one tie => one A win + one B win
    tie_idx[len(tie_idx) // 2:] = False
    Y[tie_idx] = 1.0
    lr = LogisticRegression(fit_intercept=False, penalty=None, tol=1e-8)
    lr.fit(X, Y)
    elo = SCALE * lr.coef_[0] + INIT_RATING
    elo = pd.Series(elo, index=models.index).sort_index().to_numpy()
    return elo - elo.mean() + INIT_RATING  # mean-anchored like ours (Arena anchors one named model)


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=64)
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    battles = make_battles(args.models, args.battles, seed=0)
    whole, ours, arena, gaps, paired = [], [], [], [], []
    checked = check_battles(battles, "benchmark")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeats):
            seconds, board = timed(lambda: build_leaderboard(battles, out, reference="m00", bootstrap=args.bootstrap, seed=0))
            whole.append(seconds)
            seconds, elo_ours = timed(ours_bt, battles)
            ours.append(seconds)
            gaps.append(timed(nash_table, checked, None, args.bootstrap, 0)[0])
            paired.append(timed(paired_table, checked, 0, checked.models, args.bootstrap, 0)[0])
        for _ in range(max(1, args.repeats // 3)):  # the baseline is slow; fewer repeats
            seconds, elo_arena = timed(arena_bt, battles)
            arena.append(seconds)
    gap = float(np.abs(elo_ours - elo_arena).max())
    assert gap < 1.0, f"our BT and Arena's disagree by {gap:.3f} Elo"
    print(f"leaderboard: {statistics.median(whole):.2f}s (runs {', '.join(f'{s:.2f}' for s in whole)}; Nash gap "
          f"{statistics.median(gaps):.2f}s, paired {statistics.median(paired):.2f}s); BT ours {statistics.median(ours):.3f}s, "
          f"sklearn {statistics.median(arena):.2f}s, max gap {gap:.4f} Elo; load average {load:.1f}")
    print(json.dumps({
        "benchmark": "leaderboard", "models": args.models, "battles": len(battles), "bootstrap": args.bootstrap,
        "resample": board.diagnostics["bootstrap_resamples"],
        "seconds": round(statistics.median(whole), 3), "bt_seconds": round(statistics.median(ours), 4),
        "nash_gap_seconds": round(statistics.median(gaps), 3), "paired_seconds": round(statistics.median(paired), 3),
        "sklearn_bt_seconds": round(statistics.median(arena), 3),
        "ratio_vs_sklearn_bt": round(statistics.median(ours) / statistics.median(arena), 4),
        "max_elo_gap_vs_sklearn": round(gap, 5), "repeats": args.repeats, "load_average_1min": round(load, 2),
    }))


if __name__ == "__main__":
    main()
