"""Experiment trackers (`train.report_to`) through accelerate's trackers: what each one is told so that an
offline run keeps its files inside the run's tracking folder, names its run after the iterate, records nothing
from outside the run (no git state, code, environment, host metadata), and is closed, marked failed, when
training stops on an error.

accelerate starts every tracker with the same project name, the iterate's name (`<method>__iter<t>`): the
TensorBoard subfolder, the wandb and trackio project, the MLflow experiment. What each tracker stores where:
- tensorboard: `<tracking_dir>/<name>/events.out.tfevents.*`;
- wandb: `$WANDB_DIR`, else `<tracking_dir>/wandb/` (`WANDB_MODE=offline`: no network; `wandb sync` later);
- mlflow: `$MLFLOW_TRACKING_URI` (or `mlflow.set_tracking_uri`), else `sqlite:///<tracking_dir>/mlflow.db`
  (MLflow 3's own default is `./mlflow.db` in the working directory; its file store refuses to start);
- trackio: `$TRACKIO_DIR` (read when trackio is first imported), else `~/.cache/huggingface/trackio`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TRACKED = ("loss", "margin", "chosen_logp", "rejected_logp", "grad_norm", "lr", "tokens_per_s", "skipped")


def tracked_values(row: dict[str, Any]) -> dict[str, float]:
    """The numeric fields of one metrics.jsonl row as tracker scalars, flat names `train/<field>` (None, e.g. a
    non-finite gradient norm, is left out: no tracker stores it)."""
    return {f"train/{k}": row[k] for k in TRACKED if row.get(k) is not None}


def tracker_kwargs(report_to: tuple[str, ...], tracking_dir: Path, name: str) -> dict[str, dict[str, Any]]:
    """accelerate's `init_kwargs` for `Accelerator.init_trackers`: per tracker, the keyword arguments its
    constructor (and through it `wandb.init` / `trackio.init` / `mlflow.start_run`) receives."""
    kwargs: dict[str, dict[str, Any]] = {}
    if "wandb" in report_to:
        import wandb

        folder = Path(os.environ.get("WANDB_DIR") or tracking_dir)
        folder.mkdir(parents=True, exist_ok=True)
        # no host metadata (paths, user, GPU), system sampling, git state, code or stdout copy in the run files
        settings = wandb.Settings(x_disable_meta=True, x_disable_machine_info=True, x_disable_stats=True,
                                  disable_git=True, disable_code=True, save_code=False, disable_job_creation=True,
                                  x_save_requirements=False, console="off", silent=True)
        kwargs["wandb"] = {"name": name, "dir": str(folder), "settings": settings}
    if "mlflow" in report_to:
        # mlflow.source.name would be sys.argv[0], an absolute path on this host
        kwargs["mlflow"] = {"run_name": name, "logging_dir": (tracking_dir / "mlflow-artifacts").as_uri(),
                            "tags": {"mlflow.source.name": "mnpo-bench"}}
    if "trackio" in report_to:
        kwargs["trackio"] = {"name": name, "embed": False, "auto_log_gpu": False, "auto_log_cpu": False}
    return kwargs


@contextlib.contextmanager
def tracking_store(report_to: tuple[str, ...], tracking_dir: Path) -> Iterator[None]:
    """While open, MLflow logs to `sqlite:///<tracking_dir>/mlflow.db` unless a tracking URI was chosen
    (`MLFLOW_TRACKING_URI` or `mlflow.set_tracking_uri`); the environment is restored on exit."""
    if "mlflow" not in report_to or os.environ.get("MLFLOW_TRACKING_URI"):
        yield
        return
    import mlflow

    if mlflow.is_tracking_uri_set():
        yield
        return
    tracking_dir.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tracking_dir.resolve() / 'mlflow.db'}"
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)


def mark_failed(accelerator: Any) -> None:
    """Mark the open tracker runs of `accelerator` as failed where the tracker has that state (wandb exit code
    1, MLflow status FAILED); `accelerator.end_training()` then closes them all."""
    for tracker in getattr(accelerator, "trackers", []):
        with contextlib.suppress(Exception):  # closing is best effort: the training error is what surfaces
            if tracker.name == "wandb":
                tracker.tracker.finish(exit_code=1)
            elif tracker.name == "mlflow":
                import mlflow

                mlflow.end_run(status="FAILED")
