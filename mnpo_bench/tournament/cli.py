"""`mnpo-bench tournament`: policies × policies judged by the panel, then the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add the `tournament` verb."""
    app.command("tournament")(tournament)


def tournament(
    policies: Annotated[Optional[list[str]], typer.Argument(help="'name=path_or_hub_id' or a checkpoint path; omit to re-run a run's own policies")] = None,
    out: Annotated[Path, typer.Option("--out", help="run directory (created if needed)")] = Path("runs/tournament"),
    config: Annotated[Optional[Path], typer.Option("--config", help="run config YAML (prompts, panel, generation)")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a config field: key.sub=value")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Every policy answers the eval prompts; every pair is judged by the panel in both orders; ratings follow
    (against leaderboard.reference when it is entered, else against the first policy named)."""
    from mnpo_bench.runner import run_tournament

    run_tournament(policies or [], config, set_ or [], out=out, quiet=quiet)
