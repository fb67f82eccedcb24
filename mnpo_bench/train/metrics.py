"""Training metrics as JSONL: one object per optimiser step (schema in docs/ARCHITECTURE.md).

Rows are tagged with method, player and iteration, so one file per method holds every iteration and
player. When an iteration starts over or resumes, rows of that (player, iteration) beyond the step it
restarts from are dropped first, so a resumed run's log reads exactly like an uninterrupted one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnpo_bench.store import write_text

FIELDS = ("method", "player", "iteration", "step", "loss", "margin", "chosen_logp", "rejected_logp", "grad_norm",
          "lr", "tokens_per_s", "skipped", "time")


class MetricsLog:
    """Appends metric rows of one (method, player, iteration) to a JSONL file shared by a method."""

    def __init__(self, path: Path, *, method: str, player: str | None, iteration: int):
        self.path = Path(path)
        self.tags = {"method": method, "player": player, "iteration": iteration}

    def restart_from(self, step: int) -> None:
        """Drop this (player, iteration)'s rows with step > `step` (0: all of them)."""
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines() if line.strip() and not self._stale(line, step)]
        write_text(self.path, "".join(line + "\n" for line in kept))

    def _stale(self, line: str, step: int) -> bool:
        row = json.loads(line)
        mine = row.get("player") == self.tags["player"] and row.get("iteration") == self.tags["iteration"]
        return mine and row.get("step", 0) > step

    def write(self, row: dict[str, Any]) -> dict[str, Any]:
        """Append one step's row (tags added, fields ordered as the schema); returns it."""
        full = {**self.tags, **row}
        ordered = {key: full.get(key) for key in FIELDS}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(ordered) + "\n")
        return ordered


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every row of a metrics JSONL file, in order (empty when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
