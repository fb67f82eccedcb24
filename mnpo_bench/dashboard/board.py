"""A leaderboard folder (ratings.csv, matrix.csv, diagnostics.json, annotators.csv, report.md) read for
display, plus the cycle reading the Leaderboard and Tournament pages share."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mnpo_bench.dashboard import reads

FILES = ("ratings.csv", "matrix.csv", "diagnostics.json", "annotators.csv", "report.md")


@dataclass
class Board:
    """What a leaderboard folder holds; a file that is absent is None and named in `missing`."""

    directory: Path
    ratings: pd.DataFrame | None = None
    matrix: pd.DataFrame | None = None  # square: row model's win rate against column model, in [0, 1]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    annotators: pd.DataFrame | None = None
    report: str | None = None
    missing: list[str] = field(default_factory=list)


def load_board(directory: Path) -> Board:
    """Read every file of the leaderboard folder `directory` (cached); absent files are listed in `missing`."""
    board = Board(Path(directory))
    for name in FILES:
        path = board.directory / name
        if not path.exists():
            board.missing.append(name)
        elif name == "ratings.csv":
            board.ratings = reads.read_csv(path)
        elif name == "matrix.csv":
            board.matrix = square_matrix(reads.read_csv(path))
        elif name == "diagnostics.json":
            board.diagnostics = reads.read_json(path) or {}
        elif name == "annotators.csv":
            board.annotators = reads.read_csv(path)
        else:
            board.report = reads.read_text(path)
    return board


def square_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """matrix.csv as a square frame (index: model, columns: opponent, values: win rate in [0, 1]).

    Accepts the wide form (first column the model, one column per opponent) and the long form
    (model_a, model_b, win_rate)."""
    if {"model_a", "model_b"} <= set(frame.columns):
        value = next(c for c in frame.columns if c not in ("model_a", "model_b"))
        wide = frame.pivot(index="model_a", columns="model_b", values=value)
    else:
        wide = frame.set_index(frame.columns[0])
    wide.index = wide.index.astype(str)
    wide.columns = wide.columns.astype(str)
    models = list(dict.fromkeys([*wide.index, *wide.columns]))
    return wide.reindex(index=models, columns=models).astype(float)


def majority_cycles(matrix: pd.DataFrame, limit: int = 50) -> list[list[str]]:
    """Every 3-cycle a>b>c>a of the majority relation (win rate > 0.5), each listed once, at most `limit`."""
    models = list(matrix.index)
    beats = matrix.to_numpy() > 0.5
    found = []
    for i, j, k in itertools.combinations(range(len(models)), 3):
        for a, b, c in ((i, j, k), (i, k, j)):
            if beats[a, b] and beats[b, c] and beats[c, a]:
                found.append([models[a], models[b], models[c]])
                if len(found) >= limit:
                    return found
    return found


def _as_cycle(item: Any) -> list[str] | None:
    if isinstance(item, dict):
        item = next((item[k] for k in ("cycle", "models", "nodes") if k in item), None)
    if isinstance(item, str):
        item = [part.strip() for part in item.replace("→", ">").split(">")]
    if isinstance(item, (list, tuple)) and len(item) >= 3:
        names = [str(x) for x in item]
        return names[:-1] if names[0] == names[-1] else names
    return None


def cycles(board: Board) -> list[list[str]]:
    """The preference cycles to show: diagnostics.json's significant cycles when it lists any, else the
    3-cycles of the majority relation of the win-rate matrix (which may be within noise)."""
    listed = [c for c in map(_as_cycle, board.diagnostics.get("cycles") or []) if c]
    if listed:
        return listed
    return majority_cycles(board.matrix) if board.matrix is not None else []


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def transitivity_sentence(board: Board) -> str:
    """One plain sentence: whether the ranking is transitive, and if not, a cycle named in words."""
    d = board.diagnostics
    found = cycles(board)
    triads, consistency = _number(d.get("cyclic_triads")), _number(d.get("consistency"))
    counts = [f"{int(triads)} cyclic triad{'s' if triads != 1 else ''}"] if triads is not None else []
    counts += [f"coefficient of consistence {consistency:.2f}"] if consistency is not None else []
    extra = f" ({', '.join(counts)})" if counts else ""
    if not found and not triads:
        return f"The ranking is transitive: no model sits in a preference cycle{extra}."
    if not found:
        return (f"The ranking is not transitive{extra}: some models beat each other in a circle, so no single "
                "order is right; read the maximal lottery next to Bradley-Terry.")
    first = found[0]
    chain = ", ".join(f"{a} beats {b}" for a, b in zip(first, first[1:])) + f", and {first[-1]} beats {first[0]}"
    significant = _number(d.get("n_significant_cycles"))
    sure = ""
    if significant is not None:
        sure = ", every step significant at 95%" if significant else ", though no step of it is sure at 95%"
    more = f" {len(found) - 1} more cycle(s) are on the Tournament page." if len(found) > 1 else ""
    return (f"The ranking is not transitive{extra}: {chain}{sure}; no single order of these models is right, "
            f"so read the maximal lottery next to Bradley-Terry.{more}")
