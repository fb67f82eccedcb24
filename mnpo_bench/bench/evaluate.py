"""Scoring one model on loaded lm-eval tasks, and turning lm-eval's results into bench rows.

The model goes to lm-eval as objects (`HFLM(pretrained=model, tokenizer=tokenizer)`), so a checkpoint is
loaded once by `mnpo_bench.policy.load.load_policy`, the same way generation and training load it.

We call `lm_eval.evaluator.evaluate` (lm-eval's core entry point) rather than `simple_evaluate`, its
wrapper: the wrapper adds, on every call, environment metadata gathered by running `pip list` and `git`
in subprocesses, which we discard. On the tiny model that was 0.75 s of a 0.97 s call per checkpoint
(measured on 2 cores); what the wrapper does that we need (seeding, few-shot defaults) is done here and
in `taskset.load_tasks`.

Bench rows (`bench.parquet`): model, task, metric, filter, value, stderr (NaN when lm-eval gives none),
n (documents scored), higher_is_better, primary (the task's headline metric: its first metric under its
first filter), version (the task YAML's metadata.version).
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.bench.taskset import TaskSet, lm_eval_quiet
from mnpo_bench.schemas import BENCH_COLUMNS

COLUMNS = BENCH_COLUMNS
SKIP_KEYS = {"alias", "name", "sample_len", "samples", " "}


def _quiet_lm_class() -> type:
    from lm_eval.models.huggingface import HFLM

    class QuietHFLM(HFLM):
        """HFLM without its per-request progress bars (the bench shows one bar over checkpoints)."""

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return super().loglikelihood(requests, disable_tqdm=True)

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return super().loglikelihood_rolling(requests, disable_tqdm=True)

        def generate_until(self, requests, disable_tqdm: bool = False):
            return super().generate_until(requests, disable_tqdm=True)

    return QuietHFLM


def wrap_model(model: Any, tokenizer: Any, config: BenchConfig) -> Any:
    """An lm-eval `HFLM` around an already loaded (model, tokenizer)."""
    from lm_eval.models.huggingface import HFLM

    cls = HFLM if config.lm_eval_progress else _quiet_lm_class()
    with lm_eval_quiet(not config.lm_eval_progress):
        return cls(pretrained=model, tokenizer=tokenizer, batch_size=config.batch_size,
                   max_length=config.max_length)


def evaluate_model(model: Any, tokenizer: Any, name: str, tasks: TaskSet, config: BenchConfig,
                   seed: int = 0, log_dir: Path | None = None) -> pd.DataFrame:
    """Bench rows (see module docstring) of `model` on every task in `tasks`, seeded by `seed`. With `log_dir`,
    lm-eval's own results JSON and per-sample logs are written there too (`save_lm_eval_logs`)."""
    from lm_eval.evaluator import evaluate

    lm = wrap_model(model, tokenizer, config)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # lm-eval's "building contexts" bars cannot be switched off; they go to a buffer unless asked for.
    sink = contextlib.nullcontext() if config.lm_eval_progress else contextlib.redirect_stderr(io.StringIO())
    with lm_eval_quiet(not config.lm_eval_progress), sink, torch.inference_mode():
        results = evaluate(
            lm=lm, task_dict=tasks.loaded, limit=config.limit, bootstrap_iters=config.bootstrap_iters,
            log_samples=log_dir is not None, apply_chat_template=config.chat_template,
            fewshot_as_multiturn=config.chat_template,
        )
    rows = result_rows(results, name)
    if log_dir is not None:
        with lm_eval_quiet(not config.lm_eval_progress):
            save_lm_eval_logs(results, log_dir, name)
    return rows


def save_lm_eval_logs(results: dict[str, Any], log_dir: Path, model: str) -> Path:
    """`log_dir`, replaced atomically by what `lm_eval --output_path <log_dir>/results.json --log_samples` leaves:
    results_<time>.json (lm-eval's results dict: metrics, configs, versions, n-samples, task hashes) and
    samples_<task>_<time>.jsonl (one line per document: its prompt arguments, responses, filtered responses,
    target and metrics), written by lm-eval's own EvaluationTracker, so lm-eval's tools read them."""
    from lm_eval.loggers import EvaluationTracker

    from mnpo_bench.store import atomic_dir

    samples = results.pop("samples", {})
    with atomic_dir(log_dir) as scratch:
        tracker = EvaluationTracker(output_path=str(scratch / "results.json"))
        tracker.general_config_tracker.model_name = model
        tracker.save_results_aggregated(results=results, samples=samples)
        for task in results.get("configs", {}):
            if task in samples:
                tracker.save_results_samples(task_name=task, samples=samples[task])
    return Path(log_dir)


def result_rows(results: dict[str, Any], model: str) -> pd.DataFrame:
    """lm-eval's results dict as bench rows, one per (task, metric, filter), tasks in lm-eval's order."""
    rows = []
    for task, metrics in results["results"].items():
        better = results.get("higher_is_better", {}).get(task, {})
        version = results.get("versions", {}).get(task)
        n = (results.get("n-samples", {}).get(task) or {}).get("effective", metrics.get("sample_len"))
        first = True
        for key, value in metrics.items():
            metric, _, filter_name = key.partition(",")
            if key in SKIP_KEYS or metric.endswith("_stderr") or not filter_name:
                continue
            stderr = metrics.get(f"{metric}_stderr,{filter_name}")
            rows.append({
                "model": model, "task": task, "metric": metric, "filter": filter_name,
                "value": _number(value), "stderr": _number(stderr),
                "n": None if n is None else int(n), "higher_is_better": better.get(metric),
                "primary": first, "version": None if version is None else str(version),
            })
            first = False
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"n": "Int64", "primary": bool})


def _number(value: Any) -> float:
    """`value` as a float; lm-eval's "N/A" and None become NaN."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    """(fn(*args, **kwargs), wall seconds it took)."""
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started
