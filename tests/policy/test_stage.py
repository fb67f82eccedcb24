"""The policy stage re-runs when the tiny model's build changes (its corpus code), not only when the policy
config does: a run made before the corpus changed does not keep the old reference silently."""

from __future__ import annotations

import json
from pathlib import Path

from mnpo_bench.config import RunConfig
from mnpo_bench.pipeline import open_run
from mnpo_bench.policy.stage import policy_stage


def _policy_stage(out):
    ctx = open_run(RunConfig(), out, quiet=True)
    try:
        policy_stage(ctx)
    finally:
        ctx.store.unlock()
    return ctx


def test_a_new_tiny_build_reruns_the_policy_stage(tiny_policy, tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert _policy_stage(out).ran == ["policy"]
    assert json.loads((out / "reference.json").read_text())["reference"] == "tiny:" + Path(tiny_policy).name
    assert _policy_stage(out).skipped == ["policy"]
    # the corpus code changes (its version here); the config does not
    monkeypatch.setattr("mnpo_bench.policy.tiny.CORPUS_VERSION", "a later corpus")
    from mnpo_bench.policy.config import TinyModelConfig
    from mnpo_bench.policy.tiny import tiny_model_dir

    rebuilt = str(tiny_model_dir(TinyModelConfig()))
    assert rebuilt != tiny_policy
    monkeypatch.setattr("mnpo_bench.policy.load.resolve_policy", lambda config, progress: rebuilt)  # no 30 s build
    assert _policy_stage(out).ran == ["policy"]
    assert json.loads((out / "reference.json").read_text())["reference"] == "tiny:" + Path(rebuilt).name
