"""A synthetic but complete run directory with planted structure, in the documented table formats.

Used by the dashboard's tests, by `benchmarks/dashboard.py` (a million battles) and to try the dashboard
without running the pipeline. The planted truths the tests check: the trained policies beat each other
in a cycle (mnpo/iter2 > dpo/iter1 > mnpo/iter1 > mnpo/iter2) and all beat the reference; persona
`first_picker` prefers the response shown first, `length_lover` the longer one, `fair` follows the
planted win rates. The leaderboard folder is written by the real `build_leaderboard`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mnpo_bench.store import write_json, write_table, write_text

MODELS = ("reference", "mnpo/iter1", "mnpo/iter2", "dpo/iter1")
PERSONAS = ("fair", "first_picker", "length_lover")
CYCLE = ("mnpo/iter2", "dpo/iter1", "mnpo/iter1")  # each beats the next, the last beats the first
MEAN_TOKENS = {"reference": 20}  # others 30 tokens on average, so length bias does not break the cycle


def planted_win_rates(models: tuple[str, ...]) -> np.ndarray:
    """(M, M) probability that row beats column: the CYCLE at 0.9, everyone at 0.8 over 'reference',
    other pairs 0.6 for the later-listed model."""
    m = len(models)
    p = np.full((m, m), 0.5)
    idx = {name: i for i, name in enumerate(models)}
    for i in range(m):
        for j in range(i + 1, m):
            p[i, j] = 0.4  # later models beat earlier ones by default
    for winner, loser in zip(CYCLE, CYCLE[1:] + CYCLE[:1]):
        if winner in idx and loser in idx:
            p[idx[winner], idx[loser]] = 0.9
            p[idx[loser], idx[winner]] = 0.1
    if "reference" in idx:
        r = idx["reference"]
        p[:, r], p[r, :] = 0.8, 0.2
        p[r, r] = 0.5
    lower = np.tril_indices(m, -1)
    p[lower] = 1.0 - p.T[lower]
    return p


def _battles(models: tuple[str, ...], n_prompts: int, rng: np.random.Generator) -> pd.DataFrame:
    m, k = len(models), len(PERSONAS)
    ia, ib = np.triu_indices(m, 1)
    grid = np.array(np.meshgrid(np.arange(n_prompts), np.arange(len(ia)), [0, 1], np.arange(k), indexing="ij"))
    prompt, pair, flip, persona = (g.ravel() for g in grid)  # each (n,) with n = prompts * pairs * 2 * personas
    a, b = ia[pair], ib[pair]
    means = np.array([MEAN_TOKENS.get(name, 30) for name in models])
    length = rng.poisson(means[:, None], size=(m, n_prompts)) + 1  # (M, prompts) tokens of each answer
    len_a, len_b = length[a, prompt], length[b, prompt]
    p_a = planted_win_rates(models)[a, b]
    first_is_a = flip == 0
    p_first = np.where(first_is_a, 1.0, 0.0)
    p_longer = np.where(len_a > len_b, 1.0, np.where(len_a < len_b, 0.0, 0.5))
    prob_a = np.select([persona == 1, persona == 2], [0.6 * p_first + 0.4 * p_a, 0.6 * p_longer + 0.4 * p_a], p_a)
    draw = rng.random(prompt.size)
    tie = rng.random(prompt.size) < 0.05
    winner = np.where(tie, "tie", np.where(draw < prob_a, "model_a", "model_b")).astype(object)
    failed = (persona == 0) & (rng.random(prompt.size) < 0.01)  # 1% of the 'fair' judge's calls time out
    winner[failed] = None
    names = np.array(models, dtype=object)
    prompt_id = np.char.add("eval-", prompt.astype(str)).astype(object)
    return pd.DataFrame({
        "model_a": names[a], "model_b": names[b], "winner": winner, "prompt_id": prompt_id,
        "annotator": np.array(PERSONAS)[persona], "order": np.where(first_is_a, "ab", "ba"),
        "prob_a": np.where(failed, np.nan, prob_a.round(4)), "len_a": len_a, "len_b": len_b,
        "response_a_id": names[a] + "|" + prompt_id + "|0", "response_b_id": names[b] + "|" + prompt_id + "|0",
        "error": np.where(failed, "timeout after 30 s", None),
    })


def _prompts(n_train: int, n_eval: int) -> pd.DataFrame:
    rows = []
    for split, n in (("train", n_train), ("eval", n_eval)):
        for i in range(n):
            x, y = 3 + i % 7, 4 + i % 5
            rows.append({
                "prompt_id": f"{split}-{i}", "split": split, "family": "arithmetic", "prompt": f"What is {x} + {y}?",
                "gold": str(x + y), "meta": json.dumps({"answer_type": "number", "topic": "sums"}),
            })
    return pd.DataFrame(rows)


def _answers(policies: list[str], prompts: pd.DataFrame, samples: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for policy in policies:
        for pid, gold in zip(prompts["prompt_id"], prompts["gold"]):
            for s in range(samples):
                n = int(rng.integers(3, 12))
                text = f"The answer is {gold}." + " Indeed." * (n - 5 if n > 5 else 0)
                rows.append({
                    "policy": policy, "prompt_id": pid, "sample": s, "response_id": f"{policy}|{pid}|{s}", "text": text,
                    "n_tokens": n, "finish_reason": "stop", "empty": False, "truncated": False,
                })
    return pd.DataFrame(rows)


def _judgments(generations: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for pid, group in generations.groupby("prompt_id", sort=True):
        ids = list(group["response_id"])
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                for order in ("ab", "ba"):
                    for persona in PERSONAS:
                        failed = persona == "fair" and rng.random() < 0.1
                        prob = None if failed else float(np.round(rng.random(), 3))
                        label = None if failed else ("a" if prob > 0.55 else "b" if prob < 0.45 else "tie")
                        rows.append({
                            "prompt_id": pid, "response_a_id": ids[i], "response_b_id": ids[j], "persona": persona,
                            "order": order, "prob_a": prob, "label": label, "error": "timeout after 30 s" if failed else None,
                            "latency_s": 0.01, "cost_usd": 0.0, "cache_key": f"{pid}:{i}:{j}:{order}:{persona}",
                        })
    return pd.DataFrame(rows)


def _metrics(method: str, iterations: int, players: list[str | None], start: float) -> str:
    lines = []
    for it in range(1, iterations + 1):
        for player in players:
            for step in range(1, 13):
                progress = (it - 1) * 12 + step
                margin = 0.05 * progress
                lines.append(json.dumps({
                    "method": method, "player": player, "iteration": it, "step": step,
                    "loss": round(0.6931 - 0.012 * progress, 4), "margin": round(margin, 4),
                    "chosen_logp": round(-40 + 0.1 * progress, 3), "rejected_logp": round(-40 + 0.1 * progress - margin, 3),
                    "grad_norm": 1.0, "lr": 5e-6, "tokens_per_s": 900.0, "skipped": 0, "time": start + progress,
                }))
    return "\n".join(lines) + "\n"


def _manifest(stages: list[str], start: float) -> dict:
    out = {}
    for i, stage in enumerate(stages):
        out[stage] = {"status": "done", "input_hash": f"{i:016x}", "outputs": [], "started": start + 10 * i,
                      "finished": start + 10 * i + 9, "seconds": 9.0}
    return {"stages": out, "updated": start + 10 * len(stages)}


def build_run(root: Path, name: str = "demo", *, n_battles: int = 2000, models: tuple[str, ...] = MODELS,
              seed: int = 0, training: bool = True, leaderboard: bool = True, bootstrap: int = 20,
              publish: Path | None = None, trained: dict[str, tuple[int, list[str | None]]] | None = None) -> Path:
    """Write run `root/name` with every table (`n_battles` battles) and return its path; `training=False`
    leaves out train/, `leaderboard=False` leaves out leaderboard/; `publish` also copies the leaderboard
    folder to `publish/name` as the pipeline does. `trained` maps method -> (iterations, players) for
    train/<method>/metrics.jsonl (default: mnpo x2 and dpo x1 for the whole panel, ht-mnpo x1 for two players);
    each iteration also gets a checkpoint folder with a config.json, as a real run has."""
    rng = np.random.default_rng(seed)
    run = Path(root) / name
    per_prompt = len(models) * (len(models) - 1) * len(PERSONAS)
    n_eval = max(1, -(-n_battles // per_prompt))  # ceil: battles are then cut to exactly n_battles
    start = 1_760_000_000.0 + seed * 3600
    from mnpo_bench.config import load_config  # the real resolved default config

    config = load_config(None, [f"name={name}", f"seed={seed}"]).model_dump(mode="json")
    write_text(run / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    prompts = _prompts(4, n_eval)
    write_table(run / "prompts.parquet", prompts)
    write_json(run / "policies.json", {m: ("policy/reference" if m == "reference" else f"train/{m}") for m in models})
    train_prompts = prompts[prompts["split"] == "train"]
    generations = _answers(["reference"], train_prompts, 3, rng)
    write_table(run / "generations.parquet", generations)
    write_table(run / "judgments.parquet", _judgments(generations, rng))
    write_json(run / "panel_diagnostics.json", {"non_transitivity": {  # the annotate stage's block, as data
        "cyclic_triad_share": 0.25, "decided_triads": 40, "curl_share": 0.125, "curl_prompts": 12,
        "mixed_lottery_share": 0.5, "lottery_prompts": 12}})
    write_table(run / "responses.parquet", _answers(list(models), prompts[prompts["split"] == "eval"].head(200), 1, rng))
    battles = _battles(models, n_eval, rng).head(n_battles)
    write_table(run / "battles.parquet", battles)
    bench = pd.DataFrame([{"model": m, "task": task, "metric": "acc", "value": 0.3 + 0.05 * i + 0.1 * t, "stderr": 0.02}
                          for i, m in enumerate(models) for t, task in enumerate(("arith_local", "yesno_local"))])
    write_table(run / "bench.parquet", bench)
    stages = ["prompts", "policy", "generate", "annotate", "tournament", "bench"]
    if training:
        trained = trained or {"mnpo": (2, [None]), "dpo": (1, [None]), "ht-mnpo": (1, list(PERSONAS[:2]))}
        for method, (iterations, players) in trained.items():
            write_text(run / "train" / method / "metrics.jsonl", _metrics(method, iterations, players, start))
            for it in range(1, iterations + 1):
                write_json(run / "train" / method / f"iter{it}" / "config.json", {"model_type": "llama"})
        write_json(run / "train" / "policies.json", {f"{m}/iter{t}": f"train/{m}/iter{t}"
                                                     for m, (n, _) in trained.items() for t in range(1, n + 1)})
        stages.insert(4, "train")
    if leaderboard:
        from mnpo_bench.ratings.leaderboard import build_leaderboard

        build_leaderboard(battles, run / "leaderboard", reference="reference", bootstrap=bootstrap, seed=seed, bench=bench)
        stages.append("leaderboard")
        if publish is not None:
            for path in (run / "leaderboard").iterdir():
                write_text(Path(publish) / name / path.name, path.read_text())
    write_json(run / "manifest.json", _manifest(stages, start))
    return run


if __name__ == "__main__":  # python -m mnpo_bench.dashboard.fixture DIR [N_BATTLES]
    import sys

    began = time.time()
    print(build_run(Path(sys.argv[1]), n_battles=int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
    print(f"{time.time() - began:.1f} s")
