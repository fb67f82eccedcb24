"""A small run directory as the upstream stages leave it: prompts, policies.json, train generations and
the tournament's eval answers (responses.parquet)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.prompts.load import load_prompts
from mnpo_bench.store import RunStore


def answer_rows(policy: str, prompt_ids: list[str], samples: int = 1, tag: str = "") -> pd.DataFrame:
    """Rows in the generations schema: `samples` answers of `policy` per prompt, text naming all three."""
    rows = [{"policy": policy, "prompt_id": pid, "sample": s, "response_id": f"{policy}|{pid}|{s}",
             "text": f"{tag}{policy} answers {pid} (sample {s})", "n_tokens": 5, "finish_reason": "stop",
             "empty": False, "truncated": False} for pid in prompt_ids for s in range(samples)]
    return pd.DataFrame(rows)


def make_run(root: Path, checkpoints: dict[str, Path] | None = None) -> RunStore:
    """A run in `root` whose policies are the test checkpoints: "reference" (naive, absolute path) and
    "dpo/iter1" (taught, copied into the run and listed run-relative). Without checkpoints the
    policies.json entries name no real model (enough for the export)."""
    store = RunStore.open(root)
    prompts = load_prompts(PromptsConfig(n_train=6, n_eval=4), seed=0)
    store.write_table("prompts", prompts)
    reference = "no/such/model"
    if checkpoints is not None:
        shutil.copytree(checkpoints["taught"], root / "train" / "dpo" / "iter1")
        reference = str(checkpoints["naive"])
    (root / "policies.json").write_text(json.dumps({"reference": reference, "dpo/iter1": "train/dpo/iter1"}))
    train_ids = prompts.loc[prompts["split"] == "train", "prompt_id"].tolist()
    eval_ids = prompts.loc[prompts["split"] == "eval", "prompt_id"].tolist()
    store.write_table("generations", answer_rows("reference", train_ids, samples=2))
    store.write_table("responses", pd.concat([answer_rows("reference", eval_ids),
                                              answer_rows("dpo/iter1", eval_ids)], ignore_index=True))
    return store
