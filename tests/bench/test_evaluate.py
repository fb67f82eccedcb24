"""Scoring through lm-eval: a model that knows the answers beats one that does not, on every task kind."""

from __future__ import annotations

import math

import pytest

from mnpo_bench.bench.config import BUILTIN_TASKS, BenchConfig
from mnpo_bench.bench.evaluate import COLUMNS, evaluate_model, result_rows
from mnpo_bench.bench.taskset import load_tasks, task_dirs
from mnpo_bench.policy.load import load_policy


@pytest.fixture(scope="module")
def builtin_tasks():
    return load_tasks(BUILTIN_TASKS, task_dirs([]), num_fewshot=None, seed=0)


def _primary(rows) -> dict[str, float]:
    return dict(zip(rows.loc[rows["primary"], "task"], rows.loc[rows["primary"], "value"]))


def test_taught_model_beats_untaught_one_on_every_task(checkpoints, builtin_tasks):
    config = BenchConfig()
    scores = {}
    for name, path in checkpoints.items():
        model, tokenizer = load_policy(str(path), device="cpu")
        rows = evaluate_model(model, tokenizer, name, builtin_tasks, config)
        assert list(rows.columns) == COLUMNS and set(rows["model"]) == {name}
        scores[name] = _primary(rows)
    taught, naive = scores["taught"], scores["naive"]
    assert set(taught) == set(BUILTIN_TASKS)
    assert taught["mnpo_arith_mc"] >= 0.9 and naive["mnpo_arith_mc"] <= 0.5  # chance is 0.25
    assert taught["mnpo_yesno_mc"] >= 0.9 and naive["mnpo_yesno_mc"] <= 0.75  # chance is 0.5
    assert taught["mnpo_arith_gen"] >= 0.9 and naive["mnpo_arith_gen"] <= 0.1  # greedy exact match


def test_stderr_is_the_closed_form_and_limit_caps_documents(checkpoints, builtin_tasks):
    model, tokenizer = load_policy(str(checkpoints["naive"]), device="cpu")
    rows = evaluate_model(model, tokenizer, "naive", builtin_tasks, BenchConfig(limit=7))
    assert set(rows["n"]) == {7}
    for row in rows.itertuples():
        p = row.value
        # lm-eval's stderr of a mean of 0/1 scores: sample standard deviation / sqrt(n) = sqrt(p(1-p)/(n-1))
        assert row.stderr == pytest.approx(math.sqrt(p * (1 - p) / (row.n - 1)), abs=1e-9)


def test_no_chat_template_changes_the_prompt_the_model_sees(checkpoints, builtin_tasks):
    """The taught model learned answers after its chat template; without the template it is lost."""
    model, tokenizer = load_policy(str(checkpoints["taught"]), device="cpu")
    with_template = _primary(evaluate_model(model, tokenizer, "t", builtin_tasks, BenchConfig()))
    without = _primary(evaluate_model(model, tokenizer, "t", builtin_tasks, BenchConfig(chat_template=False)))
    assert without["mnpo_arith_gen"] < with_template["mnpo_arith_gen"] - 0.3


def test_result_rows_read_filters_groups_and_missing_stderr():
    results = {
        "results": {
            "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": 0.1,
                      "exact_match,flexible-extract": 0.5, "exact_match_stderr,flexible-extract": "N/A"},
            "mmlu": {"alias": "mmlu", "acc,none": 0.4, "acc_stderr,none": 0.01, " ": " "},
        },
        "higher_is_better": {"gsm8k": {"exact_match": True}, "mmlu": {"acc": True}},
        "versions": {"gsm8k": 3.0, "mmlu": 2},
        "n-samples": {"gsm8k": {"original": 1319, "effective": 20}},
    }
    rows = result_rows(results, "m")
    assert rows[["task", "metric", "filter"]].values.tolist() == [
        ["gsm8k", "exact_match", "strict-match"], ["gsm8k", "exact_match", "flexible-extract"], ["mmlu", "acc", "none"]]
    assert rows["primary"].tolist() == [True, False, True]
    assert math.isnan(rows["stderr"][1]) and rows["stderr"][0] == 0.1
    assert rows["n"].tolist()[:2] == [20, 20] and rows["version"].tolist() == ["3.0", "3.0", "2"]
