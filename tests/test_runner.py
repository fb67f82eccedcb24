"""`mnpo-bench run` end to end on a small config: skip, re-run on change, resume after kills, same seed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.runner import run_pipeline

pytestmark = pytest.mark.slow

SMALL = ["prompts.n_train=12", "prompts.n_eval=6", "generation.n_samples=2", "generation.max_new_tokens=16",
         "train.enabled=false", "tournament.enabled=false", "bench.enabled=false", "leaderboard.enabled=false",
         "panel.enabled=false"]


def tables(run: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(run.glob("*.parquet"))}


def test_rerun_skips_and_changed_input_reruns_downstream(tiny_policy, tmp_path):
    out = tmp_path / "run"
    first = run_pipeline(None, SMALL, out=out, quiet=True)
    assert {"prompts", "policy", "generate"} <= set(first.ran)
    again = run_pipeline(None, SMALL, out=out, quiet=True)
    assert again.ran == [] and {"prompts", "policy", "generate"} <= set(again.skipped)
    changed = run_pipeline(None, [*SMALL, "generation.temperature=0.7"], out=out, quiet=True)
    assert "generate" in changed.ran and "prompts" in changed.skipped and "policy" in changed.skipped
    reseeded = run_pipeline(None, [*SMALL, "seed=3"], out=out, quiet=True)
    assert {"prompts", "generate"} <= set(reseeded.ran)


def test_same_seed_gives_identical_tables(tiny_policy, tmp_path):
    run_pipeline(None, SMALL, out=tmp_path / "a", quiet=True)
    run_pipeline(None, SMALL, out=tmp_path / "b", quiet=True)
    a, b = tables(tmp_path / "a"), tables(tmp_path / "b")
    assert a.keys() == b.keys() and "generations" in a
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.02)
    raise AssertionError("the kill point was never reached")


def _start(out: Path, extra: list[str]) -> subprocess.Popen:
    args = [a for pair in ([*SMALL, *extra]) for a in ("--set", pair)]
    return subprocess.Popen([sys.executable, "-m", "mnpo_bench.cli", "run", "--out", str(out), "-q", *args],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stages(out: Path) -> dict:
    path = out / "manifest.json"
    return json.loads(path.read_text())["stages"] if path.exists() else {}


def test_kill_inside_a_stage_resumes_from_finished_chunks(tiny_policy, tmp_path):
    extra = ["prompts.n_train=200", "generation.n_samples=1", "generation.max_new_tokens=12"]
    reference = tmp_path / "uninterrupted"
    run_pipeline(None, [*SMALL, *extra], out=reference, quiet=True)
    out = tmp_path / "killed"
    chunks = out / ".parts" / "generate"
    proc = _start(out, extra)
    _kill_when(proc, lambda: len(list(chunks.glob("reference-*.parquet"))) >= 1)
    assert _stages(out)["generate"]["status"] == "running"
    assert not (out / "generations.parquet").exists()  # no table that reads as complete
    kept = {p.name: p.stat().st_mtime_ns for p in chunks.glob("reference-*.parquet")}
    resumed = run_pipeline(None, [*SMALL, *extra], out=out, quiet=True)
    assert "generate" in resumed.ran and "prompts" in resumed.skipped
    pd.testing.assert_frame_equal(pd.read_parquet(out / "generations.parquet"),
                                  pd.read_parquet(reference / "generations.parquet"))
    assert kept  # chunks finished before the kill were reused, not regenerated
    assert not chunks.exists()  # cleared once the stage is done


def test_kill_between_stages_resumes(tiny_policy, tmp_path):
    out = tmp_path / "run"
    proc = _start(out, [])
    _kill_when(proc, lambda: _stages(out).get("policy", {}).get("status") == "done")
    resumed = run_pipeline(None, SMALL, out=out, quiet=True)
    assert "prompts" in resumed.skipped and "generate" in resumed.ran
    assert all(record["status"] == "done" for record in _stages(out).values())
