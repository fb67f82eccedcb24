"""Where the dashboard looks for data, and the one check that keeps typed paths inside those roots.

The roots come from the command line (`streamlit run app.py -- --runs-dir R --leaderboards-dir L`, which
`mnpo-bench dashboard` passes through), else from `$MNPO_BENCH_RUNS_DIR` / `$MNPO_BENCH_LEADERBOARDS_DIR`,
else `./runs` and `./leaderboards`. Every path the UI opens (a run picked from a list, typed into a box or
given as `?run=` in the URL) goes through `inside()`, which resolves symlinks and `..` first, so nothing
outside the configured roots can be read.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from mnpo_bench.errors import UserError

ENV_RUNS = "MNPO_BENCH_RUNS_DIR"
ENV_LEADERBOARDS = "MNPO_BENCH_LEADERBOARDS_DIR"


@dataclass(frozen=True)
class Roots:
    """The two directories the dashboard reads (resolved, absolute)."""

    runs: Path
    leaderboards: Path

    @classmethod
    def from_args(cls, argv: list[str] | None = None, env: dict[str, str] | None = None) -> "Roots":
        """Roots from `--runs-dir/--leaderboards-dir` in argv, else the env vars, else ./runs and ./leaderboards."""
        env = os.environ if env is None else env
        parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
        parser.add_argument("--runs-dir")
        parser.add_argument("--leaderboards-dir")
        args, _ = parser.parse_known_args(argv or [])
        runs = args.runs_dir or env.get(ENV_RUNS) or "runs"
        boards = args.leaderboards_dir or env.get(ENV_LEADERBOARDS) or "leaderboards"
        return cls(Path(runs).expanduser().resolve(), Path(boards).expanduser().resolve())


def inside(root: Path, typed: str | Path) -> Path:
    """`typed` (relative to `root`, or absolute) resolved to a real path that lies inside `root`.

    Raises UserError when the resolved path (after `..` and symlinks) leaves `root`, so a path typed into
    the UI can never reach anything outside the configured root.
    """
    root = Path(root).resolve()
    text = str(typed).strip()
    if not text or "\x00" in text:
        raise UserError("empty or invalid path", where=repr(text), fix=f"type a directory under {root}")
    candidate = (root / text).resolve()
    if candidate != root and not candidate.is_relative_to(root):
        raise UserError("path is outside the configured root", where=text, fix=f"type a directory under {root}")
    return candidate
