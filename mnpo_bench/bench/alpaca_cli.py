"""`mnpo-bench export-alpaca RUN`: a run's eval answers and tournament judgments as an AlpacaEval results
folder (`<policy>/model_outputs.json` and `<policy>/<persona>/annotations.json`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add `export-alpaca` to the main app."""
    app.command("export-alpaca")(export_alpaca_verb)


def export_alpaca_verb(
    run: Annotated[Path, typer.Argument(help="a run directory with a tournament (battles.parquet)")],
    out: Annotated[Optional[Path], typer.Option("--out", help="results folder to write (default: RUN/alpaca_eval)")] = None,
    baseline: Annotated[str, typer.Option(help="the policy every annotation compares against (AlpacaEval's "
                                               "reference outputs, generator_1)")] = "reference",
) -> None:
    """Write AlpacaEval model outputs and annotations; `alpaca_eval`'s get_winrate reads them and agrees with
    our win_rate_vs_ref, and `mnpo-bench leaderboard --from alpaca-eval` reads them back."""
    from mnpo_bench.bench.alpaca import export_alpaca, export_annotations
    from mnpo_bench.errors import UserError
    from mnpo_bench.policy.load import read_policies
    from mnpo_bench.store import RunStore

    if not (run / "policies.json").exists():
        raise UserError("not a run directory (no policies.json)", where=str(run), fix="give a run directory as RUN")
    store = RunStore(run)
    root = (out if out is not None else run / "alpaca_eval").absolute()
    annotations, left_out = export_annotations(store, root, baseline)
    outputs = export_alpaca(store, list(read_policies(run)), root=str(root))
    typer.echo(f"wrote {len(outputs)} model_outputs.json and {len(annotations)} annotations.json "
               f"(vs {baseline}) under {root}")
    if left_out:
        typer.echo(f"note: {left_out} battle(s) between two other policies left out (AlpacaEval compares "
                   f"every model with one baseline)")
