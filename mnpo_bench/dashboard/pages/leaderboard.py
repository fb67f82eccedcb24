"""Leaderboard: sortable ratings table, Bradley-Terry with CI bars, Nash mass, win rates against the field
and the reference, the length-controlled win rate, the Nash gap (exploitability) with CI bars, benchmark
scores, and whether the ranking is transitive."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnpo_bench.dashboard import board as boards
from mnpo_bench.dashboard import charts, reads, ui, votes
from mnpo_bench.dashboard.runs import Run
from mnpo_bench.dashboard.roots import Roots

FIRST = ["rank_ub", "model", "bt", "bt_lo", "bt_hi", "win_rate", "win_rate_lo", "win_rate_hi", "win_rate_vs_ref",
         "lc_win_rate_vs_ref", "nash_mass", "nash_skill", "nash_gap", "nash_gap_lo", "nash_gap_hi", "diversity",
         "copeland", "n_battles"]  # then the rest, in file order


def with_bench(ratings: pd.DataFrame, run: Run) -> pd.DataFrame:
    """ratings plus one column per benchmark task/metric from bench.parquet (when the run has it and the
    ratings do not already carry it)."""
    path = run.table("bench")
    if path is None:
        return ratings
    bench = reads.read_parquet(path)
    wide = bench.pivot_table(index="model", columns=["task", "metric"], values="value", aggfunc="mean")
    wide.columns = [f"{task}/{metric}" for task, metric in wide.columns]
    new = [c for c in wide.columns if c not in ratings.columns]
    return ratings.merge(wide[new], left_on="model", right_index=True, how="left") if new else ratings


def _table(ratings: pd.DataFrame) -> None:
    columns = [c for c in FIRST if c in ratings] + [c for c in ratings if c not in FIRST]
    left, right = st.columns([3, 1])
    key = left.selectbox("Sort by", columns, index=columns.index("bt") if "bt" in columns else 0, key="lb_sort")
    ascending = right.toggle("ascending", value=False, key="lb_ascending")
    table = ratings[columns].sort_values(key, ascending=ascending, ignore_index=True)
    fmt = {c: st.column_config.NumberColumn(c, format="%.3f") for c in columns if table[c].dtype.kind == "f"}
    fmt |= {c: st.column_config.NumberColumn(c, format="%.0f") for c in ("bt", "bt_lo", "bt_hi") if c in table}  # Elo points
    st.dataframe(table, hide_index=True, column_config=fmt)


def _from_battles(run: Run) -> None:
    battles = run.table("battles")
    if battles is None:
        return
    st.markdown("Win rates straight from battles.parquet, until the leaderboard stage runs:")
    matrix = votes.win_matrix(votes.pairs(battles))
    field = (100 * matrix.mean(axis=1, skipna=True)).rename("win rate vs field (%)").sort_values(ascending=False)
    st.dataframe(field.reset_index().rename(columns={"index": "model"}), hide_index=True)


@ui.run_page("Leaderboard")
def render(run: Run, r: Roots) -> None:
    """The leaderboard of the picked run (its leaderboard/ folder, else the published copy)."""
    if run.board_dir is None:
        ui.missing("no leaderboard yet", f"{run.name}/leaderboard/ratings.csv (nor {r.leaderboards.name}/{run.name}/ratings.csv)")
        with ui.guard():
            _from_battles(run)
        return
    with ui.guard():
        board = boards.load_board(run.board_dir)
        ratings = board.ratings
        n_battles = board.diagnostics.get("n_battles")
        st.caption(f"from `{run.board_dir}` · {len(ratings)} models"
                   + (f" · {n_battles:,} battles" if isinstance(n_battles, int) else ""))
        sentence = boards.transitivity_sentence(board)
        (st.warning if "not transitive" in sentence else st.success)(sentence)
        _table(with_bench(ratings, run))
        if {"bt", "bt_lo", "bt_hi"} <= set(ratings.columns):
            st.plotly_chart(charts.bt_with_ci(ratings))
        left, right = st.columns(2)
        if "nash_mass" in ratings:
            by_model = ratings.set_index("model")
            low, high = (by_model["nash_mass_lo"], by_model["nash_mass_hi"]) if "nash_mass_hi" in by_model else (None, None)
            left.plotly_chart(charts.mass_bars(by_model["nash_mass"], "Nash mass: each model's weight in the maximal lottery",
                                               low, high))
        right.plotly_chart(charts.win_rates(ratings))
        if "nash_gap" in ratings and ratings["nash_gap"].notna().any():
            st.plotly_chart(charts.nash_gaps(ratings))
        bench = run.table("bench")
        if bench is not None:
            st.plotly_chart(charts.bench_scores(reads.read_parquet(bench)))
        else:
            ui.missing("no standard benchmarks yet", f"{run.name}/bench.parquet")
        if board.report:
            with st.expander("report.md"):
                st.markdown(board.report)


if __name__ == "__main__":
    render()
