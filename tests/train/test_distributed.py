"""Data parallel training through the same code path: two CPU processes (gloo) via torchrun."""

import json
import os
import subprocess
import sys

import pytest

from tests.train.conftest import arithmetic_pairs

pytestmark = pytest.mark.slow


def test_two_process_ddp_run_shards_the_batches(tmp_path, small_policy):
    data = tmp_path / "prefs.parquet"
    arithmetic_pairs(32).to_parquet(data)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29561",
               "-m", "mnpo_bench.cli", "train", "mnpo", "--data", str(data), "--model", small_policy,
               "--out", str(tmp_path / "out"), "--set", "optim.batch_size=4", "--set", "optim.epochs=1",
               "--set", "max_length=64", "--set", "checkpoint_every=2", "-q"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.strip().splitlines()) == 1  # only rank 0 reports
    rows = [json.loads(line) for line in (tmp_path / "out" / "mnpo" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # 8 micro-batches of 4 pairs shared by 2 ranks
    assert (tmp_path / "out" / "mnpo" / "iter1" / "model.safetensors").exists()
