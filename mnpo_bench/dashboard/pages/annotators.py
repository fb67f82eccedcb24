"""Annotators: agreement matrix, position and length bias per persona, per-persona leaderboards side by
side, and each model's rank spread across personas.

The leaderboard's own files (annotators.csv, annotator_ratings.csv) are shown when the run has them, so the
numbers match the leaderboard; before the leaderboard stage the same quantities come from battles.parquet
through DuckDB. The agreement matrix (persona against persona) is always computed from the votes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from mnpo_bench.dashboard import board as boards
from mnpo_bench.dashboard import charts, reads, ui, votes
from mnpo_bench.dashboard.runs import Run
from mnpo_bench.dashboard.roots import Roots

PER_ROW = 4  # per-persona leaderboards shown side by side, this many per row


def per_persona(run: Run, battles: Path) -> tuple[pd.DataFrame, str]:
    """Each annotator's ranking (annotator, model, rank, win_rate, and bt when rated) and where it came from."""
    path = run.board_dir / "annotator_ratings.csv" if run.board_dir else None
    if path is not None and path.exists():
        return reads.read_csv(path), "leaderboard/annotator_ratings.csv (rank by Bradley-Terry)"
    return votes.persona_ranks(battles), "battles.parquet (rank by win rate against the field)"


def _side_by_side(ranks: pd.DataFrame) -> None:
    personas = sorted(ranks["annotator"].unique())
    shown = [c for c in ("rank", "model", "bt", "win_rate") if c in ranks]
    for start in range(0, len(personas), PER_ROW):
        chunk = personas[start:start + PER_ROW]
        for column, persona in zip(st.columns(len(chunk)), chunk):
            table = ranks[ranks["annotator"] == persona].sort_values(["rank", "model"])[shown]
            table = table.assign(win_rate=(100 * table["win_rate"]).round(1)).rename(columns={"win_rate": "win rate vs field (%)"})
            column.markdown(f"**{persona}**")
            column.dataframe(table.round({"bt": 0}) if "bt" in table else table, hide_index=True)


def _summary(run: Run) -> pd.DataFrame | None:
    board = boards.load_board(run.board_dir) if run.board_dir else None
    return board.annotators if board is not None else None


NON_TRANSITIVITY = [("cyclic triads", "cyclic_triad_share"), ("decided triads", "decided_triads"),
                    ("Hodge curl share", "curl_share"), ("mixed maximal lottery", "mixed_lottery_share"),
                    ("prompts with a lottery", "lottery_prompts")]


def _non_transitivity(run: Run) -> None:
    """The panel's non-transitivity on the reference's own samples (panel_diagnostics.json), as metrics."""
    path = run.file("panel_diagnostics.json")
    block = reads.read_json(path).get("non_transitivity") if path else None
    if not block:
        ui.missing("no non-transitivity measured", f"{run.name}/panel_diagnostics.json")
        return
    st.markdown("**Non-transitivity of the training data** (panel_diagnostics.json: the panel over each "
                "prompt's reference samples; shares are fractions)")
    for column, (label, key) in zip(st.columns(len(NON_TRANSITIVITY)), NON_TRANSITIVITY):
        value = block.get(key)
        column.metric(label, "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value)))


@ui.run_page("Annotators")
def render(run: Run, r: Roots) -> None:
    """The panel's agreement, biases and disagreement about the ranking for the picked run."""
    summary = None
    with ui.guard():
        summary = _summary(run)
        if summary is None:
            ui.missing("no panel summary", f"{run.name}/leaderboard/annotators.csv")
        else:
            st.markdown("**Panel summary** (leaderboard/annotators.csv; rates are fractions)")
            st.dataframe(summary, hide_index=True)
    with ui.guard():
        _non_transitivity(run)
    battles, judgments = run.table("battles"), run.table("judgments")
    with ui.guard():
        source = battles or judgments
        if source is None:
            ui.missing("no votes yet", f"{run.name}/battles.parquet and {run.name}/judgments.parquet")
            return
        st.plotly_chart(charts.heatmap(100 * votes.agreement(source), f"Agreement between personas ({source.name})",
                                       "same verdict (%)", x_title="persona", y_title="persona", midpoint=None))
    with ui.guard():
        if judgments is not None:
            st.markdown("**Failures, latency and cost of the panel's judgments** (judgments.parquet)")
            st.dataframe(votes.failures(judgments), hide_index=True)
    if battles is None:
        ui.missing("no tournament yet, so no biases or per-persona leaderboards", f"{run.name}/battles.parquet")
        return
    with ui.guard():
        if summary is not None and {"annotator", "position_bias", "length_bias"} <= set(summary.columns):
            bias, where = summary, "leaderboard/annotators.csv"
        else:
            bias, where = votes.bias(battles), "battles.parquet"
        st.plotly_chart(charts.bias_bars(bias))
        st.caption(f"from {where}")
    with ui.guard():
        ranks, where = per_persona(run, battles)
        st.subheader("Leaderboard of each persona")
        st.caption(f"from {where}")
        _side_by_side(ranks)
        left, right = st.columns(2)
        left.plotly_chart(charts.rank_bumps(ranks))
        right.plotly_chart(charts.rank_spread(votes.rank_spread(ranks)))


if __name__ == "__main__":
    render()
