"""`mnpo-bench dashboard` started from a script (stdin not a terminal, no ~/.streamlit/credentials.toml) serves
instead of waiting at Streamlit's first-run e-mail prompt, and listens on 127.0.0.1 only."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.dashboard.test_server import _free_port, _server_env, serving

pytestmark = pytest.mark.slow  # a real Streamlit server: ~5 s to its first health answer


def test_dashboard_without_a_terminal_serves_on_localhost(env, tmp_path):
    home = tmp_path / "home"
    home.mkdir()  # a fresh HOME: no ~/.streamlit/credentials.toml, so a non-headless Streamlit would prompt
    port = _free_port()
    command = [sys.executable, "-m", "mnpo_bench.cli", "dashboard", "--runs-dir", str(env / "runs"),
               "--leaderboards-dir", str(env / "leaderboards"), "--port", str(port)]
    server_env = _server_env({"HOME": str(home)})
    with serving(command, server_env, tmp_path / "server.log", stdin=subprocess.DEVNULL, wait_s=60) as base:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as reply:
            assert reply.read() == b"ok"
        with socket.socket() as other:  # 127.0.0.2 is this machine too, but not the address it is bound to
            other.settimeout(2)
            assert other.connect_ex(("127.0.0.2", port)) != 0
    assert not (home / ".streamlit" / "credentials.toml").exists()
