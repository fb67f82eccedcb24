"""The `mnpo-bench` command line: one entry point, one verb per job.

Each subsystem defines its own verbs in its `cli.py` (panel, train, tournament, ratings, bench,
dashboard); this module mounts them, owns `run`, `validate`, `config` and `ls`, and turns a `UserError`
into one line on stderr with exit code 2 (a traceback only with `--debug`).
"""

from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from mnpo_bench.errors import EXIT_USER_ERROR, UserError

app = typer.Typer(
    name="mnpo-bench",
    help="Benchmark Nash-style preference optimisation (MNPO, INPO, DPO, ...) under heterogeneous annotators. "
         "Add --debug to any command to print the traceback of an error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigArg = Annotated[Optional[Path], typer.Argument(help="run config YAML; omit for the embedded default")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="override a config field: key.sub=value (repeatable)")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="run directory (default: <runs_dir>/<name>)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]
YesOpt = Annotated[bool, typer.Option("--yes", help="go ahead when the judge cost estimate exceeds panel.max_calls / panel.max_cost_usd")]


@app.command()
def run(config: ConfigArg = None, set_: SetOpt = None, out: OutOpt = None, quiet: QuietOpt = False,
        yes: YesOpt = False) -> None:
    """Run every stage (prompts, policy, generate, annotate, train, tournament, bench, leaderboard)."""
    from mnpo_bench.runner import run_pipeline

    run_pipeline(config, [*(set_ or []), *(["panel.over_budget_ok=true"] if yes else [])], out=out, quiet=quiet)


@app.command()
def validate(config: ConfigArg = None, set_: SetOpt = None) -> None:
    """Check a config and every persona, panel and recipe it names, without running anything."""
    from mnpo_bench.validate import validate_config

    for line in validate_config(config, set_ or []):
        typer.echo(line)


@app.command("config")
def show_config(config: ConfigArg = None, set_: SetOpt = None,
                describe_: Annotated[bool, typer.Option("--describe", help="print every config field with its "
                                                        "default and meaning instead")] = False) -> None:
    """Print the resolved config as YAML, and every field's meaning with --describe."""
    import yaml

    if describe_:
        describe()
        return

    from mnpo_bench.config import load_config

    resolved = load_config(config, set_ or [])
    typer.echo(yaml.safe_dump(resolved.model_dump(mode="json"), sort_keys=False))


@app.command()
def describe() -> None:
    """Every config field with its default and what it does."""
    from mnpo_bench.config import RunConfig
    from mnpo_bench.settings import describe as describe_fields

    for name, default, text in describe_fields(RunConfig):
        typer.echo(f"{name:<45} {default:<28} {text}")


ls_app = typer.Typer(help="List personas, panels, recipes, tasks or runs.", no_args_is_help=True)
app.add_typer(ls_app, name="ls")


@ls_app.command("runs")
def ls_runs(runs_dir: Annotated[Path, typer.Option(help="directory holding runs")] = Path("runs")) -> None:
    """Every run under RUNS_DIR with its stages and status."""
    from mnpo_bench.store import list_runs

    for line in list_runs(runs_dir):
        typer.echo(line)


def _mount_subsystems() -> None:
    """Mount the verbs each subsystem defines in its own cli module (all import their heavy parts lazily)."""
    from mnpo_bench.bench import alpaca_cli
    from mnpo_bench.bench import cli as bench_cli
    from mnpo_bench.dashboard import cli as dashboard_cli
    from mnpo_bench.experiment import cli as experiment_cli
    from mnpo_bench.game import cli as game_cli
    from mnpo_bench.panel import cli as panel_cli
    from mnpo_bench.ratings import cli as ratings_cli
    from mnpo_bench.tournament import cli as tournament_cli
    from mnpo_bench.train import cli as train_cli

    for module in (panel_cli, train_cli, tournament_cli, ratings_cli, bench_cli, alpaca_cli, dashboard_cli, game_cli,
                   experiment_cli):
        module.register(app, ls_app)


_mount_subsystems()


@functools.lru_cache(maxsize=1)
def _command():
    """The click command typer builds from `app` (built once per process: ~0.25 s for every verb's options)."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        _command().main(args=args, prog_name="mnpo-bench", standalone_mode=False)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"error: {exc.line()}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        typer.echo("interrupted; finished stages are kept, re-run the same command to resume", err=True)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click's usage errors (typer vendors click)
            command = getattr(getattr(exc, "ctx", None), "command_path", "mnpo-bench")
            from mnpo_bench.bench.cli import lm_eval_hint

            hint = lm_eval_hint(getattr(exc, "option_name", None)) if command.endswith(" bench") else None
            fix = f"lm-eval's flag: {hint}" if hint else f"see `{command} --help`"
            typer.echo(f"error: {exc.format_message().rstrip('.')}; {fix}".replace("\n", " "), err=True)
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
