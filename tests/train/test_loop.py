"""The step loop: it learns, resumes exactly, and survives empty responses and NaN log-probs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from mnpo_bench.train.loop import TrainJob, run_recipe
from mnpo_bench.train.metrics import read_metrics
from mnpo_bench.train.precompute import add_logps
from mnpo_bench.train.recipes import load_recipe

SMALL = {"optim": {"lr": 3e-3, "epochs": 2, "batch_size": 4, "grad_accum": 2, "warmup_ratio": 0.1}, "max_length": 64}


def _weights(path):
    return load_file(str(path / "model.safetensors"))


def _job(tmp_path, policy, pairs, name="run", overrides=None, **kwargs):
    recipe = load_recipe("mnpo", overrides={**SMALL, **(overrides or {})})
    return TrainJob(recipe, policy, pairs, tmp_path / name / "out", tmp_path / name / "state",
                    tmp_path / name / "metrics.jsonl", "mnpo", **kwargs)


@pytest.fixture
def scored(small_policy, pairs):
    return add_logps(pairs, small_policy, [small_policy], max_length=64)


def test_training_changes_parameters_and_raises_the_margin(tmp_path, small_policy, scored):
    summary = run_recipe(_job(tmp_path, small_policy, scored))
    before, after = _weights(Path(small_policy)), _weights(tmp_path / "run" / "out")
    assert summary["steps"] == 2 * 3 and summary["skipped"] == 0  # 24 pairs / 4 per batch / 2 accumulated, 2 epochs
    assert any(not torch.equal(before[k], after[k]) for k in before)
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert rows[-1]["margin"] > rows[0]["margin"]
    assert set(rows[0]) == {"method", "player", "iteration", "step", "loss", "margin", "chosen_logp", "rejected_logp",
                            "grad_norm", "lr", "tokens_per_s", "skipped", "time"}
    assert (tmp_path / "run" / "out" / "tokenizer.json").exists()
    assert not (tmp_path / "run" / "state").exists()  # checkpoints are dropped once the policy is saved


class Interrupt(Exception):
    pass


def test_resumed_training_equals_uninterrupted(tmp_path, small_policy, scored):
    overrides = {"checkpoint_every": 2}
    run_recipe(_job(tmp_path, small_policy, scored, "straight", overrides))

    def stop_at_5(row):
        if row["step"] == 5:
            raise Interrupt  # killed after step 5; the last checkpoint is at step 4

    with pytest.raises(Interrupt):
        run_recipe(_job(tmp_path, small_policy, scored, "resumed", overrides, on_step=stop_at_5))
    assert json.loads((tmp_path / "resumed" / "state" / "LATEST.json").read_text()) == {"dir": "step-000004"}
    summary = run_recipe(_job(tmp_path, small_policy, scored, "resumed", overrides))
    assert summary["steps"] == 6
    straight, resumed = _weights(tmp_path / "straight" / "out"), _weights(tmp_path / "resumed" / "out")
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0)
    drop = ("time", "tokens_per_s")
    rows = lambda name: [{k: v for k, v in r.items() if k not in drop}  # noqa: E731
                         for r in read_metrics(tmp_path / name / "metrics.jsonl")]
    assert rows("resumed") == rows("straight")  # steps 5 of the killed attempt were dropped on resume


def test_empty_responses_and_nan_logps_are_skipped_and_counted(tmp_path, small_policy, scored):
    bad = scored.copy()
    bad.loc[0, "rejected"] = "   "  # an empty response
    bad.loc[1, "ref_chosen_logp"] = float("nan")  # a NaN reference log-prob
    bad.at[2, "opp_rejected_logp"] = [float("inf")]
    summary = run_recipe(_job(tmp_path, small_policy, bad, overrides={"optim": {**SMALL["optim"], "epochs": 1}}))
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert summary["skipped"] == 3 and sum(r["skipped"] for r in rows) == 3
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"]) for r in rows)
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path / "run" / "out").values())


def test_a_nan_policy_forward_skips_the_step_not_the_weights(tmp_path, small_policy, scored, monkeypatch):
    """Fault injection: the policy's final hidden states (hence its logits) turn NaN for one micro-batch;
    that step is dropped whole."""
    from mnpo_bench.train import loop

    real = loop.sequence_logps
    calls = {"n": 0}

    def poisoned(model, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            norm = model.base_model.norm  # the last layer before the head
            hook = norm.register_forward_hook(lambda m, i, out: out * float("nan"))
            try:
                return real(model, *args, **kwargs)
            finally:
                hook.remove()
        return real(model, *args, **kwargs)

    monkeypatch.setattr(loop, "sequence_logps", poisoned)
    one_step = {"optim": {**SMALL["optim"], "epochs": 1, "batch_size": 24, "grad_accum": 1}}
    summary = run_recipe(_job(tmp_path, small_policy, scored, overrides=one_step))
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert summary["steps"] == 1 and rows[0]["skipped"] == 24 and rows[0]["grad_norm"] is None
    assert math.isfinite(rows[0]["loss"])
    before, after = _weights(Path(small_policy)), _weights(tmp_path / "run" / "out")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_opponent_log_probs_enter_the_loss(tmp_path, small_policy, scored):
    """Shifting the stored opponent margins changes what is learned (they are read, not ignored)."""
    shifted = scored.copy()
    shifted["opp_chosen_logp"] = [[v[0] + 5.0] for v in shifted["opp_chosen_logp"]]
    one = {"optim": {**SMALL["optim"], "epochs": 1}}
    run_recipe(_job(tmp_path, small_policy, scored, "a", one))
    run_recipe(_job(tmp_path, small_policy, shifted, "b", one))
    a, b = read_metrics(tmp_path / "a" / "metrics.jsonl"), read_metrics(tmp_path / "b" / "metrics.jsonl")
    assert not np.isclose(a[0]["loss"], b[0]["loss"])


def test_stored_reference_logps_equal_the_policys_own_at_the_start(tmp_path, small_policy, scored):
    """The precompute and the step share one log-prob path: before any update the policy IS the reference,
    so DPO's first loss is exactly log 2 and its margin over the reference is 0."""
    recipe = load_recipe("dpo", overrides={"optim": {"batch_size": 6, "grad_accum": 1, "epochs": 1}, "max_length": 64})
    run_recipe(TrainJob(recipe, small_policy, scored, tmp_path / "out", tmp_path / "state", tmp_path / "m.jsonl", "dpo"))
    first = read_metrics(tmp_path / "m.jsonl")[0]
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)
