"""Cached, read-only access to the files of a run: parquet (pyarrow), DuckDB queries, CSV, JSON, JSONL, YAML.

Every reader is cached with `st.cache_data` under a key made of the file's path, mtime (ns) and size, so a
re-rendered page costs nothing and a file rewritten by a new stage is read again. Nothing here opens a file
for writing: parquet goes through pyarrow, aggregations through an in-memory DuckDB connection that only
reads the parquet files (its spill directory is a temp dir, never the run). A file that cannot be read
becomes a `UserError` naming it, which the pages show instead of a traceback.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import streamlit as st
import yaml

from mnpo_bench.errors import UserError

Stamp = tuple[str, int, int]  # (path, mtime_ns, size): the cache key of one file
_SPILL_DIR = Path(tempfile.gettempdir()) / "mnpo_bench_dashboard_duckdb"


def stamp(path: Path) -> Stamp:
    """The cache key of `path`: (path, mtime in ns, size in bytes)."""
    info = Path(path).stat()
    return (str(path), info.st_mtime_ns, info.st_size)


def _unreadable(path: str, exc: Exception) -> UserError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UserError(f"cannot read this file ({reason[:200]})", where=path, fix="re-run the stage that writes it")


@st.cache_data(show_spinner=False, max_entries=256)
def _schema(key: Stamp) -> tuple[list[str], int]:
    try:
        meta = pq.ParquetFile(key[0]).metadata
        return list(meta.schema.names), int(meta.num_rows)
    except Exception as exc:  # a corrupt file is reported, not raised as a traceback
        raise _unreadable(key[0], exc) from None


def parquet_columns(path: Path) -> list[str]:
    """The column names of a parquet file (from its footer; no data is read)."""
    return _schema(stamp(path))[0]


def parquet_rows(path: Path) -> int:
    """The number of rows of a parquet file (from its footer; no data is read)."""
    return _schema(stamp(path))[1]


@st.cache_data(show_spinner=False, max_entries=64)
def _parquet(key: Stamp, columns: tuple[str, ...] | None) -> pd.DataFrame:
    try:
        return pq.read_table(key[0], columns=list(columns) if columns else None).to_pandas()
    except Exception as exc:
        raise _unreadable(key[0], exc) from None


def read_parquet(path: Path, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A parquet file (optionally only `columns`) as a DataFrame; use for small tables only."""
    return _parquet(stamp(path), tuple(columns) if columns else None)


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection that spills to a temp dir, never into a run."""
    _SPILL_DIR.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(":memory:", config={"temp_directory": str(_SPILL_DIR)})


@st.cache_data(show_spinner=False, max_entries=256)
def _sql(query: str, keys: tuple[Stamp, ...], params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    bound = {f"p{i}": key[0] for i, key in enumerate(keys)} | dict(params)
    try:
        with connect() as con:
            return con.execute(query, bound).df()
    except duckdb.Error as exc:
        raise _unreadable(", ".join(key[0] for key in keys), exc) from None


def sql(query: str, paths: list[Path], **params: Any) -> pd.DataFrame:
    """The result of a DuckDB `query` in which `$p0, $p1, ...` are the file paths `paths` and `$name` the
    keyword `params`; cached on the files' stamps and the parameters."""
    return _sql(query, tuple(stamp(p) for p in paths), tuple(sorted(params.items())))


@st.cache_data(show_spinner=False, max_entries=256)
def _text(key: Stamp) -> str:
    try:
        return Path(key[0]).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(key[0], exc) from None


def read_text(path: Path) -> str:
    """A text file's contents."""
    return _text(stamp(path))


def read_json(path: Path) -> Any:
    """A JSON file parsed; UserError naming the file when it is not valid JSON."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise _unreadable(str(path), exc) from None


def read_yaml(path: Path) -> Any:
    """A YAML file parsed; UserError naming the file when it is not valid YAML."""
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise _unreadable(str(path), exc) from None


@st.cache_data(show_spinner=False, max_entries=128)
def _csv(key: Stamp) -> pd.DataFrame:
    try:
        return pd.read_csv(key[0])
    except Exception as exc:
        raise _unreadable(key[0], exc) from None


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as a DataFrame."""
    return _csv(stamp(path))


@st.cache_data(show_spinner=False, max_entries=128)
def _jsonl(key: Stamp) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(_text(key).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise _unreadable(f"{key[0]}:{number}", exc) from None
    return pd.DataFrame(rows)


def read_jsonl(path: Path) -> pd.DataFrame:
    """A JSON-lines file as a DataFrame (one row per line; blank lines skipped)."""
    return _jsonl(stamp(path))
