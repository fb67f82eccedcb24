"""Failed judgments heal: `mnpo-bench annotate RUN` against a persona whose endpoint is down stops with one
line (persona, endpoint, commonest error, exit 2) and is not marked done; once the endpoint answers, the same
command asks again, and only for the judgments that failed. Real `openai` client, real local server."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.cli import main
from mnpo_bench.config import PromptsConfig
from mnpo_bench.panel.local_server import LocalJudgeServer
from mnpo_bench.panel.probe import styled_generations
from mnpo_bench.prompts.load import load_prompts
from mnpo_bench.store import RunStore

N_JUDGMENTS = 6 * 6 * 2  # 6 train prompts x C(4, 2) pairs x 2 orders


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_run(root: Path, port: int, max_retries: int = 0, **panel) -> Path:
    """A run with prompts and reference generations, whose config seats one openai persona at `port`."""
    store = RunStore.open(root / "run")
    prompts = load_prompts(PromptsConfig(n_train=6, n_eval=2), seed=0)
    store.write_table("prompts", prompts)
    store.write_table("generations", styled_generations(prompts, 4, 0, "reference"))
    (root / "local.yaml").write_text(
        f"name: local\ninclude: gpt-4o-mini\nparams: {{model: local, base_url: 'http://127.0.0.1:{port}/v1', "
        f"api_key_env: null, backoff_s: 0.01, timeout_s: 2.0, max_retries: {max_retries}}}\n")
    (root / "panel.yaml").write_text(f"name: llm\ndescription: one LLM judge\npersonas: [{root / 'local.yaml'}]\n")
    config = {"panel": {"preset": str(root / "panel.yaml"), "cache_dir": str(root / "judgments"), **panel}}
    (store.root / "config.yaml").write_text(json.dumps(config))
    return store.root


def requests(server: LocalJudgeServer, at_least: int) -> int:
    """The server's request count once it reached `at_least` (or after 10 s)."""
    deadline = time.time() + 10
    while (n := server.stats()["requests"]) < at_least and time.time() < deadline:
        time.sleep(0.05)
    return n


def status(run: Path) -> str:
    return json.loads((run / "manifest.json").read_text())["stages"]["annotate"]["status"]


def test_endpoint_down_stops_with_one_line_then_heals_on_rerun(tmp_path: Path, capsys):
    port = free_port()
    run = make_run(tmp_path, port)
    assert main(["annotate", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "persona 'local'" in err and f"127.0.0.1:{port}" in err and "APIConnectionError" in err
    assert f"{N_JUDGMENTS}/{N_JUDGMENTS}" in err and "panel.max_failure_rate" in err
    assert status(run) == "rejected"  # not done: a re-run asks again

    with LocalJudgeServer(port=port) as server:
        assert main(["annotate", str(run), "--quiet"]) == 0
        assert requests(server, N_JUDGMENTS) == N_JUDGMENTS  # every failed judgment asked again, once
        judgments = pd.read_parquet(run / "judgments.parquet")
        assert judgments["error"].isna().all() and judgments["label"].isin(["a", "b"]).all()
        assert status(run) == "done"
        assert main(["annotate", str(run), "--quiet"]) == 0  # done now: skipped, no request
        assert server.stats()["requests"] == N_JUDGMENTS
    assert "skipped" in capsys.readouterr().out


@pytest.fixture(scope="module")
def server():
    """One local server for the tests below; each sets its own fault plan."""
    with LocalJudgeServer() as running:
        yield running


def test_a_few_failures_leave_the_stage_incomplete_and_only_they_are_asked_again(tmp_path: Path, server):
    server.set_plan(garbage_rate=0.1, seed=3)
    start = server.stats()["requests"]
    run = make_run(tmp_path, server.port)
    assert main(["annotate", str(run), "--quiet"]) == 0  # under max_failure_rate: the run goes on
    first = pd.read_parquet(run / "judgments.parquet")
    failed = int(first["error"].notna().sum())
    assert 0 < failed <= 0.2 * N_JUDGMENTS and status(run) == "incomplete"
    assert first.loc[first["error"].notna(), "label"].isna().all()  # failures are never ties
    manifest = json.loads((run / "manifest.json").read_text())["stages"]["annotate"]
    assert f"{failed} of {N_JUDGMENTS} judgments failed" in manifest["note"]
    seen = requests(server, start + N_JUDGMENTS)
    server.set_plan()  # healed
    assert main(["annotate", str(run), "--quiet"]) == 0
    assert requests(server, seen + failed) - seen == failed  # exactly the failed ones
    healed = pd.read_parquet(run / "judgments.parquet")
    assert healed["error"].isna().all() and status(run) == "done"
    ok = first["error"].isna()
    assert (healed.loc[ok, "label"].to_numpy() == first.loc[ok, "label"].to_numpy()).all()


def test_max_failure_rate_is_the_threshold(tmp_path: Path, server):
    server.set_plan(garbage_rate=0.1, seed=3)
    run = make_run(tmp_path, server.port, max_failure_rate=0.0)
    assert main(["annotate", str(run), "--quiet"]) == 2
    assert status(run) == "rejected"


def test_an_echoed_key_never_reaches_the_judgments(tmp_path: Path, monkeypatch, server, capsys):
    """A server answering 401 with the Authorization header in its error text: stored errors are redacted."""
    key = "sk-proj-Zq8v1Xw2Yt3Us4Rp5Oq6Nn7Mm8Ll9Kk0"
    monkeypatch.setenv("LOCAL_JUDGE_KEY", key)
    server.set_plan(expect_key="another-key", echo_auth=True)
    run = make_run(tmp_path, server.port)
    local = (tmp_path / "local.yaml").read_text().replace("api_key_env: null", "api_key_env: LOCAL_JUDGE_KEY")
    (tmp_path / "local.yaml").write_text(local)
    assert main(["annotate", str(run), "--quiet"]) == 2
    assert key[8:] not in capsys.readouterr().err
    server.set_plan()
    judgments = pd.read_parquet(run / "judgments.parquet")
    assert judgments["error"].notna().all() and judgments["error"].str.contains("redacted").all()
    for path in run.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes() and key[8:].encode() not in path.read_bytes(), path
