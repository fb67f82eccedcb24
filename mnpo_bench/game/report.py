"""Write a lab run: trajectory.csv, equilibrium.csv, policies.csv, population.csv and PNG plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnpo_bench.game.lab import LabResult
import shutil
import tempfile


def write_lab(result: LabResult, out: Path) -> list[Path]:
    """Write every output of `result` under `out` atomically (all or nothing); the paths written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result.trajectory.to_csv(tmp / "trajectory.csv", index=False)
        pd.DataFrame({"response": result.matrix.labels, "mass": result.equilibrium}).to_csv(
            tmp / "equilibrium.csv", index=False)
        result.policies.to_csv(tmp / "policies.csv", index=False)
        result.population.to_csv(tmp / "population.csv", index=False)
        pd.DataFrame(result.matrix.P, index=result.matrix.labels, columns=result.matrix.labels).to_csv(
            tmp / "matrix.csv")
        _plot(result.trajectory, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return sorted(out.iterdir())


def _plot(trajectory: pd.DataFrame, out: Path) -> None:
    """exploitability.png (last and average iterate) and kl.png: one line per method, log-scale y."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, columns, ylabel in (("exploitability.png", ("exploitability", "exploitability_avg"),
                                   "exploitability  max_i P(i ≻ π) − ½"),
                                  ("kl.png", ("kl_to_equilibrium",), "KL(π* ‖ π_t)  (nats)")):
        fig, axes = plt.subplots(1, len(columns), figsize=(6 * len(columns), 4), squeeze=False)
        for ax, column in zip(axes[0], columns):
            for method, rows in trajectory.groupby("method", sort=False):
                ax.plot(rows["iteration"], rows[column].clip(lower=1e-6), label=method)
            ax.set_yscale("log")
            ax.set_xlabel("iteration")
            ax.set_ylabel(ylabel)
            ax.set_title({"exploitability": "last iterate", "exploitability_avg": "average iterate"}.get(column, ""))
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
