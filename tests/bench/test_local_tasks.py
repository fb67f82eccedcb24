"""The shipped built-in tasks: documents regenerate exactly, answers are right, every YAML loads in lm-eval."""

from __future__ import annotations

import json
import re

import yaml

from mnpo_bench.bench.config import BUILTIN_TASKS, BenchConfig
from mnpo_bench.bench.local_tasks import DRAWS, SIZES, TASKS_DIR, build_docs, render_jsonl
from mnpo_bench.bench.taskset import describe_tasks, load_tasks, task_dirs
from mnpo_bench.prompts.families import FACTS


def _docs(task: str) -> list[dict]:
    return [json.loads(line) for line in (TASKS_DIR / f"{task}.jsonl").read_text().splitlines()]


def test_shipped_jsonl_is_what_the_generator_makes():
    for task in DRAWS:
        assert (TASKS_DIR / f"{task}.jsonl").read_text() == render_jsonl(build_docs(task)), \
            f"{task}.jsonl drifted: run `python -m mnpo_bench.bench.local_tasks` and bump its version"


def _value(question: str) -> int:
    a, op, b = re.search(r"(\d+) ([-+*]) (\d+)", question).groups()
    return {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]


def test_arithmetic_answers_are_right_and_distractors_wrong():
    docs = _docs("mnpo_arith_mc")
    assert len(docs) == SIZES["mnpo_arith_mc"] and len({d["question"] for d in docs}) == len(docs)
    for doc in docs:
        assert len(set(doc["choices"])) == 4
        assert int(doc["choices"][doc["answer"]]) == _value(doc["question"])
        assert sum(int(c) == _value(doc["question"]) for c in doc["choices"]) == 1
    assert len({d["answer"] for d in docs}) == 4  # the gold position varies
    for doc in _docs("mnpo_arith_gen"):
        assert int(doc["answer"]) == _value(doc["question"])


def test_yes_no_answers_are_right_and_balanced():
    facts = {f"Is {s}?": truth for s, truth in FACTS}
    docs = _docs("mnpo_yesno_mc")
    for doc in docs:
        compare = re.fullmatch(r"Is (\d+) greater than (\d+)\?", doc["question"])
        truth = int(compare[1]) > int(compare[2]) if compare else facts[doc["question"]]
        assert doc["choices"][doc["answer"]] == ("Yes" if truth else "No")
    share_yes = sum(d["answer"] == 0 for d in docs) / len(docs)
    assert 0.3 < share_yes < 0.7


def test_every_shipped_yaml_has_a_version_and_loads():
    for path in TASKS_DIR.glob("*.yaml"):
        assert "version" in yaml.safe_load(path.read_text().replace("!function", ""))["metadata"], path
    assert BenchConfig().tasks == BUILTIN_TASKS
    tasks = load_tasks(BUILTIN_TASKS, task_dirs([]), num_fewshot=None, seed=0).loaded["tasks"]
    assert sorted(tasks) == sorted(BUILTIN_TASKS)
    for name, task in tasks.items():
        assert len(task.eval_docs) == SIZES[name]
        assert task.get_config("num_fewshot") == 0
    listed = {row["name"]: row for row in describe_tasks(task_dirs([]))}
    assert {n: listed[n]["docs"] for n in BUILTIN_TASKS} == {n: SIZES[n] for n in BUILTIN_TASKS}
