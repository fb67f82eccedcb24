"""Reading an experiment's finished runs: per-seed metric values, per-prompt differences, non-transitivity."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mnpo_bench.experiment.config import ExperimentConfig
from mnpo_bench.experiment.grid import Job
from mnpo_bench.experiment.stats import prompt_scores

NON_TRANSITIVITY = ("cyclic_triad_share", "curl_share", "mixed_lottery_share")
PER_PROMPT = "win_rate_vs_ref"  # the metric whose effects pair methods prompt by prompt


@dataclass
class Collected:
    """What the experiment's statistics read from its runs."""

    values: pd.DataFrame  # cell, seed, method, policy, metric, value: one ratings.csv value per run
    prompts: pd.DataFrame  # cell, seed, method, prompt_id, value: per-prompt score vs the reference
    non_transitivity: pd.DataFrame  # cell, seed, cyclic_triad_share, curl_share, mixed_lottery_share


def final_policy(policies: list[str], method: str) -> str | None:
    """The last iterate `<method>/iter<T>` among `policies` (a recipe path's method is its file stem)."""
    names = {method, Path(method).stem}
    found = [(int(p.rsplit("/iter", 1)[1]), p) for p in policies
             if "/iter" in p and p.rsplit("/iter", 1)[0] in names and p.rsplit("/iter", 1)[1].isdigit()]
    return max(found)[1] if found else None


def _non_transitivity(run: Path) -> dict[str, float]:
    path = run / "panel_diagnostics.json"
    block = json.loads(path.read_text()).get("non_transitivity", {}) if path.exists() else {}
    return {key: float(block[key]) if block.get(key) is not None else math.nan for key in NON_TRANSITIVITY}


def collect(jobs: list[Job], config: ExperimentConfig) -> Collected:
    """Read every job's run: ratings.csv values of each method's last iterate (metrics that exist), the
    per-prompt score of that iterate against the run's leaderboard reference, and the training data's
    non-transitivity from panel_diagnostics.json."""
    values, prompts, nontrans = [], [], []
    for job in jobs:
        run = Path(job.out)
        ratings_path = run / "leaderboard" / "ratings.csv"
        policies_path = run / "policies.json"
        if not ratings_path.exists() or not policies_path.exists():
            continue
        ratings = pd.read_csv(ratings_path).set_index("model")
        policies = list(json.loads(policies_path.read_text()))
        reference = job.config["leaderboard"]["reference"]
        finals = {method: final_policy(policies, method) for method in config.methods}
        finals = {method: policy for method, policy in finals.items() if policy is not None and policy in ratings.index}
        for method, policy in finals.items():
            for metric in config.metrics:
                if metric in ratings.columns:
                    values.append({"cell": job.cell, "seed": job.seed, "method": method, "policy": policy,
                                   "metric": metric, "value": float(ratings.at[policy, metric])})
        battles_path = run / "battles.parquet"
        if battles_path.exists() and finals:
            scores = prompt_scores(pd.read_parquet(battles_path), list(finals.values()), reference, str(battles_path))
            for method, policy in finals.items():
                if policy in scores:
                    prompts.extend({"cell": job.cell, "seed": job.seed, "method": method, "prompt_id": pid,
                                    "value": float(v)} for pid, v in scores[policy].dropna().items())
        nontrans.append({"cell": job.cell, "seed": job.seed, **_non_transitivity(run)})
    return Collected(
        values=pd.DataFrame(values, columns=["cell", "seed", "method", "policy", "metric", "value"]),
        prompts=pd.DataFrame(prompts, columns=["cell", "seed", "method", "prompt_id", "value"]),
        non_transitivity=pd.DataFrame(nontrans, columns=["cell", "seed", *NON_TRANSITIVITY]),
    )
