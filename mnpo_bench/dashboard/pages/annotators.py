"""Annotators: agreement matrix, position and length bias per persona, per-persona leaderboards side by
side, and each model's rank spread across personas."""

from __future__ import annotations

import streamlit as st

from mnpo_bench.dashboard import board as boards
from mnpo_bench.dashboard import charts, ui, votes
from mnpo_bench.dashboard.runs import Run

PER_ROW = 4  # per-persona leaderboards shown side by side, this many per row


def _side_by_side(ranks) -> None:
    personas = sorted(ranks["persona"].unique())
    for start in range(0, len(personas), PER_ROW):
        chunk = personas[start:start + PER_ROW]
        for column, persona in zip(st.columns(len(chunk)), chunk):
            table = ranks[ranks["persona"] == persona].sort_values("rank")[["rank", "model", "win_rate"]]
            column.markdown(f"**{persona}**")
            column.dataframe(table.assign(win_rate=(100 * table["win_rate"]).round(1)).rename(
                columns={"win_rate": "win rate vs field (%)"}), hide_index=True)


def _panel_summary(run: Run) -> None:
    if run.board_dir is not None:
        board = boards.load_board(run.board_dir)
        if board.annotators is not None:
            st.markdown("**Panel summary** (leaderboard/annotators.csv)")
            st.dataframe(board.annotators, hide_index=True)
            return
    ui.missing("no panel summary", f"{run.name}/leaderboard/annotators.csv")


def render() -> None:
    """The panel's agreement, biases and disagreement about the ranking for the picked run."""
    r = ui.roots()
    run = ui.current(r)
    if run is None:
        return
    st.title(f"Annotators · {run.name}")
    with ui.guard():
        _panel_summary(run)
    battles, judgments = run.table("battles"), run.table("judgments")
    with ui.guard():
        source = battles or judgments
        if source is None:
            ui.missing("no votes yet", f"{run.name}/battles.parquet and {run.name}/judgments.parquet")
            return
        agree = votes.agreement(source)
        st.plotly_chart(charts.heatmap(100 * agree, f"Agreement between personas ({source.name})",
                                       "same verdict (%)", x_title="persona", y_title="persona", midpoint=None))
    with ui.guard():
        if judgments is not None:
            st.markdown("**Failures and cost** (judgments.parquet)")
            st.dataframe(votes.failures(judgments), hide_index=True)
    if battles is None:
        ui.missing("no tournament yet, so no biases or per-persona leaderboards", f"{run.name}/battles.parquet")
        return
    with ui.guard():
        st.plotly_chart(charts.bias_bars(votes.bias(battles)))
    with ui.guard():
        ranks = votes.persona_ranks(battles)
        st.subheader("Leaderboard of each persona")
        _side_by_side(ranks)
        left, right = st.columns(2)
        left.plotly_chart(charts.rank_bumps(ranks))
        right.plotly_chart(charts.rank_spread(votes.rank_spread(ranks)))


if __name__ == "__main__":
    render()
