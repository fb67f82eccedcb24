"""lm-eval's own results JSON and per-sample logs are kept for every checkpoint (RUN/bench/<policy>/ in a run,
--log-dir / --output_path for the verb), in the files `lm_eval --output_path ... --log_samples` writes, on a local
task YAML (nothing downloaded); lm-eval's spellings of other flags say which flag to use."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.bench.stage import bench_stage
from mnpo_bench.cli import main
from mnpo_bench.config import RunConfig
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress

from .run_fixture import make_run

pytestmark = pytest.mark.slow  # lm-eval on two tiny checkpoints (~5 s)


def _logs(folder: Path) -> tuple[dict, list[dict]]:
    (results,) = folder.glob("results_*.json")
    (samples,) = folder.glob("samples_my_yesno_*.jsonl")
    return json.loads(results.read_text()), [json.loads(line) for line in samples.read_text().splitlines()]


def test_the_run_keeps_lm_eval_results_and_samples_per_checkpoint(tmp_path, checkpoints, task_folder):
    store = make_run(tmp_path / "run", checkpoints)
    bench = BenchConfig(tasks=["my_yesno"], task_dirs=[str(task_folder)], limit=5, export_alpaca=False)
    bench_stage(Context(config=RunConfig(bench=bench), store=store, progress=Progress(quiet=True)))
    rows = store.read_table("bench").set_index(["model", "metric"])
    for policy, folder in (("reference", "reference"), ("dpo/iter1", "dpo__iter1")):
        results, samples = _logs(store.root / "bench" / folder)
        assert results["results"]["my_yesno"]["acc,none"] == rows.loc[(policy, "acc"), "value"]
        assert results["n-samples"]["my_yesno"]["effective"] == len(samples) == 5
        assert results["model_name"] == policy
        assert [s["doc_id"] for s in samples] == list(range(5))
        assert {"arguments", "resps", "filtered_resps", "target", "acc"} <= set(samples[0])
        assert results["task_hashes"]["my_yesno"]  # lm-eval's own hash over the samples it logged


def test_the_verb_writes_them_with_lm_evals_output_path(tmp_path, checkpoints, task_folder, capsys):
    out = tmp_path / "logs"
    assert main(["bench", str(checkpoints["naive"]), "--name", "naive", "--tasks", "my_yesno", "--include_path",
                 str(task_folder), "--num_fewshot", "0", "--limit", "3", "--output_path", str(out),
                 "--batch_size", "4", "-q"]) == 0
    results, samples = _logs(out / "naive")
    assert len(samples) == 3 and results["configs"]["my_yesno"]["num_fewshot"] == 0
    capsys.readouterr()
    for flag, says in (("--model_args", "as TARGET"), ("--log_samples", "--log-dir"),
                       ("--apply_chat_template", "on by default")):
        assert main(["bench", str(checkpoints["naive"]), flag, "x"] if flag == "--model_args"
                    else ["bench", str(checkpoints["naive"]), flag]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0] and says in err[0], err
    assert pd.DataFrame(samples)["doc_id"].tolist() == [0, 1, 2]
