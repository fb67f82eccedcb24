"""Compare: two runs side by side (summary, ratings, Bradley-Terry per model, config differences, training)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnpo_bench.dashboard import board as boards
from mnpo_bench.dashboard import charts, runs, ui
from mnpo_bench.dashboard.pages.training import load_metrics
from mnpo_bench.dashboard.runs import Run


def flatten(tree: object, prefix: str = "") -> dict[str, object]:
    """A nested config as {"a.b.c": value}; lists are kept as values."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, object] = {}
    for key, value in tree.items():
        out |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return out


def config_diff(a: Run, b: Run) -> pd.DataFrame:
    """Config fields whose values differ between the runs: field, value in a, value in b."""
    left, right = flatten(runs.config(a) or {}), flatten(runs.config(b) or {})
    keys = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
    return pd.DataFrame({"field": keys, a.name: [str(left.get(k, "—")) for k in keys],
                         b.name: [str(right.get(k, "—")) for k in keys]})


def _ratings(run: Run) -> pd.DataFrame | None:
    return boards.load_board(run.board_dir).ratings if run.board_dir else None


def _final_loss(run: Run) -> pd.DataFrame | None:
    if run.file("train") is None:
        return None
    metrics, _ = load_metrics(run)
    if metrics.empty:
        return None
    last = metrics.sort_values(["iteration", "step"]).groupby("method").tail(1)
    return last[["method", "iteration", "loss", "margin"]]


def _column(run: Run) -> None:
    st.subheader(run.name)
    with ui.guard():
        st.dataframe(pd.Series(runs.summary(run)).astype(str).rename("value"))
    with ui.guard():
        ratings = _ratings(run)
        if ratings is None:
            ui.missing("no leaderboard", f"{run.name}/leaderboard/ratings.csv")
        else:
            cols = [c for c in ("model", "bt", "win_rate", "nash_mass", "rank_ub") if c in ratings]
            st.dataframe(ratings[cols].sort_values(cols[1] if len(cols) > 1 else cols[0], ascending=False), hide_index=True)
    with ui.guard():
        final = _final_loss(run)
        if final is None:
            ui.missing("no training yet", f"{run.name}/train/")
        else:
            st.markdown("**Last training step per method**")
            st.dataframe(final, hide_index=True)


def render() -> None:
    """The run and the 'compare with' run, side by side."""
    r = ui.roots()
    run = ui.current(r)
    if run is None:
        return
    st.title("Compare")
    second = ui.other(r)
    if second is None:
        st.info("Pick a second run in the sidebar ('Compare with') or on the Runs page.")
        return
    st.caption(f"{run.name} ↔ {second.name}")
    for column, item in zip(st.columns(2), (run, second)):
        with column:
            _column(item)
    with ui.guard():
        left, right = _ratings(run), _ratings(second)
        if left is not None and right is not None and "bt" in left and "bt" in right:
            st.plotly_chart(charts.compare_bt(left, right, run.name, second.name))
    with ui.guard():
        st.subheader("Config differences")
        diff = config_diff(run, second)
        if diff.empty:
            st.info("the two configs are identical" if runs.config(run) else "no config.yaml to compare")
        else:
            st.dataframe(diff, hide_index=True)


if __name__ == "__main__":
    render()
