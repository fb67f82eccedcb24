"""A judge-call budget on a tournament of real AlpacaEval answers, judged by an openai persona (the real
client) against the local fault-injecting server: the estimate, the budget's stop and resuming from the cache."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.judge import JudgeStats, judge_pairs
from mnpo_bench.panel.local_server import LocalJudgeServer
from mnpo_bench.progress import Progress
from mnpo_bench.tournament.battles import policy_pairs
from mnpo_bench.tournament.config import TournamentConfig
from mnpo_bench.tournament.live import judge_scheduled, plan_cost

DATA = Path("/work/shared/data/alpaca_eval")
MODELS = ["alpaca-7b", "claude-2.1", "falcon-7b-instruct", "gemma-7b-it", "phi-2"]
QUIET = Progress(quiet=True)


@pytest.fixture(scope="module")
def tables():
    """(prompts, responses) of 5 real models' AlpacaEval answers on 6 prompts: 10 pairs x 6 prompts."""
    frames = []
    for model in MODELS:
        d = pd.read_json(DATA / f"{model}.annotations.json.gz").head(6)
        frames.append(pd.DataFrame({"prompt_id": [f"a{i}" for i in range(6)], "prompt": d["instruction"],
                                    "policy": model, "text": d["output_2"]}))
    answers = pd.concat(frames, ignore_index=True)
    answers["response_id"] = answers["policy"] + ":" + answers["prompt_id"]
    prompts = answers.drop_duplicates("prompt_id")[["prompt_id", "prompt"]].assign(gold=None, meta=None)
    return prompts, answers[["response_id", "policy", "prompt_id", "text"]]


@pytest.fixture(scope="module")
def server():
    with LocalJudgeServer() as running:
        yield running


def panel_cfg(tmp_path: Path, server: LocalJudgeServer, **fields) -> PanelConfig:
    """The run's panel: one variant of the shipped gpt-4o-mini persona pointed at the local server."""
    (tmp_path / "local.yaml").write_text(
        f"name: local\ninclude: gpt-4o-mini\nparams: {{model: local, base_url: {server.url}, api_key_env: null, "
        "backoff_s: 0.01, timeout_s: 2.0}\n")
    (tmp_path / "panel.yaml").write_text(f"name: llm\ndescription: one LLM judge\npersonas: [{tmp_path / 'local.yaml'}]\n")
    return PanelConfig(preset=str(tmp_path / "panel.yaml"), cache_dir=str(tmp_path / "judgments"), **fields)


def requests(server: LocalJudgeServer, before: int, at_least: int) -> int:
    deadline = time.time() + 10
    while (n := server.stats()["requests"]) - before < at_least and time.time() < deadline:
        time.sleep(0.05)
    return n - before


def test_estimate_is_within_10_percent_of_the_calls_a_round_robin_makes(tables, server, tmp_path):
    server.set_plan(rate_429=0.05, rate_500=0.03)
    prompts, answers = tables
    pairs = policy_pairs(prompts, answers)
    cfg = panel_cfg(tmp_path, server)
    found = plan_cost(pairs, TournamentConfig(), cfg, seed=0, progress=QUIET)
    assert found.calls == 10 * 6 * 2 and found.cost_usd > 0
    before = server.stats()["requests"]
    judgments = judge_pairs(pairs, cfg, seed=0, progress=QUIET)
    made = requests(server, before, found.calls)
    assert judgments["error"].isna().all()
    assert made > found.calls  # retries of the injected faults are calls too
    assert abs(found.calls - made) / made <= 0.10, (found.calls, made)
    server.set_plan()


def test_a_budget_stops_cleanly_and_a_larger_one_adds_only_new_calls(tables, server, tmp_path):
    server.set_plan()
    prompts, answers = tables
    pairs = policy_pairs(prompts, answers)
    cfg = panel_cfg(tmp_path, server)
    first = TournamentConfig(schedule="active", budget=40, stop_when_separated=False)
    before = server.stats()["requests"]
    judgments, battles, result = judge_scheduled(pairs, answers, first, cfg, seed=0, reference=None, progress=QUIET)
    assert (result.calls, result.stopped, len(battles), len(judgments)) == (40, "budget", 40, 40)
    assert battles["winner"].notna().all() and requests(server, before, 40) == 40
    more = first.model_copy(update={"budget": 100})
    found = plan_cost(pairs, more, cfg, seed=0, progress=QUIET)
    assert found.calls <= 100 and (found.cached, found.repeats) == (40, 0)
    before, stats = server.stats()["requests"], JudgeStats()
    _, again, result = judge_scheduled(pairs, answers, more, cfg, seed=0, reference=None, progress=QUIET, stats=stats)
    assert result.calls == 100 and len(again) == 100
    assert requests(server, before, 60) == 60  # the first 40 came from the cache
    calls, dollars = stats.spent()  # what the manifest records for the stage
    assert calls == 60 and dollars > 0
    key = ["model_a", "model_b", "prompt_id", "order", "winner"]
    assert again[key].iloc[:40].astype(str).values.tolist() == battles[key].astype(str).values.tolist()


def test_over_the_panel_limits_is_refused_before_any_call_unless_yes(tables, server, tmp_path):
    prompts, answers = tables
    pairs = policy_pairs(prompts, answers)
    before = server.stats()["requests"]
    with pytest.raises(UserError, match="120 judge calls, over panel.max_calls 50"):
        plan_cost(pairs, TournamentConfig(), panel_cfg(tmp_path, server, max_calls=50), seed=0, progress=QUIET)
    with pytest.raises(UserError, match="over panel.max_cost_usd"):
        plan_cost(pairs, TournamentConfig(), panel_cfg(tmp_path, server, max_cost_usd=1e-6), seed=0, progress=QUIET)
    plan_cost(pairs, TournamentConfig(), panel_cfg(tmp_path, server, max_calls=50, over_budget_ok=True), seed=0,
              progress=QUIET)
    with pytest.raises(UserError, match="tournament.budget: budget 1 is below one comparison"):
        plan_cost(pairs, TournamentConfig(budget=1), panel_cfg(tmp_path, server), seed=0, progress=QUIET)
    assert server.stats()["requests"] == before
