"""Training: loss, margin and log-prob curves per method and iteration (train/<method>/metrics.jsonl)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnpo_bench.dashboard import charts, reads, ui
from mnpo_bench.dashboard.runs import Run
from mnpo_bench.dashboard.roots import Roots

_curves = st.cache_data(show_spinner=False, max_entries=64)(charts.training_curves)  # keyed on the metrics' content

PLOTS = (  # (columns: legend names, title, y-axis title with unit)
    ({"loss": "loss"}, "Training loss", "loss (nats per pair)"),
    ({"margin": "margin"}, "Margin: policy log-ratio of chosen minus rejected", "margin (nats)"),
    ({"chosen_logp": "chosen", "rejected_logp": "rejected"}, "Policy log-probability of the chosen and rejected responses",
     "log-probability (nats per sequence)"),
)


def load_metrics(run: Run) -> tuple[pd.DataFrame, list[str]]:
    """All methods' metrics.jsonl concatenated (a `method` column filled from the folder when absent), and
    the names of method folders that have no metrics.jsonl."""
    frames, empty = [], []
    for folder in sorted(p for p in (run.run_dir / "train").iterdir() if p.is_dir()):
        path = folder / "metrics.jsonl"
        if not path.exists():
            empty.append(folder.name)
            continue
        frame = reads.read_jsonl(path)
        if len(frame):
            frames.append(frame.assign(method=frame["method"] if "method" in frame else folder.name))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), empty


def _last_steps(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, player, iteration): its last step's values, the examples skipped over all its steps
    and its mean tokens/s. Sums and means are computed with `transform` on the step rows, never merged back on
    the keys: `player` is all-null (float NaN or None, by how the JSON was read) on runs without HT-MNPO."""
    keys = [c for c in ("method", "player", "iteration") if c in metrics]
    ordered = metrics.sort_values("step", kind="stable")
    grouped = ordered.groupby(keys, dropna=False, sort=False)
    ordered = ordered.assign(**({"skipped (examples)": grouped["skipped"].transform("sum")} if "skipped" in ordered else {}),
                             **({"tokens/s": grouped["tokens_per_s"].transform("mean")} if "tokens_per_s" in ordered else {}))
    shown = keys + [c for c in ("step", "loss", "margin", "chosen_logp", "rejected_logp", "skipped (examples)",
                                "tokens/s") if c in ordered]
    last = ordered.groupby(keys, dropna=False, sort=False).tail(1)[shown]
    return last.sort_values(keys, kind="stable").reset_index(drop=True)


@ui.run_page("Training")
def render(run: Run, r: Roots) -> None:
    """Curves and last-step values for the picked run's training."""
    if run.file("train") is None:
        ui.missing("no training yet", f"{run.name}/train/")
        return
    with ui.guard():
        metrics, empty = load_metrics(run)
        if empty:
            st.info(f"no metrics yet for {', '.join(empty)}: train/<method>/metrics.jsonl not found")
        if metrics.empty:
            ui.missing("no training metrics yet", f"{run.name}/train/<method>/metrics.jsonl")
            return
        methods = sorted(metrics["method"].unique())
        chosen = st.multiselect("Methods", methods, default=methods, key="train_methods")
        shown = metrics[metrics["method"].isin(chosen)]
        if shown.empty:
            st.info("pick at least one method")
            return
        for columns, title, unit in PLOTS:
            present = {c: n for c, n in columns.items() if c in shown}
            if present:
                st.plotly_chart(_curves(shown, present, title, unit))
        st.markdown("**Last step of each iteration**")
        st.dataframe(_last_steps(shown), hide_index=True)


if __name__ == "__main__":
    render()
