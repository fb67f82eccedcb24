"""An experiment's results: summary.csv, effects.csv, cells.csv, seeds.csv and report.md.

- summary.csv  cell, method, metric, n_seeds, mean, sd, lo, hi: each method's last iterate across seeds
  (lo/hi: t-based 95% CI of the mean over seeds);
- effects.csv  cell, metric, method, baseline, effect, lo, hi, p_value, mde, then se, df, n_seeds, n_units,
  p_holm, design: method - baseline, pooled over seeds and prompts with prompts nested in seeds (stats.py);
- cells.csv    cell, each grid key, the mean non-transitivity of the cell's training data over seeds;
- seeds.csv    cell, seed, method, policy, metric, value: the per-run values summary.csv pools;
- variance.csv cell, method, ...: the across-seed SD of win_rate_vs_ref split into evaluation noise and
  training variance (variance.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnpo_bench.experiment.collect import NON_TRANSITIVITY, PER_PROMPT, Collected
from mnpo_bench.experiment.config import ExperimentConfig
from mnpo_bench.experiment.stats import across_seeds, holm, nested_effect
from mnpo_bench.experiment.variance import variance_markdown
from mnpo_bench.store import write_text

SUMMARY_COLUMNS = ["cell", "method", "metric", "n_seeds", "mean", "sd", "lo", "hi"]
EFFECT_COLUMNS = ["cell", "metric", "method", "baseline", "effect", "lo", "hi", "p_value", "mde",
                  "se", "df", "n_seeds", "n_units", "p_holm", "design"]
OUTPUTS = ("summary.csv", "effects.csv", "cells.csv", "seeds.csv", "variance.csv", "report.md")


def summary_table(data: Collected) -> pd.DataFrame:
    """One row per (cell, method, metric): the metric's mean, SD and 95% CI over seeds."""
    rows = [{"cell": cell, "method": method, "metric": metric, **across_seeds(group["value"])}
            for (cell, method, metric), group in data.values.groupby(["cell", "method", "metric"], sort=False)]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _diffs(frame: pd.DataFrame, keys: list[str], method: str, baseline: str) -> pd.DataFrame:
    """method - baseline on matching `keys` (seed, or seed and prompt_id): columns seed, value."""
    wide = frame.pivot_table(index=keys, columns="method", values="value", aggfunc="mean")
    if method not in wide or baseline not in wide:
        return pd.DataFrame(columns=["seed", "value"])
    diff = (wide[method] - wide[baseline]).rename("value").reset_index()
    return diff[["seed", "value"]]


def effects_table(data: Collected, config: ExperimentConfig) -> pd.DataFrame:
    """One row per (cell, metric, compared pair): the paired effect method - baseline for every method other
    than the baseline, then each of `contrasts` (method - other, the other in the baseline column).
    win_rate_vs_ref pairs by seed and prompt; every other metric (one value per run) by seed. p_holm adjusts
    the p-values of one cell and metric over all the pairs compared (Holm)."""
    rows = []
    for cell in dict.fromkeys(data.values["cell"]):
        for metric in config.metrics:
            if metric == PER_PROMPT and not data.prompts.empty:
                frame, keys, design = data.prompts[data.prompts["cell"] == cell], ["seed", "prompt_id"], "seed/prompt"
            else:
                values = data.values[(data.values["cell"] == cell) & (data.values["metric"] == metric)]
                frame, keys, design = values, ["seed"], "seed"
            if frame.empty:
                continue
            for method, other in config.pairs():
                result = nested_effect(_diffs(frame, keys, method, other))
                rows.append({"cell": cell, "metric": metric, "method": method, "baseline": other,
                             **result, "design": design})
    table = pd.DataFrame(rows, columns=[c for c in EFFECT_COLUMNS if c != "p_holm"])
    table["p_holm"] = table.groupby(["cell", "metric"])["p_value"].transform(holm) if len(table) else []
    return table[EFFECT_COLUMNS]


def cells_table(data: Collected, grid_rows: list[dict]) -> pd.DataFrame:
    """One row per cell: its grid values and the mean (over seeds) non-transitivity of its training data."""
    means = data.non_transitivity.groupby("cell", sort=False)[list(NON_TRANSITIVITY)].mean().reset_index()
    return pd.DataFrame(grid_rows).merge(means, on="cell", how="left")


def _fmt(value: float, digits: int = 4) -> str:
    return "—" if pd.isna(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return "—" if pd.isna(value) else (f"{value:.2g}" if value < 0.001 else f"{value:.3f}")


def report_markdown(config: ExperimentConfig, summary: pd.DataFrame, effects: pd.DataFrame,
                    cells: pd.DataFrame, variance: pd.DataFrame | None = None) -> str:
    """report.md: per cell, the training data's non-transitivity beside the effects, then the summary."""
    lines = [f"# Experiment `{config.name}`", ""]
    if config.description:
        lines += [config.description, ""]
    extra = "".join(f", {m} − {o}" for m, o in config.contrasts if o != config.baseline)
    lines += [f"Seeds {config.seeds}; methods {config.methods}; effects are method − {config.baseline}{extra} on "
              "each method's last iterate, paired by seed (and by eval prompt for win_rate_vs_ref), prompts nested "
              "in seeds. 95% CIs and two-sided p-values are t-based on the nested standard error "
              "(mnpo_bench/experiment/stats.py); p_holm is Holm's correction over the pairs compared in one cell "
              "and metric; mde is the minimum detectable effect at 80% power, α = 0.05.", ""]
    for row in cells.itertuples(index=False):
        cell = row.cell
        lines += [f"## Cell `{cell}`", "",
                  f"Training-data non-transitivity (mean over seeds): cyclic-triad share "
                  f"{_fmt(row.cyclic_triad_share)}, Hodge curl share {_fmt(row.curl_share)}, "
                  f"share of prompts with a mixed maximal lottery {_fmt(row.mixed_lottery_share)}.", "",
                  "| metric | method − baseline | effect | 95% CI | p | p (Holm) | mde | seeds | units |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for e in effects[effects["cell"] == cell].itertuples(index=False):
            lines.append(f"| {e.metric} | {e.method} − {e.baseline} | {_fmt(e.effect)} | [{_fmt(e.lo)}, {_fmt(e.hi)}]"
                         f" | {_p(e.p_value)} | {_p(e.p_holm)} | {_fmt(e.mde)} | {e.n_seeds} | {e.n_units} |")
        lines += ["", "| method | metric | mean | SD over seeds | 95% CI | seeds |", "| --- | --- | --- | --- | --- | --- |"]
        for s in summary[summary["cell"] == cell].itertuples(index=False):
            lines.append(f"| {s.method} | {s.metric} | {_fmt(s.mean)} | {_fmt(s.sd)} | [{_fmt(s.lo)}, {_fmt(s.hi)}] "
                         f"| {s.n_seeds} |")
        lines.append("")
        if variance is not None and (variance["cell"] == cell).any():
            lines += variance_markdown(variance[variance["cell"] == cell], PER_PROMPT)
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, tables: dict[str, pd.DataFrame], report: str,
                  publish: Path | None) -> list[str]:
    """Write the tables (name -> frame, as <name>.csv) and report.md under `out` and, when `publish` is
    given, the same files there; returns the file names written."""
    targets = [Path(out)] + ([Path(publish)] if publish is not None else [])
    for target in targets:
        for name, frame in tables.items():
            write_text(target / f"{name}.csv", frame.to_csv(index=False))
        write_text(target / "report.md", report)
    return [f"{name}.csv" for name in tables] + ["report.md"]
