"""Judge calls each tournament schedule needs to give the full round robin's answers.

Data: a planted generative model (not real panel judgments): 18 policies with Bradley-Terry strengths
0.3 logit apart (the top one 0.6 above the next) and 3 planted cyclic policies at mid strength that beat
each other in a circle (P = 0.8). Every pair meets on --prompts prompts in both orders; each
(pair, prompt) has its own effect (N(0, 0.3) logits), the first shown gets +0.2 logits. This is the full
round robin: its leaderboard (computed once from every battle) is the truth the schedules are scored against.

For each schedule (round_robin truncated at random, baseline, swiss, active) and each budget on a grid of
shares of the full round robin's calls, `mnpo-bench tournament --replay` (its function, in process) replays
the schedule; the calls needed are the fewest on the grid at which all four hold against the full round
robin: Kendall tau >= 0.95 of the Bradley-Terry ratings, the same top policy, the maximal lottery within 0.05
in total variation, every significant cyclic triad of the full tournament still named. Replayed calls are
battles (one judge call each). Last line: one JSON object.
Usage: python benchmarks/tournament_budget.py [--prompts 40] [--bootstrap 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import kendalltau

from mnpo_bench.ratings.leaderboard import build_leaderboard
from mnpo_bench.tournament.replay import replay_tournament

SHARES = (0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)
SCHEDULES = ("round_robin", "baseline", "swiss", "active")


def full_round_robin(n_prompts: int, seed: int) -> pd.DataFrame:
    """Every pair on every prompt in both orders, drawn from the planted model above."""
    rng = np.random.default_rng(seed)
    names = [f"bt{i:02d}" for i in range(18)] + ["cyc_a", "cyc_b", "cyc_c"]
    theta = np.r_[0.3 - 0.3 * np.arange(18), [-2.4] * 3]
    theta[0] += 0.3
    n = len(names)
    P = expit(theta[:, None] - theta[None, :])
    for a, b in ((18, 19), (19, 20), (20, 18)):
        P[a, b], P[b, a] = 0.8, 0.2
    rows = []
    for p in range(n_prompts):
        for i in range(n):
            for j in range(i + 1, n):
                effect = rng.normal(0, 0.3)
                for order, shift in (("ab", 0.2), ("ba", -0.2)):
                    q = expit(logit(P[i, j]) + effect + shift)
                    rows.append((names[i], names[j], "model_a" if rng.random() < q else "model_b", f"p{p}", order))
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "prompt_id", "order"])


def summary(directory: Path) -> tuple[pd.Series, dict, set]:
    """(bt rating by model, maximal lottery by model, significant cycles as frozensets) of a leaderboard."""
    ratings = pd.read_csv(directory / "ratings.csv").set_index("model")
    diagnostics = json.loads((directory / "diagnostics.json").read_text())
    cycles = {frozenset(c["models"]) for c in diagnostics["cycles"]}
    return ratings["bt"], diagnostics["maximal_lottery"], cycles


def agreement(full: tuple, got: tuple) -> dict:
    """The four criteria of `got` against the full round robin."""
    bt_full, ml_full, cycles_full = full
    bt, ml, cycles = got
    models = bt_full.index
    tau = kendalltau(bt_full.loc[models], bt.reindex(models)).statistic
    tv = 0.5 * sum(abs(ml_full[m] - ml.get(m, 0.0)) for m in models)
    ok = {"tau": float(tau), "same_top": bool(bt_full.idxmax() == bt.idxmax()), "lottery_tv": float(tv),
          "cycles_named": bool(cycles_full <= cycles)}
    ok["meets"] = bool(ok["tau"] >= 0.95 and ok["same_top"] and ok["lottery_tv"] <= 0.05 and ok["cycles_named"])
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--bootstrap", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tournament_budget-"))
    battles = full_round_robin(args.prompts, args.seed)
    battles.to_parquet(work / "full.parquet", index=False)
    build_leaderboard(battles, work / "full", reference=None, bootstrap=args.bootstrap, seed=args.seed)
    full = summary(work / "full")
    total = len(battles)
    print(f"full round robin: {total:,} calls, {len(full[0])} policies, significant cycles "
          f"{sorted(sorted(c) for c in full[2])}")
    needed: dict[str, int | None] = {}
    detail: dict[str, list] = {}
    for schedule in SCHEDULES:
        needed[schedule], detail[schedule] = None, []
        for share in SHARES:
            out = work / f"{schedule}-{share}"
            result = replay_tournament(work / "full.parquet", out, schedule=schedule, budget=int(share * total),
                                       seed=args.seed, reference=None, bootstrap=args.bootstrap,
                                       stop_when_separated=True)
            ok = agreement(full, summary(out))
            detail[schedule].append({"budget": int(share * total), "calls": result.calls,
                                     "pairs_observed": result.pairs_observed, "stopped": result.stopped, **ok})
            print(schedule, json.dumps(detail[schedule][-1]))
            if ok["meets"]:
                needed[schedule] = result.calls
                break
            if result.calls < int(share * total):  # the schedule stopped or ran out: more budget changes nothing
                break
    ratio = {s: (None if needed[s] is None else round(needed[s] / total, 4)) for s in SCHEDULES}
    print(json.dumps({"policies": len(full[0]), "prompts": args.prompts, "calls_full_round_robin": total,
                      "calls_needed": needed, "data": "planted generative model",
                      "calls_ratio_round_robin_subset_vs_round_robin": ratio["round_robin"],
                      "calls_ratio_baseline_vs_round_robin": ratio["baseline"],
                      "calls_ratio_active_vs_round_robin": ratio["active"],
                      "calls_ratio_swiss_vs_round_robin": ratio["swiss"]}))


if __name__ == "__main__":
    main()
