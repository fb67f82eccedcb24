"""The openai backend against a real local OpenAI-compatible server that injects timeouts, 429, 500 and
unparseable replies: every judgment accounted for once, failures recorded (never ties), keys never written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.judge import run_panel
from mnpo_bench.panel.local_server import LocalJudgeServer
from mnpo_bench.panel.personas import Panel, load_persona
from mnpo_bench.progress import Progress
from tests.panel.conftest import write_yaml

KEYS = ["response_a_id", "response_b_id", "order"]


@pytest.fixture(scope="module")
def server():
    """One local server for the module; each test sets its own fault plan."""
    with LocalJudgeServer() as running:
        yield running


def settled(server: LocalJudgeServer, expected: int) -> dict:
    """The server's stats once it has seen `expected` requests in all (a request the client abandoned on
    timeout may reach the handler after the client moved on), or after 10 s."""
    deadline = time.time() + 10
    while (stats := server.stats())["requests"] < expected and time.time() < deadline:
        time.sleep(0.05)
    return stats


def judge(pairs, tmp_path: Path, server: LocalJudgeServer, **params):
    """(judgments, stats) of a variant of the built-in gpt-4o-mini persona pointed at `server`."""
    settings = {"model": "local", "base_url": server.url, "api_key_env": None, "backoff_s": 0.01,
                "timeout_s": 1.0, "concurrency": 16, **params}
    body = ", ".join(f"{k}: {v if v is not None else 'null'}" for k, v in settings.items())
    path = write_yaml(tmp_path / "local.yaml", f"name: local\ninclude: gpt-4o-mini\nparams: {{{body}}}\n")
    persona = load_persona(path)
    panel = Panel("p", "mean", ((persona, 1.0),), weights={"local": 1.0})
    return run_panel(pairs, panel, PanelConfig(), seed=0, progress=Progress(quiet=True))


@pytest.mark.slow
def test_faults_are_retried_and_nothing_is_lost_duplicated_or_tied(probe, tmp_path: Path, server):
    pairs = probe[2].head(40)
    server.set_plan(timeout_rate=0.05, rate_429=0.1, rate_500=0.1, garbage_rate=0.1, hang_s=1.5, seed=1)
    before = server.stats()
    judgments, stats = judge(pairs, tmp_path, server, max_retries=10)
    served = settled(server, before["requests"] + stats.calls["local"])
    assert judgments["error"].isna().all()  # 11 tries at a 35% fault rate: all got through
    again, again_stats = judge(pairs, tmp_path, server, max_retries=10)
    assert server.stats()["requests"] == served["requests"]  # the re-run made no request: all cache
    assert again_stats.calls["local"] == 0 and again["label"].tolist() == judgments["label"].tolist()
    assert len(judgments) == 2 * len(pairs) and not judgments.duplicated(KEYS).any()
    assert judgments["label"].isin(["a", "b"]).all()  # the server never answers a tie
    assert served["requests"] - before["requests"] == stats.calls["local"] > 2 * len(pairs)  # each retry once
    for fault in ("timeout", "429", "500", "garbage"):
        assert served["outcomes"].get(fault, 0) > before["outcomes"].get(fault, 0)
    # the server prefers the shorter response; both orders must agree on which one that is
    wide = judgments.pivot_table(index=KEYS[:2], columns="order", values="prob_a")
    lengths = pairs.set_index(KEYS[:2]).reindex(wide.index)
    len_a, len_b = lengths["response_a"].str.len(), lengths["response_b"].str.len()
    uneven = len_a != len_b  # equal lengths: the server breaks the tie by a hash (of the shown order)
    assert ((wide["ab"] > 0.5) == (wide["ba"] > 0.5))[uneven].all()
    assert ((wide["ab"] > 0.5) == (len_a < len_b))[uneven].all() and uneven.sum() > 30


def test_exhausted_retries_are_failure_rows(probe, tmp_path: Path, server):
    pairs = probe[2].head(20)
    server.set_plan(garbage_rate=0.6, seed=2)
    before = server.stats()["requests"]
    judgments, stats = judge(pairs, tmp_path, server, max_retries=1)
    served = settled(server, before + stats.calls["local"])["requests"]
    failed = judgments[judgments["error"].notna()]
    assert len(judgments) == 2 * len(pairs) and 0 < len(failed) < len(judgments)
    assert failed["error"].str.startswith("unparseable verdict 'Both responses").all()
    assert failed["error"].str.endswith("(after 2 attempts)").all()
    assert failed["prob_a"].isna().all() and failed["label"].isna().all()
    assert served - before == stats.calls["local"] <= 2 * len(judgments)  # bounded: at most 1 + max_retries each
    server.update(garbage_rate=0.0)  # healed: a re-run asks again for the failures only
    retried, stats = judge(pairs, tmp_path, server, max_retries=1)
    assert settled(server, served + len(failed))["requests"] - served == len(failed) == stats.calls["local"]
    assert retried["error"].isna().all()


def test_non_retryable_status_fails_at_once(probe, tmp_path: Path, server):
    pairs = probe[2].head(3)
    server.set_plan()  # the wrong path below gives 404: a client error, not worth retrying
    judgments, stats = judge(pairs, tmp_path, server, base_url=server.url.replace("/v1", "/nope"), max_retries=5)
    assert judgments["error"].str.startswith("HTTP 404").all() and stats.calls["local"] == len(judgments)


def test_timeouts_are_bounded(probe, tmp_path: Path, server):
    pairs = probe[2].head(4)
    server.set_plan(timeout_rate=1.0, hang_s=2.0)
    judgments, stats = judge(pairs, tmp_path, server, timeout_s=0.3, max_retries=1)
    assert judgments["error"].str.startswith("APITimeoutError").all()
    assert stats.calls["local"] == 2 * len(judgments) and judgments["latency_s"].max() < 2.0


def test_key_from_the_environment_is_sent_and_never_written(probe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             isolated_cache: Path, server):
    secret = "sk-test-DO-NOT-STORE-1234567890"
    monkeypatch.setenv("LOCAL_JUDGE_KEY", secret)
    pairs = probe[2].head(5)
    server.set_plan(expect_key=secret)
    judgments, stats = judge(pairs, tmp_path, server, api_key_env="LOCAL_JUDGE_KEY",
                             price_input_per_mtok=2.0, price_output_per_mtok=8.0)
    assert server.stats()["unauthorized"] == 0
    assert judgments["error"].isna().all()
    tokens_in, tokens_out = stats.tokens_in["local"], stats.tokens_out["local"]
    assert tokens_in > 50 * len(judgments) and tokens_out == len(judgments)  # the template's words; "A" or "B"
    assert judgments["cost_usd"].sum() == pytest.approx((2.0 * tokens_in + 8.0 * tokens_out) / 1e6)
    written = [p for p in isolated_cache.rglob("*") if p.is_file()] + [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not any(secret.encode() in p.read_bytes() for p in written)
    assert secret not in judgments.to_csv()


def test_latency_is_the_request_alone_and_the_queue_wait_is_separate(probe, tmp_path: Path, server):
    """Concurrency 1, 0.2 s per request and half answered 429 (then retried): requests run one after another,
    so the latencies must sum to the server's busy time, 0.2 s per request made, however long each
    comparison waited for the slot or a backoff; that wait is queue_s."""
    server.set_plan(latency_s=0.2, rate_429=0.5, seed=4)
    judgments, stats = judge(probe[2].head(4), tmp_path, server, concurrency=1, max_retries=8, backoff_s=0.05)
    server.set_plan()
    calls = stats.calls["local"]
    assert judgments["error"].isna().all() and len(judgments) == 8 and calls > 8  # some were retried
    assert abs(judgments["latency_s"].sum() - 0.2 * calls) < 0.05 * calls, (judgments["latency_s"].sum(), calls)
    assert judgments["latency_s"].min() >= 0.18
    assert sorted(judgments["queue_s"])[-1] > 1.0  # the last one waited for the others
