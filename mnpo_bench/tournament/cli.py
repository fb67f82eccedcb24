"""`mnpo-bench tournament`: policies × policies judged by the panel, then the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add the `tournament` verb."""
    app.command("tournament")(tournament)


def tournament(
    policies: Annotated[Optional[list[str]], typer.Argument(help="'name=path_or_hub_id' or a checkpoint path; omit to re-run a run's own policies (a lone run directory: that run, as --out RUN)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="run directory (created if needed; default runs/tournament)")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="run config YAML (prompts, panel, generation); default: the run directory's own config.yaml when it has one, else the embedded default")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a config field: key.sub=value")] = None,
    replay: Annotated[Optional[Path], typer.Option("--replay", help="complete battles file: replay the schedule "
                                                   "against it instead of judging (writes DIR/battles.parquet and the leaderboard)")] = None,
    schedule: Annotated[Optional[str], typer.Option("--schedule", help="round_robin | baseline | swiss | active (sets tournament.schedule)")] = None,
    budget: Annotated[Optional[int], typer.Option("--budget", help="most judge calls (sets tournament.budget)")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="go ahead even when the cost estimate exceeds panel.max_calls / panel.max_cost_usd")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Every policy answers the eval prompts; every pair is judged by the panel in both orders; ratings follow
    (against leaderboard.reference when it is entered, else against the first policy named)."""
    from mnpo_bench.runner import run_tournament

    policies, out = _lone_run(policies or [], out)
    config = _run_config(config, out, quiet)
    overrides = list(set_ or [])
    if schedule is not None:
        overrides.append(f"tournament.schedule={schedule}")
    if budget is not None:
        overrides.append(f"tournament.budget={budget}")
    if yes:
        overrides.append("panel.over_budget_ok=true")
    if replay is not None:
        _replay(replay, config, overrides, out)
        return
    run_tournament(policies, config, overrides, out=out, quiet=quiet)


def _is_run(path: Path) -> bool:
    """True when `path` is a run directory (it has a manifest.json and a config.yaml)."""
    return (path / "manifest.json").is_file() and (path / "config.yaml").is_file()


def _lone_run(policies: list[str], out: Optional[Path]) -> tuple[list[str], Path]:
    """(policies, run directory): `mnpo-bench tournament RUN` (one argument that is a run directory, no --out)
    re-runs that run's own policies in it; otherwise the arguments as given, --out defaulting to runs/tournament."""
    if out is None and len(policies) == 1 and "=" not in policies[0] and _is_run(Path(policies[0])):
        return [], Path(policies[0])
    return policies, out if out is not None else Path("runs/tournament")


def _run_config(config: Optional[Path], out: Path, quiet: bool) -> Optional[Path]:
    """--config, else the run directory's own config.yaml when it has one (a copied run judges with the config
    it was made with), else None (the embedded default)."""
    if config is not None or not (out / "config.yaml").is_file():
        return config
    if not quiet:
        typer.echo(f"config: {out / 'config.yaml'} (the run's own; --config to use another)")
    return out / "config.yaml"


def _replay(full: Path, config: Optional[Path], overrides: list[str], out: Path) -> None:
    """--replay: the schedule answered from a complete battles file, then the leaderboard files."""
    from mnpo_bench.config import load_config
    from mnpo_bench.ratings.report import schedule_note
    from mnpo_bench.tournament.replay import replay_tournament

    cfg = load_config(config, overrides)
    t, board = cfg.tournament, cfg.leaderboard
    reference = board.reference if "leaderboard.reference" in " ".join(overrides) else None
    result = replay_tournament(full, out, schedule=t.schedule, budget=t.budget, seed=cfg.seed, reference=reference,
                               bootstrap=board.bootstrap, soft=board.soft, lottery_width=t.lottery_width,
                               stop_when_separated=t.stop_when_separated)
    typer.echo(schedule_note(result.note()))
    typer.echo(f"wrote {out}/battles.parquet and the leaderboard files (report.md has the findings)")
