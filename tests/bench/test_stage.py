"""The bench stage inside a pipeline context: bench.parquet for every policy, AlpacaEval files, resume."""

from __future__ import annotations

import json

import pytest

from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.bench.evaluate import COLUMNS
from mnpo_bench.bench.stage import bench_policies, bench_stage
from mnpo_bench.policy.load import read_policies
from mnpo_bench.bench.taskset import load_tasks, task_dirs
from mnpo_bench.config import RunConfig
from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress
from mnpo_bench.store import RunStore

from .run_fixture import answer_rows, make_run

pytestmark = pytest.mark.slow  # scores two checkpoints through lm-eval (~5 s)


def _context(store: RunStore, **bench) -> Context:
    config = RunConfig(bench=BenchConfig(tasks=["mnpo_arith_mc", "mnpo_arith_gen"], **bench))
    return Context(config=config, store=store, progress=Progress(quiet=True))


def test_stage_scores_every_policy_and_exports_their_answers(tmp_path, checkpoints):
    store = make_run(tmp_path / "run", checkpoints)
    ctx = _context(store)
    bench_stage(ctx)
    assert ctx.ran == ["bench", "bench_export"]
    frame = store.read_table("bench")
    assert list(frame.columns) == COLUMNS
    primary = frame[frame["primary"]].pivot(index="model", columns="task", values="value")
    assert sorted(primary.index) == ["dpo/iter1", "reference"]
    assert (primary.loc["dpo/iter1"] > primary.loc["reference"] + 0.4).all()  # the taught policy knows more
    for policy in ("reference", "dpo/iter1"):
        records = json.loads((store.root / "alpaca_eval" / policy / "model_outputs.json").read_text())
        assert len(records) == 4 and {r["generator"] for r in records} == {policy}
    manifest = store.manifest()["stages"]
    assert manifest["bench"]["outputs"] == ["bench", "bench.parquet"] and len(manifest["bench_export"]["outputs"]) == 2


def test_rerun_skips_and_new_answers_only_re_export(tmp_path, checkpoints):
    store = make_run(tmp_path / "run", checkpoints)
    bench_stage(_context(store))
    again = _context(store)
    bench_stage(again)
    assert again.skipped == ["bench", "bench_export"] and again.ran == []
    evals = store.read_table("prompts").query("split == 'eval'")["prompt_id"].tolist()
    store.write_table("responses", answer_rows("dpo/iter1", evals, tag="new "))
    third = _context(store)
    bench_stage(third)
    assert third.skipped == ["bench"] and third.ran == ["bench_export"]
    records = json.loads((store.root / "alpaca_eval/dpo/iter1/model_outputs.json").read_text())
    assert all(r["output"].startswith("new ") for r in records)
    changed = _context(store, limit=3)
    bench_stage(changed)
    assert changed.ran == ["bench"] and set(store.read_table("bench")["n"]) == {3}


def test_interrupted_stage_resumes_from_finished_policies(tmp_path, checkpoints):
    """A chunk left by an interrupted run is used as is: the planted value comes back, not a re-score."""
    store = make_run(tmp_path / "run", checkpoints)
    policies = read_policies(store.root)
    config = BenchConfig(tasks=["mnpo_arith_mc"])
    tasks = load_tasks(config.tasks, task_dirs([]), None, 0)
    parts = store.parts("bench", "h")
    first = bench_policies({"reference": policies["reference"]}, tasks, config, seed=0, device="cpu",
                           dtype="auto", progress=Progress(quiet=True), parts=parts)
    planted = first.assign(value=0.123)
    key = next(p.stem for p in parts.directory.glob("reference-*.parquet"))
    parts.put(key, planted)
    both = bench_policies(policies, tasks, config, seed=0, device="cpu", dtype="auto",
                          progress=Progress(quiet=True), parts=store.parts("bench", "h"))
    assert set(both.loc[both["model"] == "reference", "value"]) == {0.123}
    assert both.loc[both["model"] == "dpo/iter1", "value"].iloc[0] > 0.9


def test_disabled_stage_writes_nothing(tmp_path):
    store = make_run(tmp_path / "run")
    ctx = _context(store, enabled=False)
    bench_stage(ctx)
    assert ctx.ran == [] and not store.has_table("bench")


@pytest.mark.parametrize("content, message", [
    (None, "no policies.json"), ("[1, 2]", "expected a non-empty object"), ("{}", "expected a non-empty object"),
    ("{oops", "not valid JSON"),
])
def test_bad_policies_file_is_one_user_error(tmp_path, content, message):
    if content is not None:
        (tmp_path / "policies.json").write_text(content)
    with pytest.raises(UserError, match=message):
        read_policies(tmp_path)


def test_missing_checkpoint_fails_before_any_scoring(tmp_path):
    store = make_run(tmp_path / "run")  # policies.json names checkpoints that do not exist
    ctx = _context(store)
    with pytest.raises(UserError) as error:
        bench_stage(ctx)
    assert error.value.where == "policies.json: reference" and "not found" in error.value.line()
    assert not store.has_table("bench") and not list(store.root.glob(".parts/bench/*.parquet"))
