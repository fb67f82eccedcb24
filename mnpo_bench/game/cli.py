"""The `game` verb: run the game lab on a planted game, a CSV matrix or a run's panel on one prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add `mnpo-bench game` to the main app."""
    app.command("game")(game)


def game(
    matrix: Annotated[Optional[str], typer.Argument(help="planted game (rps, cycle, cycle_dominated, cycle_clone, "
                                                         "random) or a CSV with labels as header row and index")] = None,
    methods: Annotated[str, typer.Option(help="comma-separated lab methods")] = "inpo,mnpo,egpo,sppo,dpo",
    iterations: Annotated[int, typer.Option(help="updates per method")] = 200,
    out: Annotated[Path, typer.Option(help="directory for trajectory.csv, equilibrium.csv and the plots")] = Path("game"),
    from_run: Annotated[Optional[Path], typer.Option("--from-run", help="run directory whose panel builds the matrix")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="with --from-run: the prompt_id whose samples are the responses")] = None,
    size: Annotated[int, typer.Option(help="responses of the random game")] = 5,
    seed: Annotated[int, typer.Option(help="seed of the random game")] = 0,
    param: Annotated[Optional[list[str]], typer.Option(help="method.param=value override (repeatable)")] = None,
) -> None:
    """Run each method's exact population update and write exploitability per iteration."""
    from mnpo_bench.errors import UserError
    from mnpo_bench.game.lab import run_lab
    from mnpo_bench.game.from_run import from_run as matrix_from_run
    from mnpo_bench.game.matrices import load_matrix
    from mnpo_bench.game.report import write_lab

    if (from_run is None) == (matrix is None):
        raise UserError("give either MATRIX or --from-run RUN --prompt ID", where="game", fix="pick one source")
    if from_run is not None and prompt is None:
        raise UserError("--from-run needs --prompt", where="--prompt", fix="name the prompt_id to build the game from")
    params: dict[str, dict] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        method, dot, name = key.partition(".")
        if not sep or not dot:
            raise UserError(f"bad override '{item}'", where="--param", fix="write method.param=value, e.g. inpo.eta=2")
        params.setdefault(method, {})[name] = float(value)
    names = [m.strip() for m in methods.split(",") if m.strip()]
    source = matrix_from_run(from_run, prompt) if from_run is not None else load_matrix(matrix, size=size, seed=seed)
    result = run_lab(source, names, iterations, params=params)
    write_lab(result, out)
    last = result.trajectory.groupby("method", sort=False).last()
    typer.echo(f"{'method':<10} {'exploit.':>9} {'avg':>7} {'KL*':>8}   ({source.source}, T={iterations})")
    for name, r in last.iterrows():
        typer.echo(f"{name:<10} {r.exploitability:>9.4f} {r.exploitability_avg:>7.4f} {r.kl_to_equilibrium:>8.4f}")
    typer.echo(f"wrote {out}/ (trajectory.csv, equilibrium.csv, exploitability.png, kl.png)")
