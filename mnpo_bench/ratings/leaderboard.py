"""`build_leaderboard`: battles in, a leaderboard directory out, all or nothing.

Every check and computation happens before the first byte is written; the files are then written into a
hidden temporary directory inside DIR and moved into place one by one (atomic renames), so a bad battles
file or an interrupted run never leaves a half-written ratings.csv.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.ratings.battles import check_battles, read_battles_file
from mnpo_bench.ratings.compute import Leaderboard, rate
from mnpo_bench.ratings.noise import keep_unchanged
from mnpo_bench.ratings.report import render_report
from mnpo_bench.store import json_safe

OUTPUTS = ("ratings.csv", "matrix.csv", "diagnostics.json", "annotators.csv", "annotator_ratings.csv", "paired.csv",
           "report.md")
BENCH_COLUMNS = ("model", "task", "metric", "value")


def build_leaderboard(battles: pd.DataFrame | str | Path, out_dir: str | Path, *, reference: str | None,
                      bootstrap: int, seed: int, bench: pd.DataFrame | str | Path | None = None,
                      soft: bool = True, source: str | None = None, reference_option: str = "--reference",
                      schedule: dict | None = None, resample: str = "prompts",
                      responses: pd.DataFrame | None = None, length_control: str = "pooled") -> Leaderboard:
    """Rate `battles` (a table or a .parquet/.jsonl/.json/.csv path) and write OUTPUTS into `out_dir`.

    reference: the model win_rate_vs_ref and lc_win_rate_vs_ref compare against (None: the model present in
    every battle, if there is one). bootstrap: rounds for 95% intervals (0: none). seed: fixes the bootstrap.
    bench: optional table (model, task, metric, value, stderr) joined as one ratings column per task/metric.
    resample: "prompts" (a cluster bootstrap over prompts, where battles name them) or "battles".
    soft: score a battle by prob_a where given (AlpacaEval's weighted win rate) rather than by its winner.
    source: how errors name the battles (default: the path); reference_option: how they name the reference.
    schedule: how a scheduled tournament chose its comparisons (tournament.schedule.ScheduleResult.note()),
    kept in diagnostics.json and stated in report.md. responses: the answers' texts (response_id, text), so
    the Nash gap counts identical answers as one and diversity can be measured (None: answers by response id).
    length_control: "pooled" (default) or "alpaca-eval" (AlpacaEval 2's per-model GLM; compute.LENGTH_CONTROL).
    Returns the Leaderboard; raises a UserError (writing nothing) for bad input.
    """
    if isinstance(battles, (str, Path)):
        source = source or str(battles)
        battles = read_battles_file(Path(battles))
    checked = check_battles(battles, source or "battles", soft=soft)
    bench_table = _bench_columns(bench) if bench is not None else None
    with _single_threaded_blas():
        board = rate(checked, reference=reference, bootstrap=bootstrap, seed=seed, reference_option=reference_option,
                     resample=resample, responses=responses, length_control=length_control)
    if schedule is not None:
        board.diagnostics["schedule"] = schedule
    bench_names: list[str] = []
    if bench_table is not None:
        bench_names = [c for c in bench_table.columns]
        board.ratings = board.ratings.join(bench_table, on="model")
        board.diagnostics["bench_without_battles"] = sorted(set(bench_table.index) - set(board.ratings["model"]))
    files = {
        "ratings.csv": board.ratings.to_csv(index=False),
        "matrix.csv": board.matrix.to_csv(),
        "diagnostics.json": json.dumps(json_safe(board.diagnostics), indent=2, allow_nan=False) + "\n",
        "annotators.csv": board.annotators.to_csv(index=False),
        "annotator_ratings.csv": board.annotator_ratings.to_csv(index=False),
        "paired.csv": board.paired.to_csv(index=False),
        "report.md": render_report(board, source or "battles", bench_names),
    }
    write_files(Path(out_dir), files)
    return board


def _bench_columns(bench: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Bench results pivoted to one column per "<task>/<metric>", indexed by model."""
    where = str(bench) if isinstance(bench, (str, Path)) else "bench.parquet"
    table = read_battles_file(Path(bench)) if isinstance(bench, (str, Path)) else bench
    missing = [c for c in BENCH_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}", where=where,
                        fix="a bench table has columns model, task, metric, value, stderr")
    values = pd.to_numeric(table["value"], errors="coerce")
    if values.isna().any():
        raise UserError("column 'value' has empty or non-numeric entries", where=where, fix="write each score as a number")
    if "primary" in table.columns:  # lm-eval reports secondary metrics (acc_norm, stderr...); keep the headline one
        keep = table["primary"].fillna(False).astype(bool).to_numpy()
        table, values = table[keep], values[keep]
    column = table["task"].astype(str) + "/" + table["metric"].astype(str)
    if "filter" in table.columns:  # gsm8k-style tasks score one metric under several filters: keep them apart
        filtered = table["filter"].notna() & (table["filter"].astype(str) != "none")
        column = column.where(~filtered, column + "," + table["filter"].astype(str))
    return pd.DataFrame({"model": table["model"].astype(str), "column": column, "value": values}).pivot_table(
        index="model", columns="column", values="value", aggfunc="mean").rename_axis(columns=None)


def write_files(out_dir: Path, files: dict[str, str]) -> None:
    """Write `files` ({name: text}) into `out_dir`: all into a temporary sibling first, then renamed in."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".leaderboard-", dir=out_dir))
    except OSError as exc:
        raise UserError(f"cannot write the leaderboard directory ({exc.strerror or exc})", where=str(out_dir),
                        fix="pass --out with a directory you can write to") from None
    try:
        for name, text in files.items():
            with open(staging / name, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        for name in files:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def copy_leaderboard(src: Path, dest: Path) -> None:
    """Publish the leaderboard files of `src` into `dest` (same all-then-rename writing). A published file
    whose text differs from the new one only by float noise is left as it is (tracked files stay clean)."""
    fresh = {name: (src / name).read_text() for name in OUTPUTS if (src / name).exists()}
    existing = {name: (dest / name).read_text() if (dest / name).is_file() else None for name in fresh}
    changed = keep_unchanged(existing, fresh)
    if changed:
        write_files(dest, changed)


@contextlib.contextmanager
def _single_threaded_blas():
    """One BLAS thread: the solves here are small, and threads only contend (5x slower on a busy 2-core box)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
