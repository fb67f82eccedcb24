"""The `mnpo-bench dashboard` verb: start `streamlit run app.py` over the runs and leaderboards dirs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mnpo_bench.errors import UserError

PACKAGE_APP = Path(__file__).resolve().parent / "app.py"
CHECKOUT_APP = Path(__file__).resolve().parents[2] / "app.py"
LOCALHOST = "127.0.0.1"


def app_script() -> Path:
    """The script to run: the checkout's top-level app.py, else the installed package's dashboard/app.py."""
    in_checkout = CHECKOUT_APP.exists() and (CHECKOUT_APP.parent / "pyproject.toml").exists()
    return CHECKOUT_APP if in_checkout else PACKAGE_APP


def streamlit_command(runs_dir: Path | None, leaderboards_dir: Path | None, port: int, host: str | None,
                      headless: bool) -> list[str]:
    """The `python -m streamlit run ...` argv; the data dirs go after `--` to the app (see roots.py). The
    server binds to `host`, 127.0.0.1 when None: the dashboard has no authentication."""
    command = [sys.executable, "-m", "streamlit", "run", str(app_script()), "--server.port", str(port),
               "--server.headless", str(headless).lower(), "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer", "--server.address", host or LOCALHOST]
    command.append("--")
    for flag, value in (("--runs-dir", runs_dir), ("--leaderboards-dir", leaderboards_dir)):
        if value is not None:
            command += [flag, str(value.resolve())]
    return command


def _existing(path: Path | None, flag: str) -> Path | None:
    if path is not None and not path.is_dir():
        raise UserError("directory not found", where=f"{flag} {path}", fix="pass a directory that exists")
    return path


def _interactive() -> bool:
    """True when stdin is a terminal. Started from a script or CI it is not, and a non-headless Streamlit then
    waits forever at its first-run e-mail prompt instead of serving."""
    return sys.stdin is not None and sys.stdin.isatty()


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add the `dashboard` verb to the main app."""

    @app.command()
    def dashboard(
        runs_dir: Annotated[Optional[Path], typer.Option(help="directory holding run directories (default: $MNPO_BENCH_RUNS_DIR, else ./runs)")] = None,
        leaderboards_dir: Annotated[Optional[Path], typer.Option(help="published leaderboards (default: $MNPO_BENCH_LEADERBOARDS_DIR, else ./leaderboards)")] = None,
        port: Annotated[int, typer.Option(help="port to serve on")] = 8501,
        host: Annotated[Optional[str], typer.Option(help="address to bind (default 127.0.0.1, this machine only: the dashboard has no authentication; 0.0.0.0 for every interface)")] = None,
        headless: Annotated[bool, typer.Option(help="do not open a browser (implied when stdin is not a terminal)")] = False,
    ) -> None:
        """Open the Streamlit dashboard over the runs and published leaderboards (read-only)."""
        try:
            import streamlit  # noqa: F401
        except ImportError:
            raise UserError("streamlit is not installed", where="dashboard", fix="pip install 'mnpo-bench[app]'") from None
        command = streamlit_command(_existing(runs_dir, "--runs-dir"), _existing(leaderboards_dir, "--leaderboards-dir"),
                                    port, host, headless or not _interactive())
        try:
            raise typer.Exit(subprocess.call(command))
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
