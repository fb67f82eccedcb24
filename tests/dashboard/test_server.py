"""The real server: `streamlit run app.py` (and `mnpo-bench dashboard`) answers /_stcore/health, and headless
Chromium renders the leaderboard page. Set MNPO_BENCH_DASHBOARD_SCREENSHOT=<file.png> to keep a copy."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.dashboard.conftest import APP

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (Debian: apt-get install -y chromium)")
pytestmark = [pytest.mark.slow, needs_chromium]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, *, stdin: int | None = None,
            wait_s: float = 90) -> Iterator[str]:
    """Start `command` (a server on the port in it, `stdin` as Popen's) in its own process group; yield its base
    URL once /_stcore/health answers (a failure after `wait_s` seconds); stop that process group afterwards."""
    port = command[command.index("--port") + 1] if "--port" in command else command[command.index("--server.port") + 1]
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(command, env=env, stdin=stdin, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=APP.parent)
    try:
        deadline = time.time() + wait_s
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                    assert reply.status == 200 and reply.read() == b"ok"
                    break
            except OSError:
                assert proc.poll() is None, f"server exited early:\n{log.read_text()[-3000:]}"
                assert time.time() < deadline, f"no health after {wait_s:.0f} s:\n{log.read_text()[-3000:]}"
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this test started: the server (and the CLI's child)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def browser_page() -> Iterator[object]:
    """A Playwright page in Debian's headless Chromium, 1400x1000."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNPO_BENCH_")} | extra
    return env | {"HF_HUB_OFFLINE": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


def test_streamlit_run_serves_health_and_renders_the_leaderboard(env, tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    server_env = _server_env({"MNPO_BENCH_RUNS_DIR": str(env / "runs"),
                              "MNPO_BENCH_LEADERBOARDS_DIR": str(env / "leaderboards")})
    shot = tmp_path / "leaderboard.png"
    with serving(command, server_env, tmp_path / "server.log") as base, browser_page() as page:
        page.goto(f"{base}/leaderboard?run=alpha")
        page.get_by_text("Bradley-Terry rating with bootstrap 95% CI").first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
        page.get_by_role("heading", name="Leaderboard · alpha").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # let the plots finish their transition
        page.screenshot(path=str(shot))
        body = page.inner_text("body")
        assert "The ranking is not transitive" in body
        assert all(model in body for model in ("mnpo/iter1", "mnpo/iter2", "dpo/iter1", "reference"))
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator(".js-plotly-plot").count() >= 3
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size == (1400, 1000)
    assert len(image.resize((140, 100)).getcolors(maxcolors=140 * 100)) > 50  # a rendered page, not a blank or spinner-only frame
    if os.environ.get("MNPO_BENCH_DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, os.environ["MNPO_BENCH_DASHBOARD_SCREENSHOT"])


def test_cli_passes_the_data_dirs_to_the_server(env, tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "mnpo_bench.cli", "dashboard", "--runs-dir", str(env / "runs"),
               "--leaderboards-dir", str(env / "leaderboards"), "--port", str(port), "--headless"]
    with serving(command, _server_env({}), tmp_path / "cli.log") as base, browser_page() as page:
        page.goto(f"{base}/?run=beta")
        page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
        page.get_by_text(str(env / "runs")).first.wait_for(timeout=30_000)  # the sidebar names the root it reads
        page.get_by_text("published leaderboard only").first.wait_for(state="attached", timeout=30_000)  # grid cell
        assert page.locator('[data-testid="stException"]').count() == 0


def test_model_charts_label_every_model_in_chromium():
    """The default run's seven models, drawn by plotly.js in Chromium: every model's name is a y tick label
    of the Bradley-Terry, win-rate, Nash-mass and Nash-gap charts (plotly's automatic category ticks once showed every
    other one on the Bradley-Terry chart)."""
    import pandas as pd
    import plotly.io as pio

    from mnpo_bench.dashboard import charts
    from tests.dashboard.conftest import DEFAULT_MODELS

    ratings = pd.DataFrame({"model": DEFAULT_MODELS, "bt": [1000.0 + 9 * i for i in range(len(DEFAULT_MODELS))],
                            "win_rate": 0.5, "win_rate_vs_ref": 0.55, "nash_mass": 1 / len(DEFAULT_MODELS)})
    ratings = ratings.assign(bt_lo=ratings.bt - 5, bt_hi=ratings.bt + 5, nash_gap=[0.01 * (i + 1) for i in range(len(DEFAULT_MODELS))])
    ratings = ratings.assign(nash_gap_lo=ratings.nash_gap - 0.005, nash_gap_hi=ratings.nash_gap + 0.005, diversity=0.9)
    shown = {}
    with browser_page() as page:
        for figure in (charts.bt_with_ci(ratings), charts.win_rates(ratings),
                       charts.mass_bars(ratings.set_index("model")["nash_mass"], "Nash mass"), charts.nash_gaps(ratings)):
            page.set_content(pio.to_html(figure, include_plotlyjs=True, full_html=True))
            page.locator(".ytick text").first.wait_for(timeout=30_000)
            shown[figure.layout.title.text] = sorted(page.locator(".ytick text").all_text_contents())
    assert shown == {title: sorted(DEFAULT_MODELS) for title in shown} and len(shown) == 4
