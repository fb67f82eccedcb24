"""Game lab: each method's update on a planted preference game; exploitability per iteration."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from mnpo_bench.game.lab import run_lab
from mnpo_bench.game.matrices import PLANTED, load_matrix
from mnpo_bench.game.updates import METHODS


def render() -> None:
    """Pick a planted game, methods and iterations; show the trajectories and the maximal lottery."""
    st.title("Game lab")
    game = st.selectbox("Planted game", list(PLANTED), index=list(PLANTED).index("cycle"), key="game_matrix")
    methods = st.multiselect("Methods", list(METHODS), default=["inpo", "mnpo", "egpo", "sppo", "dpo"],
                             key="game_methods")
    iterations = st.slider("Iterations", 10, 400, 200, step=10, key="game_iterations")
    if not methods:
        st.info("pick at least one method")
        return
    matrix = load_matrix(game)
    result = run_lab(matrix, methods, iterations)
    long = result.trajectory.melt(id_vars=["method", "iteration"],
                                  value_vars=["exploitability", "exploitability_avg"], var_name="iterate")
    figure = px.line(long, x="iteration", y="value", color="method", line_dash="iterate", log_y=True,
                     labels={"value": "exploitability max_i P(i ≻ π) − ½", "iteration": "iteration"})
    st.plotly_chart(figure)
    st.markdown("**Last iteration**")
    st.dataframe(result.trajectory.groupby("method", sort=False).last().reset_index(), hide_index=True)
    st.markdown("**Maximal lottery** (LP)")
    st.dataframe(pd.DataFrame({"response": matrix.labels, "mass": result.equilibrium}), hide_index=True)


if __name__ == "__main__":
    render()
