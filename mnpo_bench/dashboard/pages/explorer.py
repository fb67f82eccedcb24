"""Explorer: one prompt with every policy's response and every persona's vote and probability."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnpo_bench.dashboard import reads, ui
from mnpo_bench.dashboard.runs import Run
from mnpo_bench.dashboard.roots import Roots

MAX_CHOICES = 500  # prompts listed in the picker at once; the search box narrows the rest
_ROWS = "SELECT * FROM read_parquet($p0) WHERE prompt_id = $pid"


def _answers(run: Run, pid: str) -> pd.DataFrame:
    frames = []
    for name in ("responses", "generations"):
        for path in run.tables(name):
            frame = reads.sql(_ROWS, [path], pid=pid)
            if len(frame):
                frames.append(frame.assign(source=path.name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _cell(vote: str | None, prob: float | None, error: str | None = None) -> str:
    """The text of one vote: "failed: <error>", "no verdict", or the verdict with P(a). A missing error reads
    back as None or NaN (by column type), and NaN is truthy, so only a non-empty string is a failure."""
    if isinstance(error, str) and error:
        return f"failed: {error}"
    if vote is None or pd.isna(vote):
        return "no verdict"
    return f"{vote} (P(a)={prob:.2f})" if prob is not None and not pd.isna(prob) else str(vote)


def battle_votes(path, pid: str) -> pd.DataFrame:
    """Rows: the pair and the order it was shown in; columns: personas; cells: winner (P(model_a wins))."""
    rows = reads.sql(_ROWS, [path], pid=pid)
    if rows.empty:
        return rows
    rows["pair"] = rows["model_a"] + " vs " + rows["model_b"]
    none = [None] * len(rows)
    rows["cell"] = [_cell(w, p, err) for w, p, err in zip(rows["winner"], rows.get("prob_a", none), rows.get("error", none))]
    index = ["pair", "order"] if "order" in rows else ["pair"]
    return rows.pivot_table(index=index, columns="annotator", values="cell", aggfunc="first").reset_index()


def judgment_votes(path, pid: str) -> pd.DataFrame:
    """Rows: response pair and order; columns: personas; cells: label (P(a)) or the judge's error."""
    rows = reads.sql(_ROWS, [path], pid=pid)
    if rows.empty:
        return rows
    rows["pair"] = rows["response_a_id"] + " vs " + rows["response_b_id"]
    rows["cell"] = [_cell(label, p, e) for label, p, e in zip(rows["label"], rows["prob_a"], rows["error"])]
    return rows.pivot_table(index=["pair", "order"], columns="persona", values="cell", aggfunc="first").reset_index()


def _pick_prompt(prompts: pd.DataFrame) -> str | None:
    left, right = st.columns([1, 3])
    splits = ["all", *sorted(prompts["split"].dropna().unique())] if "split" in prompts else ["all"]
    split = left.radio("Split", splits, horizontal=True, key="ex_split")
    query = right.text_input("Search prompts", key="ex_query", placeholder="words in the prompt or its id")
    shown = prompts if split == "all" else prompts[prompts["split"] == split]
    if query:
        hit = shown["prompt"].str.contains(query, case=False, regex=False) | shown["prompt_id"].str.contains(query, regex=False)
        shown = shown[hit]
    if shown.empty:
        st.info("no prompt matches")
        return None
    labels = dict(zip(shown["prompt_id"].head(MAX_CHOICES), shown["prompt"].head(MAX_CHOICES).str.slice(0, 80)))
    return st.selectbox(f"Prompt ({len(shown)} match, first {min(len(shown), MAX_CHOICES)} listed)", list(labels),
                        format_func=lambda pid: f"{pid} · {labels[pid]}", key="ex_prompt")


@ui.run_page("Explorer")
def render(run: Run, r: Roots) -> None:
    """The picked prompt, its responses and the panel's votes on them."""
    path = run.table("prompts")
    if path is None:
        ui.missing("no prompts yet", f"{run.name}/prompts.parquet")
        return
    with ui.guard():
        prompts = reads.read_parquet(path)
        pid = _pick_prompt(prompts)
        if pid is None:
            return
        row = prompts[prompts["prompt_id"] == pid].iloc[0]
        st.markdown(f"**{pid}** · {row.get('family', '')} · {row.get('split', '')}")
        st.code(row["prompt"], language=None, wrap_lines=True)
        if row.get("gold") is not None and not pd.isna(row.get("gold")):
            st.markdown(f"gold answer: `{row['gold']}`")
        answers = _answers(run, pid)
        st.subheader("Responses")
        if answers.empty:
            ui.missing("no responses to this prompt", "responses.parquet / generations.parquet rows")
        else:
            cols = [c for c in ("policy", "sample", "text", "n_tokens", "finish_reason", "source") if c in answers]
            ui.table(answers[cols])
        st.subheader("Votes")
        battles, judgments, voted = run.table("battles"), run.table("judgments"), False
        for path, title, fn in ((battles, "Tournament battles (winner, P(model_a wins))", battle_votes),
                                (judgments, "Panel judgments (label, P(a))", judgment_votes)):
            table = fn(path, pid) if path is not None else pd.DataFrame()
            if len(table):
                st.markdown(f"**{title}**")
                st.dataframe(table, hide_index=True)
                voted = True
        if not voted:
            ui.missing("no votes on this prompt", "battles.parquet / judgments.parquet rows")


if __name__ == "__main__":
    render()
