"""The dashboard's entry point: page routing only. `streamlit run app.py` (the top-level app.py calls
`main()`), or `mnpo-bench dashboard`. Each page is a module in `mnpo_bench/dashboard/pages/`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mnpo_bench.dashboard import ui

PAGES_DIR = Path(__file__).resolve().parent / "pages"
# (module and url path, title, icon); the first is the landing page
PAGES = (
    ("runs", "Runs", ":material/folder_open:"),
    ("leaderboard", "Leaderboard", ":material/leaderboard:"),
    ("tournament", "Tournament", ":material/grid_on:"),
    ("annotators", "Annotators", ":material/groups:"),
    ("training", "Training", ":material/show_chart:"),
    ("explorer", "Explorer", ":material/search:"),
    ("compare", "Compare", ":material/compare_arrows:"),
    ("experiments", "Experiments", ":material/science:"),
    ("game_lab", "Game lab", ":material/casino:"),
)


def main() -> None:
    """Render the sidebar and the page the URL names."""
    st.set_page_config(page_title="mnpo-bench", page_icon=":material/leaderboard:", layout="wide")
    pages = [st.Page(PAGES_DIR / f"{slug}.py", title=title, icon=icon, url_path=slug, default=i == 0)
             for i, (slug, title, icon) in enumerate(PAGES)]
    page = st.navigation(pages)
    ui.sidebar(ui.roots())
    page.run()


if __name__ == "__main__":
    main()
