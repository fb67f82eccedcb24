"""Judging: every pair in both orders, by every persona the panel assigns, through the persistent cache.

`judge_pairs` is the entry point other subsystems use (the tournament); `run_panel` is the same with the
panel already resolved and per-persona call statistics returned. The judgments table has one row per
(pair, order, persona) that was asked: `prob_a` is always the probability that `response_a_id` wins,
whichever order it was shown in; a failure is a row with `error` set and `prob_a`/`label` null.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.panel.backends import Comparison, Verdict, get_backend
from mnpo_bench.panel.biases import biased_prob, flip, label
from mnpo_bench.panel.cache import JudgeCache, cache_key, default_dir
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.personas import Panel, Persona, resolve_panel
from mnpo_bench.progress import Progress
from mnpo_bench.redact import redact
from mnpo_bench.schemas import JUDGMENT_COLUMNS, PAIR_COLUMNS


@dataclass(frozen=True)
class Task:
    """One comparison to judge: a pair of the pairs table in one presentation order."""

    prompt_id: str
    a_id: str
    b_id: str
    order: str  # "ab": response a shown first; "ba": response b shown first
    comparison: Comparison


@dataclass
class JudgeStats:
    """Per persona, in this run: backend calls made, verdicts served from the cache, verdicts computed,
    seconds spent computing, prompt and completion tokens used (openai)."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cache_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    computed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    tokens_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tokens_out: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cost_usd: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def as_dict(self) -> dict[str, dict[str, Any]]:
        names = sorted(set(self.calls) | set(self.cache_hits) | set(self.computed))
        return {n: {"calls": self.calls[n], "cache_hits": self.cache_hits[n], "computed": self.computed[n],
                    "seconds": round(self.seconds[n], 3), "tokens_in": self.tokens_in[n],
                    "tokens_out": self.tokens_out[n], "cost_usd": round(self.cost_usd[n], 6)} for n in names}

    def spent(self) -> tuple[int, float]:
        """(backend calls made, their US dollars) over every persona."""
        return sum(self.calls.values()), sum(self.cost_usd.values())


def judge_pairs(pairs: pd.DataFrame, panel_cfg: PanelConfig, *, seed: int, progress: Progress) -> pd.DataFrame:
    """The judgments table (columns JUDGMENT_COLUMNS) of the run's panel on `pairs` (columns PAIR_COLUMNS),
    each pair in both orders unless panel_cfg.both_orders is false."""
    return run_panel(pairs, resolve_panel(panel_cfg), panel_cfg, seed=seed, progress=progress)[0]


def run_panel(pairs: pd.DataFrame, panel: Panel, cfg: PanelConfig, *, seed: int, progress: Progress,
              only: str | None = None) -> tuple[pd.DataFrame, JudgeStats]:
    """(judgments, stats) of `panel` on `pairs`; `only` restricts the panel to one persona, who then judges
    every comparison (also under `sample` aggregation)."""
    missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs table lacks columns {missing}")
    tasks = _tasks(pairs, cfg.both_orders)
    members = [(panel.persona(only), 1.0)] if only else list(panel.members)
    assigned = _assign(tasks, members, panel.aggregation if not only else "mean", seed)
    quality = panel.quality if panel.shared_quality > 0 else None
    needed: dict[str, tuple[Persona, set[int]]] = {p.name: (p, set(assigned[p.name])) for p, _ in members}
    if quality is not None:
        needed.setdefault(quality.name, (quality, set()))[1].update(range(len(tasks)))
    stats = JudgeStats()
    raw = {name: _raw_verdicts(persona, sorted(idx), tasks, cfg, progress, stats)
           for name, (persona, idx) in needed.items()}
    rows = []
    for persona, _ in members:
        for t in assigned[persona.name]:
            key, verdict = raw[persona.name][t]
            q = raw[quality.name][t][1] if quality is not None else None
            rows.append(_row(tasks[t], persona, key, verdict, q, panel.shared_quality, seed))
    frame = pd.DataFrame(rows, columns=JUDGMENT_COLUMNS)
    return frame.astype({"prob_a": "float64", "latency_s": "float64", "cost_usd": "float64",
                         "queue_s": "float64"}), stats


def _tasks(pairs: pd.DataFrame, both_orders: bool) -> list[Task]:
    tasks = []
    for row in pairs.itertuples(index=False):
        gold = None if row.gold is None or (isinstance(row.gold, float) and row.gold != row.gold) else str(row.gold)
        meta = _meta(row.meta)
        ab = Comparison(row.prompt, row.response_a, row.response_b, gold, meta)
        tasks.append(Task(row.prompt_id, row.response_a_id, row.response_b_id, "ab", ab))
        if both_orders:
            ba = Comparison(row.prompt, row.response_b, row.response_a, gold, meta)
            tasks.append(Task(row.prompt_id, row.response_a_id, row.response_b_id, "ba", ba))
    return tasks


def _meta(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        return json.loads(value)
    return {}


def _assign(tasks: list[Task], members: list[tuple[Persona, float]], aggregation: str, seed: int) -> dict[str, list[int]]:
    """Task indices each persona judges: all of them, or (sample) one persona per task drawn by weight."""
    names = [p.name for p, _ in members]
    if aggregation != "sample":
        return {name: list(range(len(tasks))) for name in names}
    weights = [w for _, w in members]
    assigned: dict[str, list[int]] = {name: [] for name in names}
    for i, task in enumerate(tasks):
        draw = random.Random(f"sample:{seed}:{task.prompt_id}:{task.a_id}:{task.b_id}:{task.order}")
        assigned[draw.choices(names, weights=weights)[0]].append(i)
    return assigned


def _raw_verdicts(persona: Persona, indices: list[int], tasks: list[Task], cfg: PanelConfig, progress: Progress,
                  stats: JudgeStats) -> dict[int, tuple[str, Verdict]]:
    """Task index -> (cache key, the backend's raw verdict), from the cache where possible."""
    keys = {i: cache_key(persona.hash, tasks[i].comparison) for i in indices}
    cache = JudgeCache(default_dir(cfg.cache_dir) if cfg.cache else None, persona.name)
    try:
        found = cache.get_many(list(keys.values()))
        todo = {}  # key -> comparison, each distinct comparison judged once
        for i, key in keys.items():
            if key not in found:
                todo.setdefault(key, tasks[i].comparison)
        stats.cache_hits[persona.name] += len(indices) - sum(1 for k in keys.values() if k in todo)
        if todo:
            found.update(_compute(persona, todo, cache, cfg, progress, stats))
    finally:
        cache.close()
    return {i: (key, found[key]) for i, key in keys.items()}


def _compute(persona: Persona, todo: dict[str, Comparison], cache: JudgeCache, cfg: PanelConfig,
             progress: Progress, stats: JudgeStats) -> dict[str, Verdict]:
    backend = get_backend(persona, cfg.device)
    items = list(todo.items())
    out: dict[str, Verdict] = {}
    started = time.perf_counter()
    with progress.bar(f"judging ({persona.name})", total=len(items)) as bar:
        for start in range(0, len(items), cfg.chunk_size):
            chunk = items[start:start + cfg.chunk_size]
            try:
                verdicts = backend.judge([c for _, c in chunk])
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - a judge that breaks is recorded as failures, not a crash
                error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                verdicts = [Verdict(None, error=error, calls=0) for _ in chunk]
            if len(verdicts) != len(chunk):
                raise RuntimeError(f"backend {persona.backend} returned {len(verdicts)} verdicts for {len(chunk)} items")
            entries = [(key, v) for (key, _), v in zip(chunk, verdicts)]
            cache.put_many(persona.hash, entries)
            out.update(entries)
            stats.calls[persona.name] += sum(v.calls for v in verdicts)
            stats.tokens_in[persona.name] += sum(v.tokens_in for v in verdicts)
            stats.tokens_out[persona.name] += sum(v.tokens_out for v in verdicts)
            stats.cost_usd[persona.name] += sum(v.cost_usd or 0.0 for v in verdicts)
            stats.computed[persona.name] += len(chunk)
            bar.advance(len(chunk))
    stats.seconds[persona.name] += time.perf_counter() - started
    return out


def _row(task: Task, persona: Persona, key: str, verdict: Verdict, quality: Verdict | None, mix: float,
         seed: int) -> dict[str, Any]:
    """One judgments row: the raw verdict mixed with the quality term, biased, noised and labelled."""
    row: dict[str, Any] = {"prompt_id": task.prompt_id, "response_a_id": task.a_id, "response_b_id": task.b_id,
                           "persona": persona.name, "order": task.order, "prob_a": None, "label": None,
                           "error": redact(verdict.error), "latency_s": verdict.latency_s, "cost_usd": verdict.cost_usd,
                           "cache_key": key, "queue_s": verdict.queue_s}
    if verdict.error is not None:
        return row
    p = verdict.prob_first
    if quality is not None:
        if quality.error is not None:
            row["error"] = redact(f"shared quality term failed: {quality.error}")
            return row
        p = (1 - mix) * p + mix * quality.prob_first
    f = persona.file
    c = task.comparison
    p = biased_prob(p, position=f.biases.position, length=f.biases.length, temperature=f.temperature,
                    len_first=len(c.first), len_second=len(c.second))
    if flip(f.biases.noise, seed=seed, key=key):
        p = 1.0 - p
    # The tie margin is about the persona's own verdict: mixed in at weight (1 - mix), it shrinks with it, so a
    # shared quality term that ties too leaves the persona's decided verdicts decided.
    verdict_label = label(p, f.tie_margin * (1 - mix if quality is not None else 1.0))
    a_first = task.order == "ab"
    row["prob_a"] = p if a_first else 1.0 - p
    row["label"] = {"tie": "tie", "first": "a" if a_first else "b", "second": "b" if a_first else "a"}[verdict_label]
    return row
