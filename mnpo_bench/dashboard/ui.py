"""What every page shares: the roots, the sidebar that picks the run (and the run to compare with), and
the small helpers that turn a missing file or a bad one into a message instead of an exception."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from mnpo_bench.dashboard.roots import Roots
from mnpo_bench.dashboard.runs import Run, discover, open_run
from mnpo_bench.errors import UserError

NONE = "(none)"


def roots() -> Roots:
    """The configured roots: `-- --runs-dir/--leaderboards-dir` after `streamlit run app.py`, else env, else ./"""
    return Roots.from_args(sys.argv[1:])


def _known() -> dict[str, Run]:
    return st.session_state.setdefault("_opened", {})


def _open(r: Roots, name: str) -> str | None:
    """Open a typed or linked run; remember it for the session; the error shown in the sidebar on failure."""
    try:
        run = open_run(r, name)
    except UserError as exc:
        st.sidebar.error(exc.line())
        return None
    _known()[run.name] = run
    return run.name


def runs(r: Roots) -> dict[str, Run]:
    """Every discovered run plus those opened by path in this session, by name."""
    return discover(r) | _known()


def sidebar(r: Roots) -> None:
    """Render the run pickers; the choice lives in st.session_state['run'] / ['run_b'] and in the URL."""
    st.sidebar.caption(f"runs: `{r.runs}`  \nleaderboards: `{r.leaderboards}`")
    linked = st.query_params.get("run")
    if linked and not st.session_state.get("_link_read"):
        st.session_state["_link_read"] = True
        if (name := _open(r, linked)) is not None:
            st.session_state["run"] = name
    typed = st.sidebar.text_input("Open a run by path", key="typed_path", placeholder="relative to the runs root",
                                  help="a directory under the runs root; paths outside it are refused")
    if typed:  # checked on every rerun, so a refused path stays flagged while it is in the box
        name = _open(r, typed)
        if name is not None and typed != st.session_state.get("_typed_done"):
            st.session_state["_typed_done"] = typed
            st.session_state["run"] = name
    names = list(runs(r))
    if not names:
        return
    if st.session_state.get("run") not in names:
        st.session_state["run"] = names[0]
    if st.session_state.get("run_b") not in [NONE, *names]:
        st.session_state["run_b"] = NONE
    st.sidebar.selectbox("Run", names, key="run")
    st.sidebar.selectbox("Compare with", [NONE, *names], key="run_b")
    st.query_params["run"] = st.session_state["run"]


def current(r: Roots) -> Run | None:
    """The run picked in the sidebar, or None (after saying why) when there is none."""
    known = runs(r)
    name = st.session_state.get("run")
    if name in known:
        return known[name]
    st.info(f"No runs found under {r.runs} (nor published leaderboards under {r.leaderboards}). "
            "Run `mnpo-bench run`, or start the dashboard with --runs-dir pointing at your runs.")
    return None


def run_page(title: str) -> Callable[[Callable[[Run, Roots], None]], Callable[[], None]]:
    """Decorator of a page about one run: `render(run, roots)` becomes the page's `render()`, which opens
    the roots, takes the run picked in the sidebar (when there is none it says why and stops) and titles
    the page "<title> · <run>". The opening every run page shares, written once."""
    def wrap(body: Callable[[Run, Roots], None]) -> Callable[[], None]:
        @functools.wraps(body)
        def render() -> None:
            r = roots()
            run = current(r)
            if run is None:
                return
            st.title(f"{title} · {run.name}")
            body(run, r)
        return render
    return wrap


def other(r: Roots) -> Run | None:
    """The run picked as 'Compare with', or None."""
    return runs(r).get(st.session_state.get("run_b", NONE))


def pick() -> None:
    """Callback of the Runs page's multiselect: the first pick becomes the run, the second the comparison."""
    chosen = st.session_state.get("runs_pick") or []
    if chosen:
        st.session_state["run"] = chosen[0]
    st.session_state["run_b"] = chosen[1] if len(chosen) > 1 else NONE


@contextmanager
def guard() -> Iterator[None]:
    """Show a UserError (an unreadable file, a missing column) as one red line instead of a traceback."""
    try:
        yield
    except UserError as exc:
        st.error(exc.line())


def table(frame, **kwargs) -> None:
    """st.dataframe of a run's table, each column the schemas define carrying its meaning as the header's
    tooltip (mnpo_bench/schemas.py); other keyword arguments go to st.dataframe."""
    from mnpo_bench.schemas import column_help

    config = {c: st.column_config.Column(help=doc) for c, doc in column_help(frame.columns).items()}
    st.dataframe(frame, hide_index=True, column_config={**config, **kwargs.pop("column_config", {})}, **kwargs)


def missing(what: str, where: str) -> None:
    """Say which file is missing and what that means, e.g. 'no training yet: train/ not found in runs/x'."""
    st.info(f"{what}: {where} not found")
