"""Tournament: pairwise win-rate heatmap, maximal-lottery bars, and the preference cycles as a directed graph."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnpo_bench.dashboard import board as boards
from mnpo_bench.dashboard import charts, ui, votes
from mnpo_bench.dashboard.roots import Roots
from mnpo_bench.dashboard.runs import Run


def _metrics(diagnostics: dict) -> None:
    shown = [("cyclic triads", "cyclic_triads", "{:.0f}"), ("coefficient of consistence", "consistency", "{:.2f}"),
             ("cyclic share (Hodge)", "curl_share", "{:.1%}")]
    present = [(label, fmt.format(diagnostics[key])) for label, key, fmt in shown
               if isinstance(diagnostics.get(key), (int, float))]
    for column, (label, value) in zip(st.columns(max(1, len(present))), present):
        column.metric(label, value)


@ui.run_page("Tournament")
def render(run: Run, r: Roots) -> None:
    """Heatmaps of win rates and battle counts, the maximal lottery and the cycle graph of the picked run."""
    battles, pairs = run.table("battles"), None
    with ui.guard():  # a corrupt battles file still leaves the leaderboard's matrix to show
        pairs = votes.pairs(battles) if battles is not None else None
    with ui.guard():
        board = boards.load_board(run.board_dir) if run.board_dir else boards.Board(run.run_dir)
        if board.matrix is not None:
            source = "leaderboard/matrix.csv"
        elif pairs is not None:
            board.matrix, source = votes.win_matrix(pairs), "battles.parquet"
        else:
            ui.missing("no tournament yet", f"{run.name}/battles.parquet (and no leaderboard/matrix.csv)")
            return
        matrix = board.matrix
        _metrics(board.diagnostics)
        st.plotly_chart(charts.heatmap(100 * matrix, f"Pairwise win rate (from {source})",
                                       "win rate of row vs column (%)"))
        if pairs is not None:
            counts = votes.count_matrix(pairs).reindex(index=matrix.index, columns=matrix.columns).fillna(0)
            st.plotly_chart(charts.heatmap(counts, "Battles per pair (battles.parquet; failed judgments left out)", "battles (count)",
                                           zmax=float(counts.to_numpy().max()) or 1.0, midpoint=None))
        else:
            ui.missing("no battle counts", f"{run.name}/battles.parquet")
        lottery, ci = board.diagnostics.get("maximal_lottery"), board.diagnostics.get("maximal_lottery_ci") or {}
        if isinstance(lottery, dict) and lottery:
            low = pd.Series({m: v[0] for m, v in ci.items() if v}, dtype=float) if ci else None
            high = pd.Series({m: v[1] for m, v in ci.items() if v}, dtype=float) if ci else None
            st.plotly_chart(charts.mass_bars(pd.Series(lottery, dtype=float),
                                             "Maximal lottery (Nash equilibrium of the margin game), 95% CI", low, high))
        else:
            ui.missing("no maximal lottery", f"{run.name}/leaderboard/diagnostics.json (key maximal_lottery)")
        found = boards.cycles(board)
        sentence = boards.transitivity_sentence(board)
        (st.warning if "not transitive" in sentence else st.success)(sentence)
        st.plotly_chart(charts.cycle_graph(matrix, found))
        if found:
            st.dataframe(pd.DataFrame({"cycle": [" → ".join(c + c[:1]) for c in found]}), hide_index=True)


if __name__ == "__main__":
    render()
