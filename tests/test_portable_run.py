"""A run directory copied elsewhere (cp -r, the original removed) still opens: policies.json and reference.json
hold run-relative paths and the tiny model's cache key, never the run's absolute path; the dashboard renders it
and `mnpo-bench tournament` there re-uses its answers and judgments. Runs written with absolute paths still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mnpo_bench.cli import main
from mnpo_bench.dashboard.roots import ENV_LEADERBOARDS, ENV_RUNS
from mnpo_bench.policy.load import read_policies
from mnpo_bench.runner import run_pipeline, run_tournament

pytestmark = pytest.mark.slow  # a small run end to end: 18 s on the loaded 2-core machine (the tiny build aside)

SMALL = ["prompts.n_train=8", "prompts.n_eval=4", "generation.n_samples=2", "generation.max_new_tokens=12",
         "train.methods=[dpo]", "train.iterations=1", "bench.enabled=false", "leaderboard.bootstrap=50", "train.report_to=[tensorboard]"]
PAGES = ("runs", "leaderboard", "tournament", "annotators", "training", "explorer", "compare")


def test_a_copied_run_opens_in_the_dashboard_and_in_tournament(tiny_policy, tmp_path, monkeypatch, capsys):
    original, boards = tmp_path / "here" / "run", tmp_path / "boards"
    run_pipeline(None, [*SMALL, f"leaderboard.publish_dir={boards}"], out=original, quiet=True)
    assert list((original / "train" / "tracking" / "dpo__iter1").rglob("events.out.tfevents.*"))  # train.report_to
    stored = json.loads((original / "policies.json").read_text())
    assert stored == {"reference": "tiny:" + Path(tiny_policy).name, "dpo/iter1": "train/dpo/iter1"}
    assert json.loads((original / "reference.json").read_text()) == {"reference": stored["reference"]}

    moved = tmp_path / "elsewhere" / "runs" / "run"
    shutil.copytree(original, moved, copy_function=shutil.copy)  # cp -r: new inodes, new modification times
    shutil.rmtree(original)
    assert read_policies(moved) == {"reference": tiny_policy, "dpo/iter1": str(moved / "train" / "dpo" / "iter1")}

    from tests.dashboard.conftest import open_page

    monkeypatch.setenv(ENV_RUNS, str(moved.parent))
    monkeypatch.setenv(ENV_LEADERBOARDS, str(boards))
    at = open_page("runs", "run")
    for page in PAGES:
        at.switch_page(f"mnpo_bench/dashboard/pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])

    ctx = run_tournament([], moved / "config.yaml", [], out=moved, quiet=True)
    assert {"tournament/answers/reference", "tournament/answers/dpo__iter1", "tournament"} <= set(ctx.skipped)
    assert ctx.ran == []  # answers and judgments re-used: the copied checkpoints fingerprint the same
    assert main(["tournament", "--config", str(moved / "config.yaml"), "--out", str(moved), "--quiet"]) == 0


def test_a_run_with_absolute_paths_still_reads(tiny_policy, tmp_path):
    run = tmp_path / "old"
    (run / "train" / "dpo").mkdir(parents=True)
    shutil.copytree(tiny_policy, run / "train" / "dpo" / "iter1")
    (run / "policies.json").write_text(json.dumps({"reference": tiny_policy,
                                                   "dpo/iter1": str(run / "train" / "dpo" / "iter1")}))
    assert read_policies(run) == {"reference": tiny_policy, "dpo/iter1": str(run / "train" / "dpo" / "iter1")}
