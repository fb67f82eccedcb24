"""train.report_to: a short training writes TensorBoard event files holding every step's loss (read back with
TensorBoard's own EventAccumulator), equal to metrics.jsonl; a tracker that is not installed is refused before
any work."""

from __future__ import annotations

import pytest

from mnpo_bench.cli import main
from mnpo_bench.train.loop import TrainJob, run_recipe
from mnpo_bench.train.metrics import read_metrics
from mnpo_bench.train.precompute import add_logps
from mnpo_bench.train.recipes import load_recipe
from tests.train.conftest import arithmetic_pairs


def test_a_short_training_writes_tensorboard_scalars(tmp_path, small_policy):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    pairs = add_logps(arithmetic_pairs(16), small_policy, [small_policy], max_length=48)
    recipe = load_recipe("mnpo", overrides={"optim": {"epochs": 1, "batch_size": 4, "grad_accum": 1}, "max_length": 48})
    job = TrainJob(recipe, small_policy, pairs, tmp_path / "out", tmp_path / "state", tmp_path / "metrics.jsonl",
                   "mnpo", iteration=2, report_to=("tensorboard",), tracking_dir=tmp_path / "tracking")
    run_recipe(job)
    logdir = tmp_path / "tracking" / "mnpo__iter2"
    assert list(logdir.rglob("events.out.tfevents.*"))
    events = EventAccumulator(str(logdir)).Reload()
    assert {"train/loss", "train/margin", "train/lr", "train/grad_norm"} <= set(events.Tags()["scalars"])
    rows = read_metrics(tmp_path / "metrics.jsonl")
    logged = events.Scalars("train/loss")
    assert [e.step for e in logged] == [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [e.value for e in logged] == pytest.approx([r["loss"] for r in rows], rel=1e-6)  # float32 in the file


def test_a_tracker_that_is_not_installed_is_one_line(tmp_path, capsys, monkeypatch):
    from accelerate.utils import imports

    monkeypatch.setattr(imports, "is_mlflow_available", lambda: False)
    code = main(["validate", "--set", "train.report_to=[mlflow]"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "train.report_to" in err[0] and "pip install mlflow" in err[0], err
    code = main(["validate", "--set", "train.report_to=[comet]"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "train.report_to" in err[0], err


def test_mlflow_without_its_local_store_is_one_line(capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "sqlalchemy" else find_spec(name, *args))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code = main(["validate", "--set", "train.report_to=[mlflow]"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "train.report_to" in err[0] and "sqlalchemy" in err[0], err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")  # a server: no local store needed
    assert main(["validate", "--set", "train.report_to=[mlflow]"]) == 0
