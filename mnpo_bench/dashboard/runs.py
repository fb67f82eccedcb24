"""Finding runs and the files inside them.

A run is a directory under the runs root holding a `manifest.json`, a `config.yaml`, a parquet table, a
`train/` or a `leaderboard/` folder; a directory under the leaderboards root holding `ratings.csv` is a
published leaderboard, shown even when its run directory is not around (heavy artefacts stay with the
run). Both share the run's name. Every path is checked with `roots.inside`, so a symlink that points out
of a root is ignored.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from mnpo_bench.dashboard import reads
from mnpo_bench.dashboard.roots import Roots, inside
from mnpo_bench.errors import UserError

# Where each table lives inside a run (docs/ARCHITECTURE.md); a tuple so a table may gain a second home.
TABLES: dict[str, tuple[str, ...]] = {
    "prompts": ("prompts.parquet",),
    "generations": ("generations.parquet",),
    "responses": ("responses.parquet",),
    "judgments": ("judgments.parquet",),
    "preferences": ("preferences.parquet",),
    "battles": ("battles.parquet",),
    "bench": ("bench.parquet",),
}
_RUN_MARKERS = ("manifest.json", "config.yaml", "train", "leaderboard", *(p for ps in TABLES.values() for p in ps))


@dataclass(frozen=True)
class Run:
    """One run as the dashboard sees it: its run directory and/or its published leaderboard directory."""

    name: str
    run_dir: Path | None
    board_dir: Path | None

    def file(self, rel: str) -> Path | None:
        """The run-relative file `rel` if it exists, else None."""
        if self.run_dir is None:
            return None
        path = self.run_dir / rel
        return path if path.exists() else None

    def table(self, name: str) -> Path | None:
        """The first existing file of table `name` (see TABLES), else None."""
        found = self.tables(name)
        return found[0] if found else None

    def tables(self, name: str) -> list[Path]:
        """Every existing file of table `name` (e.g. the annotate stage's and the tournament's judgments)."""
        return [p for rel in TABLES[name] if (p := self.file(rel)) is not None]

    def where(self, rel: str) -> str:
        """How to name `rel` in a message: `runs/<name>/<rel>`-style, relative to the run."""
        return f"{self.name}/{rel}"


def _looks_like_run(path: Path) -> bool:
    return path.is_dir() and any((path / marker).exists() for marker in _RUN_MARKERS)


def _board_of(run_dir: Path | None, boards_root: Path, name: str) -> Path | None:
    if run_dir is not None and (run_dir / "leaderboard" / "ratings.csv").exists():
        return run_dir / "leaderboard"
    try:
        published = inside(boards_root, name)
    except UserError:
        return None
    return published if (published / "ratings.csv").exists() else None


@st.cache_data(show_spinner=False, ttl=10, max_entries=16)
def discover(roots: Roots) -> dict[str, Run]:
    """Every run under the runs root and every published leaderboard, by name (sorted); rescanned at most
    every 10 s, so a new run shows up within that."""
    names: dict[str, Path | None] = {}
    for root, is_run in ((roots.runs, True), (roots.leaderboards, False)):
        if not root.is_dir():
            continue
        for child in root.iterdir():
            try:
                path = inside(root, child.name)
            except UserError:
                continue  # a symlink leaving the root
            if is_run and _looks_like_run(path):
                names[child.name] = path
            elif not is_run and (path / "ratings.csv").exists():
                names.setdefault(child.name, None)
    return {name: Run(name, rd, _board_of(rd, roots.leaderboards, name)) for name, rd in sorted(names.items())}


def open_run(roots: Roots, name: str) -> Run:
    """The run called (or typed as) `name`, a path relative to the runs root (or a published leaderboard's
    name); UserError when it leaves the roots or holds no run."""
    run_dir = inside(roots.runs, name)
    label = run_dir.relative_to(roots.runs).as_posix() if run_dir != roots.runs else "."
    rd = run_dir if _looks_like_run(run_dir) else None
    board = _board_of(rd, roots.leaderboards, name)
    if rd is None and board is None:
        raise UserError(
            "no run here (no manifest.json, config.yaml, tables or leaderboard)", where=name,
            fix=f"type a run directory under {roots.runs}",
        )
    return Run(label, rd, board)


def _dir_size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


@st.cache_data(show_spinner=False, ttl=30, max_entries=256)
def _size_cached(path: str, mtime_ns: int) -> int:
    return _dir_size(Path(path))


def size_bytes(path: Path) -> int:
    """Total size of the files under `path` in bytes (cached for 30 s per directory mtime)."""
    return _size_cached(str(path), path.stat().st_mtime_ns)


def stages(run: Run) -> list[dict]:
    """The manifest's stages in the order they started: name, status, seconds, started/finished (local
    time text), outputs."""
    manifest = run.file("manifest.json")
    if manifest is None:
        return []
    data = reads.read_json(manifest)
    rows = []
    records = sorted((data.get("stages") or {}).items(), key=lambda item: item[1].get("started") or 0)
    for name, rec in records:
        rows.append({
            "stage": name, "status": rec.get("status"), "seconds": rec.get("seconds"),
            "started": _when(rec.get("started")), "finished": _when(rec.get("finished")),
            "judge calls": rec.get("judge_calls"), "judge $": rec.get("judge_cost_usd"),
            "outputs": ", ".join(rec.get("outputs") or []),
        })
    return rows


def _when(unix: float | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix)) if unix else None


def last_ran(run: Run) -> str | None:
    """When the run last did something: the manifest's latest finish, else the newest file's mtime."""
    manifest = run.file("manifest.json")
    if manifest is not None:
        data = reads.read_json(manifest)
        stamps = [rec.get("finished") or rec.get("started") for rec in (data.get("stages") or {}).values()]
        stamps = [s for s in stamps if s] + ([data["updated"]] if data.get("updated") else [])
        if stamps:
            return _when(max(stamps))
    folder = run.run_dir or run.board_dir
    return _when(folder.stat().st_mtime) if folder else None


def table_sizes(run: Run) -> list[dict]:
    """For every known table: where it is (or "missing"), its rows and size in MB."""
    rows = []
    for name in TABLES:
        found = run.tables(name)
        if not found:
            rows.append({"table": name, "file": "missing", "rows": None, "MB": None})
        for path in found:
            rows.append({
                "table": name, "file": path.relative_to(run.run_dir).as_posix(),
                "rows": reads.parquet_rows(path), "MB": round(path.stat().st_size / 1e6, 3),
            })
    return rows


_SECRET_KEY = re.compile(r"(^|_)(api_?key|secret|password|passwd|access_token|auth_token|bearer|credentials?)$", re.I)


def redact(value: Any) -> Any:
    """`value` with the values of secret-looking keys (api_key, password, ...) replaced by '***'."""
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def config(run: Run) -> dict | None:
    """The run's resolved config.yaml (secret-looking values redacted), or None when absent."""
    path = run.file("config.yaml")
    return redact(reads.read_yaml(path) or {}) if path else None


def summary(run: Run) -> dict:
    """One row of the Runs table: stages done, last activity, size, battles, policies, leaderboard, and the
    files that could not be read (the row is still shown)."""
    problems: list[str] = []

    def attempt(fn, default=None):
        try:
            return fn()
        except UserError as exc:
            problems.append(Path(exc.where or "").name + " unreadable")
            return default

    recorded = attempt(lambda: stages(run), [])
    done = [s["stage"] for s in recorded if s["status"] == "done"]
    battles, policies = run.table("battles"), run.file("policies.json")
    return {
        "run": run.name,
        "stages done": ", ".join(done) or ("(published leaderboard only)" if run.run_dir is None else "none"),
        "unfinished": ", ".join(s["stage"] for s in recorded if s["status"] != "done"),
        "last ran": attempt(lambda: last_ran(run)),
        "size (MB)": round(size_bytes(run.run_dir) / 1e6, 2) if run.run_dir else None,
        "battles": attempt(lambda: reads.parquet_rows(battles)) if battles else 0,
        "policies": attempt(lambda: len(reads.read_json(policies))) if policies else None,
        "leaderboard": "yes" if run.board_dir else "no",
        "problems": "; ".join(problems),
    }
