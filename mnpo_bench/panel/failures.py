"""Failed judgments in a stage: a stage with any is not done, and one with too many stops the run.

Every judging stage (annotate, the tournament, the online training iterations) calls `settle_failures` on
its judgments table once it is written. No failures: nothing happens. Some: the stage is marked incomplete
(`StageRun.mark_incomplete`), so the next run asks again, through the judge cache, for exactly the failed
judgments (failures are never cached). A persona whose share of failed judgments exceeds
`panel.max_failure_rate` stops the run with one line naming the persona, its endpoint and its commonest
error (a UserError, exit code 2): a judge that is down must not pass as a panel that ties.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.personas import Panel, Persona
from mnpo_bench.redact import redact
from mnpo_bench.store import stable_hash


def endpoint(persona: Persona) -> str:
    """Where a persona's verdicts come from, for messages: a URL, a model, a labels file or the backend."""
    params = persona.params
    if persona.backend == "openai":
        return getattr(params, "base_url", None) or "https://api.openai.com/v1"
    for attr in ("model", "path"):
        value = getattr(params, attr, None)
        if value:
            return f"{persona.backend} {value}"
    return f"{persona.backend} backend"


def failure_lines(judgments: pd.DataFrame) -> list[tuple[str, int, int, str, int]]:
    """Per persona with failures: (persona, failed, judged, commonest error, its count), worst share first."""
    rows = []
    for name, group in judgments.groupby("persona", sort=True):
        errors = group["error"].dropna()
        if errors.empty:
            continue
        counts = errors.map(lambda e: redact(str(e))).value_counts()
        rows.append((str(name), len(errors), len(group), str(counts.index[0]), int(counts.iloc[0])))
    return sorted(rows, key=lambda r: (-r[1] / r[2], r[0]))


def settle_failures(judgments: pd.DataFrame, panel: Panel, cfg: PanelConfig, stage: Any, what: str) -> int:
    """The number of failed judgments in `judgments`; marks `stage` (a pipeline StageRun, or None) incomplete
    when there are any, and raises a UserError when a persona's failure share exceeds cfg.max_failure_rate.
    `what` names the stage in messages (e.g. "annotate")."""
    if judgments.empty or judgments["error"].isna().all():
        return 0
    lines = failure_lines(judgments)
    failed = sum(r[1] for r in lines)
    name, n_failed, n_judged, error, count = lines[0]
    if n_failed / n_judged > cfg.max_failure_rate:
        persona = _persona(panel, name)
        where = endpoint(persona) if persona is not None else "?"
        raise UserError(
            f"{n_failed}/{n_judged} judgments by persona '{name}' failed ({n_failed / n_judged:.0%} > "
            f"panel.max_failure_rate {cfg.max_failure_rate:g}) at {where}; commonest error ({count}x): {error}",
            where=what, fix="fix the endpoint and re-run the same command: only the failed judgments are asked again")
    if stage is not None:
        ok = judgments.loc[judgments["error"].isna(), ["cache_key", "persona", "order"]]
        produced = stable_hash(sorted(map(tuple, ok.astype(str).to_numpy().tolist())))
        stage.mark_incomplete(f"{failed} of {len(judgments)} judgments failed (worst: '{name}', {n_failed}/{n_judged}: "
                              f"{error}); re-run to ask again for them", produced)
    return failed


def _persona(panel: Panel, name: str) -> Persona | None:
    members = [p for p, _ in panel.members] + ([panel.quality] if panel.quality else [])
    return next((p for p in members if p.name == name), None)
