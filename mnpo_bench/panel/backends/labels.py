"""The `labels` backend: human or external labels read from a file, to calibrate personas against people.

The file (CSV, JSONL or parquet) has columns `prompt`, `response_a`, `response_b` and either `label`
("a", "b" or "tie") or `prob_a` (P(a wins) in [0, 1]). A comparison is matched on its texts in either
order (shown reversed, the probability is 1 - prob_a); one with no label is a failed verdict, never a tie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Backend, Comparison, Verdict
from mnpo_bench.settings import Section
from mnpo_bench.store import stable_hash

LABEL_PROB = {"a": 1.0, "b": 0.0, "tie": 0.5}
READERS = {".csv": pd.read_csv, ".jsonl": lambda p: pd.read_json(p, lines=True), ".parquet": pd.read_parquet}


class LabelsParams(Section):
    """Parameters of a labels persona."""

    path: str = Field(..., description="labels file beside the persona or a full path (.csv, .jsonl, .parquet)")


def read_labels(path: Path, where: str) -> dict[str, float]:
    """hash(prompt, response_a, response_b) -> P(a wins), from the labels file at `path`."""
    if path.suffix not in READERS:
        raise UserError(f"unsupported labels file type '{path.suffix}'", where=where, fix="use .csv, .jsonl or .parquet")
    frame = READERS[path.suffix](path)
    missing = [c for c in ("prompt", "response_a", "response_b") if c not in frame.columns]
    if missing or not ({"label", "prob_a"} & set(frame.columns)):
        need = missing[0] if missing else "label' or 'prob_a"
        raise UserError(f"labels file lacks column '{need}'", where=f"{path}", fix="see the README, labels backend")
    table: dict[str, float] = {}
    for n, row in enumerate(frame.itertuples(index=False), start=2):
        if "prob_a" in frame.columns and pd.notna(getattr(row, "prob_a")):
            prob = float(row.prob_a)
        else:
            value = str(getattr(row, "label", "")).strip().lower()
            if value not in LABEL_PROB:
                raise UserError(f"label {value!r} on row {n - 1}", where=str(path), fix="use a, b or tie")
            prob = LABEL_PROB[value]
        if not 0.0 <= prob <= 1.0:
            raise UserError(f"prob_a {prob} on row {n - 1} is outside [0, 1]", where=str(path))
        table[stable_hash(row.prompt, row.response_a, row.response_b)] = prob
    return table


class LabelsBackend(Backend):
    """Looks each comparison up in a labels file."""

    Params = LabelsParams

    def __init__(self, persona: Any, device: str = "auto"):
        super().__init__(persona, device)
        self.table = read_labels(Path(self.params.path), where=f"{persona.source}: params.path")

    @classmethod
    def check(cls, persona: Any) -> None:
        read_labels(Path(persona.params.path), where=f"{persona.source}: params.path")

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        verdicts = []
        for item in items:
            forward = self.table.get(stable_hash(item.prompt, item.first, item.second))
            backward = self.table.get(stable_hash(item.prompt, item.second, item.first))
            if forward is not None:
                verdicts.append(Verdict(forward, latency_s=0.0, calls=0))
            elif backward is not None:
                verdicts.append(Verdict(1.0 - backward, latency_s=0.0, calls=0))
            else:
                verdicts.append(Verdict(None, error="no label for this comparison in " + Path(self.params.path).name, calls=0))
        return verdicts
