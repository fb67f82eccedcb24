"""`mnpo-bench bench` and `mnpo-bench ls tasks`, run in-process through the real CLI entry point."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mnpo_bench.cli import main

from .run_fixture import make_run


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


@pytest.mark.slow  # scores two checkpoints (~5 s)
def test_bench_a_run_directory(tmp_path, checkpoints, capsys):
    run = make_run(tmp_path / "run", checkpoints)
    out = tmp_path / "scores.parquet"
    code = main(["bench", str(run.root), "--tasks", "mnpo_arith_mc", "--out", str(out),
                 "--alpaca-dir", str(tmp_path / "ae"), "-q"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "dpo/iter1" in printed and "reference" in printed and "mnpo_arith_mc" in printed
    frame = pd.read_parquet(out)
    scores = frame[frame["metric"] == "acc"].set_index("model")["value"]
    assert scores["dpo/iter1"] > scores["reference"]
    records = json.loads((tmp_path / "ae" / "dpo" / "iter1" / "model_outputs.json").read_text())
    assert len(records) == 4 and records[0]["generator"] == "dpo/iter1"


@pytest.mark.slow
def test_bench_one_model_to_csv_and_json(tmp_path, checkpoints, capsys):
    csv = tmp_path / "scores.csv"
    assert main(["bench", str(checkpoints["taught"]), "--tasks", "mnpo_yesno_mc", "--limit", "10",
                 "--name", "mine", "--out", str(csv), "-q"]) == 0
    frame = pd.read_csv(csv)
    assert frame[["model", "task", "metric", "n"]].values.tolist() == [["mine", "mnpo_yesno_mc", "acc", 10]]
    path = tmp_path / "scores.json"
    assert main(["bench", str(checkpoints["taught"]), "--tasks", "mnpo_yesno_mc", "--limit", "4",
                 "--out", str(path), "-q"]) == 0
    assert [r["model"] for r in json.loads(path.read_text())] == ["taught"]


@pytest.mark.slow  # the first unknown name indexes lm-eval's task names once per cache
def test_unknown_task_is_one_line_with_did_you_mean_and_exit_2(checkpoints, capsys):
    code = main(["bench", str(checkpoints["naive"]), "--tasks", "mnpo_arith_mc,mnpo_yesno_mcq", "-q"])
    assert code == 2
    assert _errors(capsys) == ["error: --tasks: unknown task 'mnpo_yesno_mcq'; did you mean 'mnpo_yesno_mc'? "
                               "(`mnpo-bench ls tasks` lists the built-in ones)"]


@pytest.mark.parametrize("args, message", [
    (["--out", "scores.txt"], "error: --out: unsupported output format '.txt'"),
    (["--dtype", "int4"], "error: --dtype: unknown dtype 'int4'"),
    (["--limit", "0"], "error: mnpo-bench bench: field 'limit'"),
    (["--alpaca-dir", "ae"], "error: --alpaca-dir: needs a run directory as TARGET"),
])
def test_bad_options_fail_fast_with_exit_2(checkpoints, capsys, args, message):
    assert main(["bench", str(checkpoints["naive"]), *args]) == 2
    errors = _errors(capsys)
    assert len(errors) == 1 and errors[0].startswith(message)


def test_missing_model_is_a_user_error(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nowhere"), "-q"]) == 2
    assert "TARGET: model" in _errors(capsys)[0]


def test_ls_tasks_lists_the_builtin_tasks(capsys):
    assert main(["ls", "tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["mnpo_arith_gen", "mnpo_arith_mc", "mnpo_yesno_mc"]
    assert "multiple_choice" in lines[1] and "v1.0" in lines[1] and "40 docs" in lines[1]


def test_lm_eval_spellings_of_the_options_are_accepted(tmp_path, checkpoints, task_folder, capsys):
    """`--num_fewshot` and `--include_path`, as lm_eval spells them, mean --num-fewshot and --task-dir."""
    folder = task_folder
    assert main(["ls", "tasks", "--include_path", str(folder)]) == 0
    assert "my_yesno" in capsys.readouterr().out
    out = tmp_path / "scores.csv"
    assert main(["bench", str(checkpoints["naive"]), "--tasks", "my_yesno", "--include_path", str(folder),
                 "--num_fewshot", "1", "--limit", "3", "--out", str(out), "-q"]) == 0
    assert pd.read_csv(out)[["task", "n"]].values.tolist() == [["my_yesno", 3]]
