"""train.report_to with wandb, mlflow and trackio, all offline: a short training sends every optimiser step's
loss and margin to the tracker, read back through the tracker's own API or files (wandb's offline transaction
log parsed with wandb's own protobuf schema, MLflow's `MlflowClient.get_metric_history`, trackio's `Api` and
local SQLite store), equal to metrics.jsonl step for step; the tracker's files stay inside the run's tracking
folder and hold neither a secret from the environment nor the home directory; a training that fails closes
its tracker run marked failed."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from mnpo_bench.train.loop import TrainJob, run_recipe
from mnpo_bench.train.metrics import read_metrics
from mnpo_bench.train.precompute import add_logps
from mnpo_bench.train.recipes import load_recipe
from tests.train.conftest import arithmetic_pairs

SECRET = "sk-trackers-test-0123456789abcdef"
# MLflow 3.18's own mappers on SQLAlchemy 2.1, not ours
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def pairs(small_policy):
    return add_logps(arithmetic_pairs(16), small_policy, [small_policy], max_length=48)


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory):
    """An empty MLflow SQLite store, made once: creating one runs MLflow's schema migrations (4-9 s here), so
    each test starts its run's `tracking/mlflow.db` as a copy of this one."""
    import mlflow

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    mlflow.search_experiments()
    mlflow.set_tracking_uri(previous)  # None: unset again, so the fits choose their own store
    return path


def fresh_mlflow_store(tmp_path: Path, template: Path, monkeypatch) -> Path:
    """The run's default MLflow store (no MLFLOW_TRACKING_URI, no telemetry), started from `template`."""
    import shutil

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    store = tmp_path / "run" / "tracking" / "mlflow.db"
    store.parent.mkdir(parents=True)
    shutil.copyfile(template, store)
    return store


@pytest.fixture
def sealed_env(tmp_path, monkeypatch):
    """A home directory of its own and a key-shaped secret in the environment, both to look for in the files."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return home


def train(tmp_path: Path, policy: str, pairs, tracker: str | tuple[str, ...], on_step=None):
    """Four optimiser steps of MNPO reporting to `tracker` (or several); returns (the tracking folder,
    metrics.jsonl's rows)."""
    recipe = load_recipe("mnpo", overrides={"optim": {"epochs": 1, "batch_size": 4, "grad_accum": 1}, "max_length": 48})
    run = tmp_path / "run"
    job = TrainJob(recipe, policy, pairs, run / "out", run / "state", run / "metrics.jsonl", "mnpo", iteration=2,
                   report_to=(tracker,) if isinstance(tracker, str) else tracker, tracking_dir=run / "tracking",
                   on_step=on_step)
    run_recipe(job)
    return run / "tracking", read_metrics(run / "metrics.jsonl")


def assert_sealed(folder: Path, home: Path) -> None:
    """No file under `folder` holds the secret or the home directory's path."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data and str(home).encode() not in data, path


def wandb_records(path: Path):
    """The protobuf records of a wandb transaction log (`run-<id>.wandb`). wandb 0.31 ships no Python reader
    of its own log (the Go core writes it), so this walks its framing by hand: a 7-byte file header, then
    LevelDB-log chunks in 32 KiB blocks (7-byte header: CRC, length, type FULL/FIRST/MIDDLE/LAST)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, header, pos, record = 32768, 7, 7, b""
    while pos + header <= len(data):
        room = block - pos % block
        length, kind = struct.unpack("<HB", data[pos + 4:pos + header]) if room >= header else (0, 0)
        if kind == 0:  # the rest of the block is padding
            pos += room
            continue
        chunk = data[pos + header:pos + header + length]
        pos += header + length
        record = chunk if kind in (1, 2) else record + chunk
        if kind in (1, 4):
            parsed = wandb_internal_pb2.Record()
            parsed.ParseFromString(record)
            yield parsed


def test_wandb_offline_gets_every_step(tmp_path, small_policy, pairs, sealed_env, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.chdir(sealed_env)  # wandb's own default is ./wandb
    monkeypatch.delenv("WANDB_DIR", raising=False)
    tracking, rows = train(tmp_path, small_policy, pairs, "wandb")
    (log,) = tracking.glob("wandb/offline-run-*/run-*.wandb")
    records = list(wandb_records(log))
    history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert [h["_step"] for h in history] == [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [h["train/loss"] for h in history] == [r["loss"] for r in rows]
    assert [h["train/margin"] for h in history] == [r["margin"] for r in rows]
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.project == run.display_name == "mnpo__iter2"
    assert [r.exit.exit_code for r in records if r.WhichOneof("record_type") == "exit"] == [0]
    assert not (sealed_env / "wandb").exists()  # nothing in the working directory
    assert_sealed(tracking, sealed_env)


def test_mlflow_sqlite_gets_every_step(tmp_path, small_policy, pairs, sealed_env, mlflow_db, monkeypatch):
    from mlflow.tracking import MlflowClient

    fresh_mlflow_store(tmp_path, mlflow_db, monkeypatch)
    tracking, rows = train(tmp_path, small_policy, pairs, "mlflow")
    assert "MLFLOW_TRACKING_URI" not in os.environ  # restored after the fit
    client = MlflowClient(f"sqlite:///{tracking / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mnpo__iter2").experiment_id])
    assert run.info.run_name == "mnpo__iter2" and run.info.status == "FINISHED"
    assert run.data.params["method"] == "mnpo" and run.data.params["iteration"] == "2"
    for field in ("loss", "margin"):
        history = client.get_metric_history(run.info.run_id, f"train/{field}")
        assert [m.step for m in history] == [r["step"] for r in rows] == [1, 2, 3, 4]
        assert [m.value for m in history] == [r[field] for r in rows]
    assert_sealed(tracking, sealed_env)


def test_a_failed_training_closes_its_tracker_runs_as_failed(tmp_path, small_policy, pairs, mlflow_db, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("WANDB_MODE", "offline")
    fresh_mlflow_store(tmp_path, mlflow_db, monkeypatch)

    def crash(row):
        if row["step"] == 2:
            raise RuntimeError("injected at step 2")

    with pytest.raises(RuntimeError, match="injected"):
        train(tmp_path, small_policy, pairs, ("wandb", "mlflow"), on_step=crash)
    assert "MLFLOW_TRACKING_URI" not in os.environ and mlflow.active_run() is None  # the next fit starts clean
    client = MlflowClient(f"sqlite:///{tmp_path / 'run' / 'tracking' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mnpo__iter2").experiment_id])
    assert run.info.status == "FAILED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [1, 2]
    (log,) = (tmp_path / "run" / "tracking").glob("wandb/offline-run-*/run-*.wandb")
    records = list(wandb_records(log))
    steps = [json.loads(item.value_json) for r in records if r.WhichOneof("record_type") == "history"
             for item in r.history.item if (item.key or "/".join(item.nested_key)) == "_step"]
    assert steps == [1, 2]
    assert [r.exit.exit_code for r in records if r.WhichOneof("record_type") == "exit"] == [1]


@pytest.fixture(scope="module")
def trackio_dir(tmp_path_factory):
    """trackio reads TRACKIO_DIR once, when first imported: set it before anything imports trackio."""
    folder = tmp_path_factory.mktemp("trackio")
    previous = os.environ.get("TRACKIO_DIR")
    os.environ["TRACKIO_DIR"] = str(folder)
    import trackio.utils

    if trackio.utils.TRACKIO_DIR != folder:
        pytest.fail(f"trackio was imported before this test set TRACKIO_DIR (it uses {trackio.utils.TRACKIO_DIR})")
    yield folder
    if previous is None:
        os.environ.pop("TRACKIO_DIR", None)
    else:
        os.environ["TRACKIO_DIR"] = previous


def test_trackio_local_gets_every_step(tmp_path, small_policy, pairs, sealed_env, trackio_dir):
    import trackio

    _tracking, rows = train(tmp_path, small_policy, pairs, "trackio")
    runs = list(trackio.Api().runs("mnpo__iter2"))
    assert [r.name for r in runs] == ["mnpo__iter2"]
    assert runs[0].config["method"] == "mnpo"
    from trackio.sqlite_storage import SQLiteStorage

    logs = SQLiteStorage.get_logs("mnpo__iter2", "mnpo__iter2")
    assert [entry["step"] for entry in logs] == [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [entry["train/loss"] for entry in logs] == [r["loss"] for r in rows]
    assert [entry["train/margin"] for entry in logs] == [r["margin"] for r in rows]
    assert_sealed(trackio_dir, sealed_env)
