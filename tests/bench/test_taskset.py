"""Finding tasks by name: built-in, the user's own folders and files, lm-eval's; clear errors otherwise."""

from __future__ import annotations

import json

import pytest

from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.bench.evaluate import evaluate_model
from mnpo_bench.bench.taskset import check_task_names, load_tasks, task_dirs
from mnpo_bench.config import RunConfig
from mnpo_bench.bench.stage import validate_bench
from mnpo_bench.errors import UserError
from mnpo_bench.policy.load import load_policy

USER_TASK = """\
task: my_compare
dataset_path: json
dataset_kwargs:
  data_files: {data}
test_split: train
output_type: multiple_choice
doc_to_text: "Question: {{{{q}}}}"
doc_to_choice: "{{{{options}}}}"
doc_to_target: gold
num_fewshot: 1
fewshot_split: train
metric_list:
  - metric: acc
metadata:
  version: 2.0
"""


@pytest.fixture()
def user_task_dir(tmp_path):
    """A user's own lm-eval task: JSONL read by the datasets `json` builder, Jinja prompts, one-shot."""
    rows = [{"q": f"Is {a} bigger than {b}?", "options": ["Yes", "No"], "gold": 0 if a > b else 1}
            for a, b in [(3, 1), (2, 5), (9, 4), (1, 8), (7, 6), (4, 9)]]
    data = tmp_path / "compare.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "my_compare.yaml").write_text(USER_TASK.format(data=data))
    return folder


def test_user_task_folder_runs_offline_with_its_own_fewshot(user_task_dir, checkpoints):
    tasks = load_tasks(["my_compare", "mnpo_yesno_mc"], task_dirs([str(user_task_dir)]), num_fewshot=None, seed=0)
    assert tasks.loaded["tasks"]["my_compare"].get_config("num_fewshot") == 1
    model, tokenizer = load_policy(str(checkpoints["naive"]), device="cpu")
    rows = evaluate_model(model, tokenizer, "naive", tasks, BenchConfig())
    mine = rows[rows["task"] == "my_compare"].iloc[0]
    assert mine["n"] == 6 and mine["version"] == "2.0" and 0 <= mine["value"] <= 1


def test_task_given_as_a_yaml_path(user_task_dir):
    path = str(user_task_dir / "my_compare.yaml")
    tasks = load_tasks([path], task_dirs([]), num_fewshot=3, seed=0)
    assert list(tasks.loaded["tasks"]) == ["my_compare"]
    assert tasks.loaded["tasks"]["my_compare"].get_config("num_fewshot") == 3
    with pytest.raises(UserError, match="task file .*nope.yaml' does not exist"):
        check_task_names([str(user_task_dir / "nope.yaml")], task_dirs([]))


def test_builtin_tasks_keep_zero_shot_when_fewshot_asked():
    tasks = load_tasks(["mnpo_arith_mc"], task_dirs([]), num_fewshot=5, seed=0)
    assert tasks.loaded["tasks"]["mnpo_arith_mc"].get_config("num_fewshot") == 0


def test_missing_task_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError) as error:
        task_dirs([str(tmp_path / "absent")])
    assert error.value.where == "bench.task_dirs" and "does not exist" in error.value.line()


@pytest.mark.slow  # the first unknown name indexes lm-eval's ~15,000 task names (~15 s), then caches them
def test_unknown_task_names_get_did_you_mean_and_hub_names_are_known():
    with pytest.raises(UserError) as error:
        check_task_names(["mnpo_arith_mcc"], task_dirs([]))
    assert "unknown task 'mnpo_arith_mcc'" in error.value.line()
    assert "did you mean 'mnpo_arith_mc'?" in error.value.line()
    with pytest.raises(UserError, match="did you mean 'hellaswag'"):
        check_task_names(["hellaswg"], task_dirs([]))
    assert check_task_names(["arc_challenge", "mmlu", "gsm8k", "ifeval", "truthfulqa_mc2"], task_dirs([])) is True
    assert check_task_names(["mnpo_arith_mc"], task_dirs([])) is False
    config = RunConfig(bench=BenchConfig(tasks=["mnpo_arith_mc", "hellaswag"]))
    assert validate_bench(config) == ["ok  bench tasks mnpo_arith_mc, hellaswag"]
    with pytest.raises(UserError, match="bench.tasks: unknown task 'helaswag'"):
        validate_bench(RunConfig(bench=BenchConfig(tasks=["helaswag"])))


@pytest.mark.slow
def test_hub_task_without_cached_data_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(UserError) as error:
        load_tasks(["arc_challenge"], task_dirs([]), num_fewshot=None, seed=0)
    line = error.value.line()
    assert "cannot load tasks arc_challenge" in line and "HF_HUB_OFFLINE=1" in line and "\n" not in line


def test_broken_user_task_is_one_line_about_the_yaml(tmp_path):
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "broken.yaml").write_text(
        "task: broken\ndataset_path: json\ndataset_kwargs: {data_files: /no/such/file.jsonl}\n"
        "test_split: train\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\n")
    with pytest.raises(UserError) as error:
        load_tasks(["broken"], task_dirs([str(folder)]), num_fewshot=None, seed=0)
    assert "cannot load tasks broken" in error.value.line()
    assert error.value.fix == "check the task YAML and the data files it names"
