"""The run store: one directory per run, with the resolved config, a manifest and parquet tables.

Layout of `runs/<name>/`:

    config.yaml          the resolved config the run used
    manifest.json        {"stages": {stage: {"status", "input_hash", "outputs", "started", "finished", "seconds",
                         "note"}}}; status is running, done, incomplete (it finished with failed judgments:
                         a re-run asks again for those) or rejected (it stopped on a UserError, in note)
    <table>.parquet      prompts, generations, judgments, preferences, battles, ...
    .parts/<stage>/      chunks of a stage in progress (resume inside a stage); removed when it finishes

Every write is atomic (a temp file in the same directory, fsync, then `os.replace`), so a killed run never
leaves a table that reads as complete but is not. A stage is "done" only once the manifest says so, and the
manifest is written after the stage's outputs, so a kill between the two re-runs the stage rather than
trusting a partial result.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mnpo_bench.errors import UserError

MANIFEST = "manifest.json"
LOCK = ".lock"  # held by the process working in a run directory (RunStore.lock)


def stable_hash(*parts: Any) -> str:
    """A hex digest (16 chars) of JSON-serialisable `parts`, stable across processes and machines."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_hash(path: Path) -> str:
    """A hex digest (16 chars) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it is renamed onto `path`, on error it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a fresh scratch directory beside `path`; on success it replaces `path` (any old copy is removed
    first, so a reader sees the old directory, then none, then the complete new one: never a half-written
    one), on error it is removed. For checkpoints and other multi-file outputs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield scratch
        shutil.rmtree(path, ignore_errors=True)
        scratch.rename(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def safe_name(name: str, sep: str = "__") -> str:
    """`name` as one path component: every run of characters outside [A-Za-z0-9_.-] becomes `sep`
    ("dpo/iter1" -> "dpo__iter1"); never empty, never "." or "..". Policy, stage and cell names go through
    it wherever they name a file or directory."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", sep, str(name)).strip(".") or "_"
    return cleaned


def json_safe(value: Any) -> Any:
    """`value` made strict JSON: numpy scalars plain, NaN/inf as None, dict keys as text (recursively)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_text(path: Path, text: str) -> None:
    """Atomically write `text` to `path`."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(text)


def write_json(path: Path, obj: Any) -> None:
    """Atomically write `obj` as indented JSON."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Atomically write a DataFrame as parquet (pyarrow, no index)."""
    with atomic_path(Path(path)) as tmp:
        frame.to_parquet(tmp, index=False, engine="pyarrow")


def read_table(path: Path) -> pd.DataFrame:
    """Read a parquet table written by `write_table`."""
    return pd.read_parquet(path, engine="pyarrow")


@dataclass
class StageRecord:
    """What the manifest says of one stage."""

    status: str  # "running" | "done" | "incomplete" | "rejected"
    input_hash: str
    outputs: list[str]
    started: float
    finished: float | None = None
    seconds: float | None = None
    judge_calls: int | None = None  # judge calls the stage made (cache hits not counted)
    judge_cost_usd: float | None = None  # their price in US dollars
    note: str | None = None  # why a stage is incomplete or rejected (one line, secrets redacted)


class RunStore:
    """A run directory: tables, manifest and the bookkeeping that makes re-runs skip finished work."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = None  # the held filelock.FileLock while a verb works in this run directory

    # -- one process at a time ----------------------------------------------------------------------
    def lock(self) -> "RunStore":
        """Hold the run directory's lock (`<root>/.lock`, an OS file lock: freed when the process ends, even
        by kill -9); a UserError when another process holds it. Returns self; `unlock` frees it."""
        from filelock import FileLock, Timeout

        if self._lock is None:
            lock = FileLock(self.root / LOCK)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise UserError("another mnpo-bench process is working in this run directory", where=str(self.root),
                                fix="wait for it to finish, or pass a different --out") from None
            self._lock = lock
        return self

    def unlock(self) -> None:
        """Free the lock taken by `lock` (no-op when not held)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- creation -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path) -> "RunStore":
        """Open (creating if needed) the run directory `root`; a UserError if it cannot be written."""
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / f".write-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(
                f"cannot write the run directory ({exc.strerror or exc})",
                where=str(root),
                fix="pass --out with a directory you can write to",
            ) from None
        return cls(root)

    # -- manifest -----------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> dict[str, Any]:
        """The manifest as a dict (an empty one for a new run)."""
        if not self.manifest_path.exists():
            return {"stages": {}}
        return json.loads(self.manifest_path.read_text())

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated"] = time.time()
        write_json(self.manifest_path, manifest)

    def stage_record(self, stage: str) -> StageRecord | None:
        """The manifest's record of `stage`, or None if it never started."""
        record = self.manifest()["stages"].get(stage)
        return StageRecord(**record) if record else None

    def is_done(self, stage: str, input_hash: str) -> bool:
        """True when `stage` finished with these inputs and all its outputs still exist."""
        record = self.stage_record(stage)
        return (
            record is not None
            and record.status == "done"
            and record.input_hash == input_hash
            and all((self.root / out).exists() for out in record.outputs)
        )

    def mark_running(self, stage: str, input_hash: str) -> None:
        manifest = self.manifest()
        manifest["stages"][stage] = {
            "status": "running", "input_hash": input_hash, "outputs": [], "started": time.time(),
        }
        self._write_manifest(manifest)

    def mark_done(self, stage: str, input_hash: str, outputs: list[str], started: float, *, status: str = "done",
                  note: str | None = None, spend: dict[str, Any] | None = None) -> None:
        """Record that `stage` ended: done, or (with `note` saying why) incomplete or rejected; only a done
        stage is skipped by a re-run. `spend` ({judge_calls, judge_cost_usd}) joins the record when given."""
        manifest = self.manifest()
        now = time.time()
        manifest["stages"][stage] = {
            "status": status, "input_hash": input_hash, "outputs": sorted(outputs),
            "started": started, "finished": now, "seconds": round(now - started, 3),
            **({"note": note} if note else {}), **(spend or {}),
        }
        self._write_manifest(manifest)

    # -- tables -------------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """The path of `name` inside the run directory."""
        return self.root / name

    def write_table(self, name: str, frame: pd.DataFrame) -> Path:
        """Atomically write `frame` as `<name>.parquet` in the run; returns its path."""
        path = self.root / f"{name}.parquet"
        write_table(path, frame)
        return path

    def read_table(self, name: str) -> pd.DataFrame:
        """Read `<name>.parquet`; a UserError naming the missing stage when it is absent."""
        path = self.root / f"{name}.parquet"
        if not path.exists():
            raise UserError(f"table '{name}' is missing", where=str(path), fix="run the stage that writes it first")
        return read_table(path)

    def has_table(self, name: str) -> bool:
        return (self.root / f"{name}.parquet").exists()

    # -- resume inside a stage ----------------------------------------------------------------------
    def parts(self, stage: str, input_hash: str) -> "Parts":
        """Chunk storage for `stage` with these inputs; chunks of other inputs are discarded."""
        return Parts(self._parts_dir(stage), input_hash)

    def clear_parts(self, stage: str) -> None:
        """Remove `stage`'s chunks (once the stage's own outputs are written)."""
        shutil.rmtree(self._parts_dir(stage), ignore_errors=True)

    def _parts_dir(self, stage: str) -> Path:
        return self.root / ".parts" / safe_name(stage)


class Parts:
    """Chunks of a stage in progress: each chunk is an atomically written parquet file, so an interrupted
    stage resumes from the chunks it finished. Chunks are tied to the stage's input hash."""

    def __init__(self, directory: Path, input_hash: str):
        self.directory = directory
        stamp = directory / "INPUT_HASH"
        if directory.exists() and (not stamp.exists() or stamp.read_text() != input_hash):
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if not stamp.exists():
            write_text(stamp, input_hash)

    def _chunk(self, key: str) -> Path:
        return self.directory / f"{key}.parquet"

    def done(self, key: str) -> bool:
        return self._chunk(key).exists()

    def get(self, key: str) -> pd.DataFrame:
        return read_table(self._chunk(key))

    def put(self, key: str, frame: pd.DataFrame) -> None:
        write_table(self._chunk(key), frame)

    def compute(self, key: str, fn: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The chunk `key`, computed by `fn` unless a finished copy exists."""
        if self.done(key):
            return self.get(key)
        frame = fn()
        self.put(key, frame)
        return frame


def run_status(root: Path, stages: dict[str, Any]) -> str:
    """A run's status from its manifest's stages: "complete", "rejected in <stage>" (a stage stopped by bad
    input), "incomplete in <stage>" (failed judgments left to ask again), "running <stage>" while a process
    holds the run's lock, or "interrupted in <stage>" (a stage left running by a process that is gone)."""
    by_status: dict[str, list[str]] = {}
    for name, record in stages.items():
        by_status.setdefault(record["status"], []).append(name)
    for status in ("rejected", "incomplete"):
        if by_status.get(status):
            return f"{status} in {', '.join(by_status[status])}"
    running = by_status.get("running")
    if not running:
        return "complete"
    return f"running {', '.join(running)}" if _locked(root) else f"interrupted in {', '.join(running)}"


def _locked(root: Path) -> bool:
    """True when another process holds `root`'s run lock (tested without taking it for long)."""
    from filelock import FileLock, Timeout

    if not (root / LOCK).exists():
        return False
    try:
        with FileLock(root / LOCK).acquire(timeout=0):
            return False
    except Timeout:
        return True
    except OSError:  # a read-only run directory: nobody can be writing it
        return False


def list_runs(runs_dir: Path) -> list[str]:
    """One line per run under `runs_dir`: name, status, stages, last update."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return [f"no runs under {runs_dir}"]
    lines = []
    for manifest_path in sorted(runs_dir.glob("*/manifest.json")):
        stages = json.loads(manifest_path.read_text()).get("stages", {})
        done = [name for name, record in stages.items() if record["status"] == "done"]
        status = run_status(manifest_path.parent, stages)
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(manifest_path.stat().st_mtime))
        calls = sum(record.get("judge_calls") or 0 for record in stages.values())
        cost = sum(record.get("judge_cost_usd") or 0.0 for record in stages.values())
        lines.append(f"{manifest_path.parent.name:<24} {status:<32} {updated}  judge calls {calls:,} (${cost:.4f})  "
                     f"stages: {', '.join(done)}")
    return lines or [f"no runs under {runs_dir}"]
