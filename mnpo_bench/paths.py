"""Where things live: the built-in data folders (personas, recipes, leaderboards) and the cache.

In a checkout (or an editable install) the data folders are the top-level `annotators/`, `trainer/` and
`leaderboards/`; in an installed wheel they are copied into `mnpo_bench/_builtin/` by the build.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_FOLDERS = ("annotators", "trainer", "leaderboards")


def builtin_dir(folder: str) -> Path:
    """The directory holding the built-in `folder` ("annotators", "trainer" or "leaderboards")."""
    if folder not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {folder!r}")
    checkout = PACKAGE_DIR.parent / folder
    if (PACKAGE_DIR.parent / "pyproject.toml").exists() and checkout.is_dir():
        return checkout
    return PACKAGE_DIR / "_builtin" / folder


def cache_dir() -> Path:
    """The cache root: $MNPO_BENCH_CACHE, else ~/.cache/mnpo_bench. Holds the tiny model and judge caches."""
    root = os.environ.get("MNPO_BENCH_CACHE") or Path.home() / ".cache" / "mnpo_bench"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
