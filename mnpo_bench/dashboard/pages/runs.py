"""Runs: every run with its config, stages, sizes and when it ran; pick one or two."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import yaml

from mnpo_bench.dashboard import runs, ui


def _details(run: runs.Run) -> None:
    st.subheader(run.name)
    if run.run_dir is None:
        st.info(f"published leaderboard only ({run.board_dir}); the run directory is not under the runs root")
        return
    with ui.guard():
        stages = runs.stages(run)
        if stages:
            st.markdown("**Stages** (manifest.json)")
            st.dataframe(pd.DataFrame(stages), hide_index=True)
        else:
            ui.missing("no stages recorded", "manifest.json")
    with ui.guard():
        st.markdown("**Tables**")
        st.dataframe(pd.DataFrame(runs.table_sizes(run)), hide_index=True)
    with ui.guard():
        config = runs.config(run)
        if config is None:
            ui.missing("no resolved config", "config.yaml")
        else:
            with st.expander("config.yaml", expanded=False):
                st.code(yaml.safe_dump(config, sort_keys=False), language="yaml")


def render() -> None:
    """The runs table, the pickers and the details of the picked runs."""
    r = ui.roots()
    st.title("Runs")
    known = ui.runs(r)
    if not known:
        ui.current(r)  # says where it looked
        return
    rows = []
    for run in known.values():
        with ui.guard():
            rows.append(runs.summary(run))
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    picked = [n for n in (st.session_state.get("run"), st.session_state.get("run_b")) if n in known]
    st.multiselect("Pick one or two runs (the second is the one Compare shows beside the first)", list(known),
                   default=picked, max_selections=2, key="runs_pick", on_change=ui.pick)
    shown = [known[n] for n in picked]
    for column, run in zip(st.columns(len(shown)) if shown else [], shown):
        with column:
            _details(run)


if __name__ == "__main__":
    render()
