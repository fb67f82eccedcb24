"""Plotly figures of the dashboard; every axis is titled with what it measures and in which unit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

HEIGHT_PER_ROW = 28  # px per model in horizontal bar charts


def percent(values: pd.Series) -> pd.Series:
    """Rates as percentages: values in [0, 1] are scaled by 100, values already in percent are kept."""
    numeric = pd.to_numeric(values, errors="coerce")
    return numeric * 100 if numeric.abs().max(skipna=True) <= 1.0 else numeric


MARGIN = {"t": 60, "b": 60}  # px above and below the plot area, so `_height` leaves HEIGHT_PER_ROW per row inside it


def _height(n: int) -> int:
    return max(260, 150 + HEIGHT_PER_ROW * n)


def _label_every(fig: go.Figure, labels) -> go.Figure:
    """Name every category on the y axis: plotly's automatic ticks on a category axis show only every other
    label once they get dense, so the tick values are given explicitly (and the margin fits the longest)."""
    names = [str(v) for v in dict.fromkeys(labels)]
    fig.update_yaxes(type="category", tickmode="array", tickvals=names, ticktext=names, automargin=True)
    fig.update_layout(margin=MARGIN)
    return fig


def bt_with_ci(ratings: pd.DataFrame) -> go.Figure:
    """Horizontal dot per model at its Bradley-Terry rating with its bootstrap 95% CI as error bars."""
    df = ratings.sort_values("bt")
    fig = go.Figure(go.Scatter(
        x=df["bt"], y=df["model"], mode="markers", marker={"size": 10},
        error_x={"type": "data", "symmetric": False, "array": df["bt_hi"] - df["bt"], "arrayminus": df["bt"] - df["bt_lo"]},
        hovertemplate="%{y}: %{x:.0f} Elo<extra></extra>",
    ))
    fig.update_layout(title="Bradley-Terry rating with bootstrap 95% CI", height=_height(len(df)),
                      xaxis_title="Bradley-Terry rating (Elo points, 1000 = anchor)", yaxis_title="model")
    return _label_every(fig, df["model"])


def mass_bars(mass: pd.Series, title: str, low: pd.Series | None = None, high: pd.Series | None = None) -> go.Figure:
    """Bar per model of its probability mass in an equilibrium mixture (e.g. the maximal lottery), with
    bootstrap 95% CI bars when `low`/`high` (same index) are given."""
    mass = mass.sort_values()
    error = None
    if low is not None and high is not None:
        error = {"type": "data", "symmetric": False, "array": (high.reindex(mass.index) - mass).clip(lower=0).to_numpy(),
                 "arrayminus": (mass - low.reindex(mass.index)).clip(lower=0).to_numpy()}
    fig = go.Figure(go.Bar(x=mass.to_numpy(), y=[str(i) for i in mass.index], orientation="h", error_x=error,
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=_height(len(mass)), xaxis_title="probability mass (0-1)", yaxis_title="model")
    top = float(high.max()) if high is not None else float(mass.max())
    fig.update_xaxes(range=[0, max(1e-9, top) * 1.1])
    return _label_every(fig, mass.index)


def nash_gaps(ratings: pd.DataFrame) -> go.Figure:
    """Bar per model of its Nash gap (exploitability, in win-probability points above 1/2) with its 95%
    prompt-bootstrap CI, most exploitable at the top, and its share of distinct answers in the hover."""
    df = ratings.dropna(subset=["nash_gap"]).sort_values("nash_gap")
    error = {"type": "data", "symmetric": False, "array": (df["nash_gap_hi"] - df["nash_gap"]).clip(lower=0).to_numpy(),
             "arrayminus": (df["nash_gap"] - df["nash_gap_lo"]).clip(lower=0).to_numpy()}
    distinct = df["diversity"] if "diversity" in df else pd.Series(float("nan"), index=df.index)
    fig = go.Figure(go.Bar(x=df["nash_gap"].to_numpy(), y=df["model"].astype(str).tolist(), orientation="h",
                           error_x=error, customdata=distinct.to_numpy(),
                           hovertemplate="%{y}: gap %{x:.3f}, distinct answers %{customdata:.0%}<extra></extra>"))
    fig.update_layout(title="Nash gap: how much the best answer in the pool beats each model (0 = unexploitable)",
                      height=_height(len(df)), xaxis_title="max_y P(y beats model) - 1/2 (0-0.5)", yaxis_title="model")
    return fig


def win_rates(ratings: pd.DataFrame) -> go.Figure:
    """Grouped bars per model: win rate against the field (with CI), against the reference, and the
    length-controlled win rate against the reference, in percent."""
    df = ratings.sort_values("bt" if "bt" in ratings else "model")
    fig = go.Figure()
    series = [("win_rate", "vs the field (mixed policy)"), ("win_rate_vs_ref", "vs the reference"),
              ("lc_win_rate_vs_ref", "vs the reference, length-controlled")]
    for column, label in series:
        if column not in df:
            continue
        error = None
        if column == "win_rate" and {"win_rate_lo", "win_rate_hi"} <= set(df.columns):
            mid = percent(df["win_rate"])
            error = {"type": "data", "symmetric": False, "array": percent(df["win_rate_hi"]) - mid,
                     "arrayminus": mid - percent(df["win_rate_lo"])}
        fig.add_bar(x=percent(df[column]), y=df["model"], name=label, orientation="h", error_x=error)
    fig.add_vline(x=50, line_dash="dot", line_color="gray")
    fig.update_layout(title="Win rates", barmode="group", height=_height(2 * len(df)),
                      xaxis_title="win rate (%; ties count half; 50 = even)", yaxis_title="model",
                      legend={"orientation": "h", "y": -0.15})
    return _label_every(fig, df["model"])


def bench_scores(bench: pd.DataFrame) -> go.Figure:
    """Grouped bars: each benchmark task's score per model, with its standard error."""
    df = bench.assign(task=bench["task"] + " (" + bench["metric"] + ")")
    fig = go.Figure()
    for model, part in df.groupby("model", sort=True):
        error = {"type": "data", "array": part["stderr"].to_numpy()} if "stderr" in part else None
        fig.add_bar(x=part["task"], y=part["value"], name=str(model), error_y=error)
    fig.update_layout(title="Standard benchmarks", barmode="group", xaxis_title="task (metric)",
                      yaxis_title="score (the task's metric, 0-1 for accuracies)")
    return fig


def heatmap(matrix: pd.DataFrame, title: str, color_title: str, zmax: float = 100.0,
            x_title: str = "opponent (column)", y_title: str = "model (row)", midpoint: float | None = 50.0) -> go.Figure:
    """A square heatmap with the values written in the cells (matrix already in the displayed unit); the
    first row is drawn at the top."""
    values = matrix.to_numpy(dtype=float)
    fig = go.Figure(go.Heatmap(
        z=values, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index], zmin=0, zmax=zmax,
        text=np.where(np.isfinite(values), np.round(np.nan_to_num(values)).astype(int).astype(str), ""),
        texttemplate="%{text}", colorscale="RdBu" if midpoint is not None else "Blues", zmid=midpoint,
        colorbar={"title": {"text": color_title}}, hovertemplate="%{y} vs %{x}: %{z:.1f}<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=max(320, 120 + 40 * len(matrix)))
    fig.update_yaxes(autorange="reversed")
    return fig


def cycle_graph(matrix: pd.DataFrame, cycles: list[list[str]], max_models: int = 12) -> go.Figure:
    """Directed graph of the majority relation: an arrow winner -> loser for each pair the winner takes
    more than half of; arrows on a cycle in red. Beyond `max_models` models only cycle edges are drawn."""
    models = list(matrix.index)
    angle = {m: math.pi / 2 - 2 * math.pi * i / max(1, len(models)) for i, m in enumerate(models)}
    pos = {m: (math.cos(a), math.sin(a)) for m, a in angle.items()}
    on_cycle = {(c[i], c[(i + 1) % len(c)]) for c in cycles for i in range(len(c))}
    notes = []  # built as one list: add_annotation() one by one costs ~20 ms each
    for a in models:
        for b in models:
            rate = matrix.at[a, b]
            if a == b or not np.isfinite(rate) or rate <= 0.5:
                continue
            red = (a, b) in on_cycle
            if not red and len(models) > max_models:
                continue
            (x0, y0), (x1, y1) = pos[a], pos[b]
            colour = "crimson" if red else "rgba(120,120,120,0.6)"
            notes.append({"x": x1, "y": y1, "ax": x0, "ay": y0, "xref": "x", "yref": "y", "axref": "x", "ayref": "y",
                          "showarrow": True, "arrowhead": 3, "arrowsize": 1.2, "arrowwidth": 1 + 6 * (rate - 0.5),
                          "standoff": 18, "startstandoff": 18, "arrowcolor": colour, "text": ""})
            notes.append({"x": (2 * x0 + 3 * x1) / 5, "y": (2 * y0 + 3 * y1) / 5, "text": f"{100 * rate:.0f}%",
                          "showarrow": False, "font": {"size": 11, "color": "crimson" if red else "gray"}})
    fig = go.Figure(layout={"annotations": notes})
    outward = ["top center" if y > 0.3 else "bottom center" if y < -0.3 else "middle left" if x < 0 else "middle right"
               for x, y in (pos[m] for m in models)]  # labels outside the circle, away from the arrows
    fig.add_trace(go.Scatter(
        x=[pos[m][0] for m in models], y=[pos[m][1] for m in models], mode="markers+text", text=models,
        textposition=outward, marker={"size": 22, "color": "#4c78a8"}, hoverinfo="text", showlegend=False,
    ))
    fig.update_xaxes(visible=False, range=[-1.9, 1.9])
    fig.update_yaxes(visible=False, range=[-1.35, 1.35], scaleanchor="x")
    fig.update_layout(title="Who beats whom: arrow from winner to loser, label = winner's win rate; red = on a cycle",
                      height=520)
    return fig


def bias_bars(bias: pd.DataFrame) -> go.Figure:
    """Per annotator: mean score (%) of the response shown first and of the longer one (50% = no bias)."""
    fig = go.Figure()
    fig.add_bar(x=bias["annotator"], y=percent(bias["position_bias"]), name="position: response shown first")
    fig.add_bar(x=bias["annotator"], y=percent(bias["length_bias"]), name="length: longer response")
    fig.add_hline(y=50, line_dash="dot", line_color="gray", annotation_text="no bias (50%)")
    fig.update_layout(title="Position and length bias per persona", barmode="group", xaxis_title="persona (annotator)",
                      yaxis_title="mean score of that response (%; ties half)", yaxis_range=[0, 100])
    return fig


def rank_bumps(ranks: pd.DataFrame) -> go.Figure:
    """Each model's rank under each persona (1 = best, drawn on top)."""
    fig = go.Figure()
    for model, part in ranks.sort_values(["model", "annotator"]).groupby("model", sort=True):
        fig.add_scatter(x=part["annotator"], y=part["rank"], mode="lines+markers", name=str(model))
    fig.update_yaxes(autorange="reversed", dtick=1)
    fig.update_layout(title="Rank of each model under each persona", xaxis_title="persona (annotator)",
                      yaxis_title="rank under that persona (1 = best)")
    return fig


def rank_spread(spread: pd.DataFrame) -> go.Figure:
    """Bar per model: worst minus best rank across personas."""
    fig = go.Figure(go.Bar(x=spread["model"], y=spread["rank_spread"], customdata=spread[["rank_best", "rank_worst"]],
                           hovertemplate="%{x}: ranks %{customdata[0]} to %{customdata[1]}<extra></extra>"))
    fig.update_layout(title="Rank spread across personas", xaxis_title="model",
                      yaxis_title="rank spread (worst - best, in ranks)")
    return fig


def training_curves(metrics: pd.DataFrame, columns: dict[str, str], title: str, unit: str) -> go.Figure:
    """Metrics (`columns`: column -> legend name) against the optimiser step: one panel per method, one
    colour per iteration, one dash per metric when there are several, one marker symbol per HT-MNPO player."""
    id_vars = [c for c in ("method", "player", "iteration", "step") if c in metrics]
    df = metrics.melt(id_vars=id_vars, value_vars=list(columns), var_name="series", value_name="value")
    df["series"] = df["series"].map(columns)
    df["iteration"] = "iter " + df["iteration"].astype(str)
    players = "player" in df and df["player"].notna().any()
    if players:
        df["player"] = df["player"].fillna("whole panel")
    df = df.sort_values([c for c in ("method", "player", "series", "iteration", "step") if c in df])
    fig = px.line(df, x="step", y="value", color="iteration", facet_col="method", symbol="player" if players else None,
                  line_dash="series" if len(columns) > 1 else None, markers=True, title=title,
                  line_group="player" if players else None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    fig.update_xaxes(title_text="optimiser step within the iteration")
    fig.update_yaxes(title_text=unit, col=1)
    fig.update_layout(xaxis_title="optimiser step within the iteration", yaxis_title=unit)
    return fig


def compare_bt(left: pd.DataFrame, right: pd.DataFrame, left_name: str, right_name: str) -> go.Figure:
    """Grouped dots with CIs: each model's Bradley-Terry rating in the two runs."""
    fig = go.Figure()
    for df, name in ((left, left_name), (right, right_name)):
        cis = {"bt_lo", "bt_hi"} <= set(df.columns)
        fig.add_scatter(x=df["bt"], y=df["model"], mode="markers", name=name, marker={"size": 10},
                        error_x={"type": "data", "symmetric": False, "array": df["bt_hi"] - df["bt"],
                                 "arrayminus": df["bt"] - df["bt_lo"]} if cis else None)
    n = len(set(left["model"]) | set(right["model"]))
    fig.update_layout(title="Bradley-Terry rating in both runs", height=_height(n), scattermode="group",
                      xaxis_title="Bradley-Terry rating (Elo points, 1000 = anchor)", yaxis_title="model")
    return _label_every(fig, pd.concat([left.sort_values("bt")["model"], right.sort_values("bt")["model"]]))
