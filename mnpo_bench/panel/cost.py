"""Cost before work: how many judge calls a set of comparisons will make, and their price, before any is made.

Calls: one per (comparison, presentation order, persona assigned), as `run_panel` assigns them, less the
verdicts already in the persistent cache (looked up by key: cheap). Tokens (openai personas): the rendered
template's characters / 4 in, `decoding.max_tokens` out; price from the persona's `price_*_per_mtok`.
Retries are not foreseen, so a flaky endpoint costs more than the estimate. `check_budget` refuses, with
one line, an estimate over `panel.max_calls` or `panel.max_cost_usd` unless `panel.over_budget_ok` (--yes).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mnpo_bench.errors import UserError
from mnpo_bench.panel.cache import JudgeCache, cache_key, default_dir
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.judge import _assign, _tasks
from mnpo_bench.panel.personas import Panel

CHARS_PER_TOKEN = 4.0  # rough English average, the usual rule of thumb for GPT tokenizers


@dataclass
class Estimate:
    """Judge calls to make (cache hits excluded), verdicts served from the cache, comparisons identical to
    another one (judged once), tokens and US dollars."""

    calls: int
    cached: int
    repeats: int
    tokens_in: int
    tokens_out: int
    cost_usd: float

    def line(self) -> str:
        """One line for the console: 'cost estimate: ...'."""
        return (f"cost estimate: {self.calls:,} judge calls ({self.cached:,} more from the cache, {self.repeats:,} "
                f"repeat an identical comparison), "
                f"~{self.tokens_in + self.tokens_out:,} tokens, ~${self.cost_usd:.4f}")


def calls_per_comparison(panel: Panel, cfg: PanelConfig) -> int:
    """Judge calls one pair costs: its orders times the personas judging each (one under `sample`), plus the
    shared-quality persona's call when it is mixed in."""
    judges = 1 if panel.aggregation == "sample" else len(panel.members)
    if panel.quality is not None and panel.shared_quality > 0 and panel.quality.name not in panel.weights:
        judges += 1
    return (2 if cfg.both_orders else 1) * judges


def estimate(pairs: pd.DataFrame, panel: Panel, cfg: PanelConfig, *, seed: int) -> Estimate:
    """The Estimate of judging `pairs` (PAIR_COLUMNS) with `panel`, as run_panel would."""
    tasks = _tasks(pairs, cfg.both_orders)
    members = list(panel.members)
    assigned = _assign(tasks, members, panel.aggregation, seed)
    if panel.quality is not None and panel.shared_quality > 0:
        assigned.setdefault(panel.quality.name, list(range(len(tasks))))
        members.append((panel.quality, 0.0))
    total = Estimate(0, 0, 0, 0, 0, 0.0)
    for persona, _ in {p.name: (p, w) for p, w in members}.values():
        indices = assigned.get(persona.name, [])
        keys = {cache_key(persona.hash, tasks[i].comparison): i for i in indices}
        cache = JudgeCache(default_dir(cfg.cache_dir) if cfg.cache else None, persona.name)
        try:
            found = cache.get_many(list(keys))
        finally:
            cache.close()
        todo = [i for key, i in keys.items() if key not in found]
        total.repeats += len(indices) - len(keys)
        total.cached += len(keys) - len(todo)
        total.calls += len(todo)
        params = persona.params
        if persona.backend != "openai":
            continue
        from mnpo_bench.panel.personas import template_text

        template = len(template_text(params.template)) + len(params.system or "")
        chars = sum(template + len(tasks[i].comparison.prompt) + len(tasks[i].comparison.first)
                    + len(tasks[i].comparison.second) for i in todo)
        t_in, t_out = int(chars / CHARS_PER_TOKEN), len(todo) * params.decoding.max_tokens
        total.tokens_in += t_in
        total.tokens_out += t_out
        total.cost_usd += (t_in * params.price_input_per_mtok + t_out * params.price_output_per_mtok) / 1e6
    return total


def check_budget(found: Estimate, cfg: PanelConfig, what: str) -> None:
    """A UserError when `found` exceeds panel.max_calls or panel.max_cost_usd and --yes was not given."""
    if cfg.over_budget_ok:
        return
    if cfg.max_calls is not None and found.calls > cfg.max_calls:
        raise UserError(f"{what} would make {found.calls:,} judge calls, over panel.max_calls {cfg.max_calls:,}",
                        where="panel.max_calls", fix="raise it, set tournament.budget, or pass --yes")
    if cfg.max_cost_usd is not None and found.cost_usd > cfg.max_cost_usd:
        raise UserError(f"{what} would cost ~${found.cost_usd:.4f}, over panel.max_cost_usd ${cfg.max_cost_usd}",
                        where="panel.max_cost_usd", fix="raise it, set tournament.budget, or pass --yes")
