"""AlpacaEval export: model_outputs.json per policy, readable by alpaca_eval itself."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mnpo_bench.bench.alpaca import (FIELDS, eval_answers, export_alpaca, model_outputs, outputs_path,
                                     read_model_outputs, write_model_outputs)
from mnpo_bench.errors import UserError
from mnpo_bench.store import RunStore

from .run_fixture import answer_rows, make_run


@pytest.fixture()
def run(tmp_path) -> RunStore:
    return make_run(tmp_path / "run")


def test_export_writes_one_record_per_eval_prompt_in_order(run):
    written = export_alpaca(run, ["reference", "dpo/iter1", "never-answered"])
    assert written == ["alpaca_eval/reference/model_outputs.json", "alpaca_eval/dpo/iter1/model_outputs.json"]
    prompts = run.read_table("prompts")
    evals = prompts[prompts["split"] == "eval"]
    records = read_model_outputs(run.root / written[1])
    assert [r["instruction"] for r in records] == evals["prompt"].tolist()
    assert [r["dataset"] for r in records] == evals["family"].tolist()
    assert {tuple(sorted(r)) for r in records} == {tuple(sorted(FIELDS))}
    assert all(r["generator"] == "dpo/iter1" and r["output"].startswith("dpo/iter1 answers") for r in records)
    assert not any(p in json.dumps(records) for p in prompts.loc[prompts["split"] == "train", "prompt_id"])


def test_lowest_sample_wins_and_generations_count_too(run):
    evals = run.read_table("prompts").query("split == 'eval'")["prompt_id"].tolist()
    extra = answer_rows("sft", evals, samples=3, tag="gen:")
    run.write_table("generations", pd.concat([run.read_table("generations"), extra], ignore_index=True))
    answers = eval_answers(run)
    records = model_outputs(answers, "sft")
    assert len(records) == len(evals) and all(r["output"].endswith("(sample 0)") for r in records)


def test_round_trip_keeps_unicode_and_empty_outputs(tmp_path):
    records = [{"instruction": "Liste 2 fruits — s'il vous plaît", "output": "", "generator": "m", "dataset": "x"},
               {"instruction": "Say 你好", "output": "你好 👋", "generator": "m", "dataset": "x"}]
    path = write_model_outputs(tmp_path / "m" / "model_outputs.json", records)
    assert read_model_outputs(path) == records


def test_malformed_files_and_bad_policy_names_are_user_errors(tmp_path):
    bad = tmp_path / "model_outputs.json"
    bad.write_text(json.dumps([{"instruction": "hi"}]))
    with pytest.raises(UserError, match="record 0 has no string 'output'"):
        read_model_outputs(bad)
    bad.write_text("{not json")
    with pytest.raises(UserError, match="cannot read model outputs"):
        read_model_outputs(bad)
    for name in ("../escape", "/abs", "a/../b", ""):
        with pytest.raises(UserError, match="cannot name a folder"):
            outputs_path(tmp_path, name)


@pytest.mark.slow  # imports alpaca_eval (~3 s)
@pytest.mark.filterwarnings("ignore:pkg_resources is deprecated:UserWarning")  # alpaca_eval's own import
def test_alpaca_eval_reads_the_export_and_pairs_every_instruction(run, tmp_path):
    """alpaca_eval's own evaluate(), with its offline `test_completions` decoder as the judge."""
    from alpaca_eval import main

    export_alpaca(run, ["reference", "dpo/iter1"])
    template = tmp_path / "prompt.txt"
    template.write_text("Instruction: {instruction}\nOutput (a): {output_1}\nOutput (b): {output_2}\n")
    annotator = tmp_path / "configs.yaml"
    annotator.write_text(
        "offline:\n"
        f"  prompt_template: {template}\n"
        "  fn_completions: test_completions\n"
        "  completions_kwargs: {value: 'Output (a)'}\n"
        "  completion_parser_kwargs: {outputs_to_match: {1: 'Output \\(a\\)', 2: 'Output \\(b\\)'}}\n"
        "  batch_size: 1\n")
    leaderboard, annotations = main.evaluate(
        model_outputs=str(run.root / "alpaca_eval/dpo/iter1/model_outputs.json"),
        reference_outputs=str(run.root / "alpaca_eval/reference/model_outputs.json"),
        annotators_config=str(annotator), output_path=str(tmp_path / "ae"), precomputed_leaderboard=None,
        is_return_instead_of_print=True, fn_metric="get_winrate", sort_by="win_rate", caching_path=None)
    n_eval = int((run.read_table("prompts")["split"] == "eval").sum())
    assert list(leaderboard.index) == ["dpo/iter1"] and leaderboard.loc["dpo/iter1", "n_total"] == n_eval
    assert len(annotations) == n_eval
    assert all(a["generator_1"] == "reference" and a["generator_2"] == "dpo/iter1" for a in annotations)
    assert all(str(a["output_2"]).startswith("dpo/iter1 answers") for a in annotations)
