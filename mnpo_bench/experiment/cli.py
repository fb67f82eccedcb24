"""The `experiment` verb: a grid of runs (cells x seeds) and the statistics across them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add `mnpo-bench experiment` to the main app."""
    app.command("experiment")(experiment)


def experiment(
    config: Annotated[Path, typer.Argument(help="EXPERIMENT.yaml (name, base, grid, seeds, methods, baseline); "
                                                "presets in trainer/experiments/")],
    out: Annotated[Optional[Path], typer.Option("--out", help="experiment directory (default: runs/experiments/<name>)")] = None,
    launcher: Annotated[Optional[str], typer.Option("--launcher", help="local | slurm | ray (default: the file's launcher, else local)")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", min=1, help="runs at once with the local launcher")] = None,
    publish_dir: Annotated[Path, typer.Option("--publish-dir", help="results are published to <dir>/experiments/<name>/")] = Path("leaderboards"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
    rerun_changed: Annotated[bool, typer.Option("--rerun-changed", help="run directories made with another config "
                                                "(e.g. before a default changed) re-run their changed stages in place "
                                                "(default: stop with one line naming the run and what differs)")] = False,
) -> None:
    """Run every (cell, seed) of an experiment as an ordinary resumable run, then write summary.csv,
    effects.csv (method - baseline, paired by seed and prompt) and report.md. Finished runs are skipped; a run
    directory made with another config stops it up front (see --rerun-changed)."""
    from mnpo_bench.errors import UserError
    from mnpo_bench.experiment.stage import run_experiment

    if launcher is not None and launcher not in ("local", "slurm", "ray"):
        raise UserError(f"unknown launcher '{launcher}'", where="--launcher", fix="choose local, slurm or ray")
    folder = run_experiment(config, out=out, launcher_name=launcher, jobs=jobs, publish_dir=publish_dir, quiet=quiet,
                            rerun_changed=rerun_changed)
    typer.echo(f"results: {folder}")
