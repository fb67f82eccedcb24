"""The `mnpo-bench dashboard` verb: options, the streamlit command it builds, and bad directories."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from mnpo_bench.cli import app, main
from mnpo_bench.dashboard.cli import app_script, streamlit_command
from tests.dashboard.conftest import APP


def test_help_lists_the_options():
    result = CliRunner().invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    for option in ("--runs-dir", "--leaderboards-dir", "--port", "--host", "--headless"):
        assert option in result.output


def test_command_runs_app_py_and_passes_the_dirs_after_double_dash(tmp_path):
    runs, boards = tmp_path / "r", tmp_path / "b"
    command = streamlit_command(runs, boards, 8600, "127.0.0.1", True)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"] and command[4] == str(APP) == str(app_script())
    tail = command[command.index("--") + 1:]
    assert tail == ["--runs-dir", str(runs.resolve()), "--leaderboards-dir", str(boards.resolve())]
    assert command[command.index("--server.port") + 1] == "8600"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert "--" in command and "--runs-dir" not in command[:command.index("--")]
    assert streamlit_command(None, None, 8501, None, False)[-1] == "--"  # env vars or defaults then apply


def test_it_binds_to_localhost_unless_host_says_otherwise():
    default = streamlit_command(None, None, 8501, None, True)
    assert default[default.index("--server.address") + 1] == "127.0.0.1"
    chosen = streamlit_command(None, None, 8501, "0.0.0.0", True)
    assert chosen[chosen.index("--server.address") + 1] == "0.0.0.0"


def test_a_missing_directory_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["dashboard", "--runs-dir", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --runs-dir {tmp_path / 'nope'}: directory not found; pass a directory that exists"]
