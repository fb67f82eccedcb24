"""Experiments: the effects of `mnpo-bench experiment` runs (method − baseline, paired by seed and prompt) as a
forest plot per cell, the effects against each cell's measured non-transitivity, and the tables.

Reads the light files an experiment publishes (summary.csv, effects.csv, cells.csv, report.md) from
`<leaderboards root>/experiments/<name>/` and from experiment directories `<runs root>/experiments/<name>/`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mnpo_bench.dashboard import ui

NON_TRANSITIVITY = {"curl_share": "Hodge curl share", "cyclic_triad_share": "cyclic-triad share",
                    "mixed_lottery_share": "share of prompts with a mixed maximal lottery"}


def find_experiments(runs: Path, leaderboards: Path) -> dict[str, Path]:
    """Experiment name -> directory holding its effects.csv; a published copy wins over the run directory."""
    found: dict[str, Path] = {}
    for root in (Path(runs) / "experiments", Path(leaderboards) / "experiments"):
        if root.is_dir():
            found |= {p.parent.name: p.parent for p in sorted(root.glob("*/effects.csv"))}
    return found


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def forest(effects: pd.DataFrame) -> go.Figure:
    """One row per (cell, method − baseline): the effect with its 95% CI as a horizontal error bar."""
    rows = effects.iloc[::-1]
    labels = [f"{r.cell}: {r.method} − {r.baseline}" for r in rows.itertuples()]
    figure = go.Figure(go.Scatter(
        x=rows["effect"], y=labels, mode="markers", marker={"size": 9},
        error_x={"type": "data", "symmetric": False, "array": rows["hi"] - rows["effect"],
                 "arrayminus": rows["effect"] - rows["lo"]},
        customdata=rows[["p_value", "mde"]].to_numpy(),
        hovertemplate="%{y}<br>effect %{x:.4f}<br>p %{customdata[0]:.3g}<br>mde %{customdata[1]:.4f}<extra></extra>"))
    figure.add_vline(x=0, line_dash="dot")
    figure.update_layout(height=120 + 36 * len(rows), xaxis_title="effect (method − baseline), 95% CI",
                         yaxis={"type": "category", "tickmode": "array", "tickvals": labels, "ticktext": labels},
                         margin={"l": 10, "r": 10, "t": 30, "b": 40})
    return figure


def against_non_transitivity(effects: pd.DataFrame, cells: pd.DataFrame, measure: str) -> go.Figure:
    """Each cell's effect (with CI) against the cell's measured training-data non-transitivity, one trace per
    compared pair (method − baseline)."""
    merged = effects.merge(cells[["cell", measure]], on="cell", how="left")
    figure = go.Figure()
    for (method, baseline), group in merged.groupby(["method", "baseline"], sort=False):
        figure.add_trace(go.Scatter(
            x=group[measure], y=group["effect"], mode="markers+lines", name=f"{method} − {baseline}",
            text=group["cell"], error_y={"type": "data", "symmetric": False, "array": group["hi"] - group["effect"],
                                         "arrayminus": group["effect"] - group["lo"]},
            hovertemplate="%{text}<br>%{x:.3f}: effect %{y:.4f}<extra></extra>"))
    figure.add_hline(y=0, line_dash="dot")
    figure.update_layout(xaxis_title=NON_TRANSITIVITY[measure], yaxis_title="effect, 95% CI", height=420,
                         margin={"l": 10, "r": 10, "t": 30, "b": 40})
    return figure


def render() -> None:
    """Pick an experiment and a metric; show the forest plot, effects vs non-transitivity and the tables."""
    st.title("Experiments")
    roots = ui.roots()
    experiments = find_experiments(roots.runs, roots.leaderboards)
    if not experiments:
        st.info(f"No experiments under {roots.runs / 'experiments'} or {roots.leaderboards / 'experiments'}. "
                "Run `mnpo-bench experiment smoke` (presets in trainer/experiments/).")
        return
    name = st.selectbox("Experiment", list(experiments), key="exp_name")
    folder = experiments[name]
    effects, summary, cells = (_read(folder, f) for f in ("effects.csv", "summary.csv", "cells.csv"))
    if effects.empty:
        st.info(f"{folder / 'effects.csv'} holds no effects (one method only, or no finished run)")
        return
    metrics = list(dict.fromkeys(effects["metric"]))
    metric = st.selectbox("Metric", metrics, index=metrics.index("win_rate_vs_ref") if "win_rate_vs_ref" in metrics
                          else 0, key="exp_metric")
    shown = effects[effects["metric"] == metric]
    st.caption(f"{metric}: method − baseline on each method's last iterate, pooled over seeds and prompts "
               "(prompts nested in seeds); 95% CI, p and Holm-adjusted p from effects.csv.")
    st.plotly_chart(forest(shown), key="exp_forest")
    measures = [m for m in NON_TRANSITIVITY if m in cells and cells[m].notna().any()]
    if measures:
        measure = st.selectbox("Non-transitivity measure", measures, format_func=NON_TRANSITIVITY.get,
                               key="exp_measure")
        if shown["cell"].nunique() < 2:
            st.caption("One cell only: effects against non-transitivity need a grid that varies it "
                       "(e.g. trainer/experiments/non-transitivity.yaml).")
        st.plotly_chart(against_non_transitivity(shown, cells, measure), key="exp_vs_nt")
    st.markdown("**Effects**")
    st.dataframe(shown, hide_index=True)
    st.markdown("**Summary across seeds**")
    st.dataframe(summary[summary["metric"] == metric] if not summary.empty else summary, hide_index=True)
    st.markdown("**Cells** (grid values, mean non-transitivity of the training data)")
    st.dataframe(cells, hide_index=True)
    report = folder / "report.md"
    if report.exists():
        with st.expander("report.md"):
            st.markdown(report.read_text())


if __name__ == "__main__":
    render()
