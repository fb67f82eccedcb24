"""The Streamlit dashboard over run directories and published leaderboards (read-only).

`app.py` routes the pages in `pages/`; `roots` and `runs` find the data (and keep typed paths inside the
configured roots); `reads` caches every file read on (path, mtime, size); `votes` aggregates battles and
judgments with DuckDB; `board` reads a leaderboard folder; `charts` builds the plotly figures; `fixture`
writes a synthetic run in the documented formats (tests, benchmark, demos). See docs/dashboard.md.
"""
