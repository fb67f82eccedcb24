"""The `leaderboard` verb: ratings from a battles file, or from AlpacaEval / Chatbot-Arena verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add `mnpo-bench leaderboard` to the main app."""
    app.command("leaderboard")(leaderboard)


def leaderboard(
    battles: Annotated[Path, typer.Argument(help="battles file (.parquet/.jsonl/.json/.csv: model_a, model_b, winner), "
                                                 "or with --from the AlpacaEval directory / Arena log")],
    out: Annotated[Path, typer.Option("--out", help="directory to write ratings.csv, matrix.csv, diagnostics.json, "
                                                    "annotators.csv, annotator_ratings.csv, paired.csv, report.md")],
    source: Annotated[Optional[str], typer.Option("--from", help="import from another format: alpaca-eval | arena")] = None,
    reference: Annotated[Optional[str], typer.Option(help="model to compare against (default: the model in every battle, if any)")] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="bootstrap rounds for 95% intervals (0: none)")] = 100,
    seed: Annotated[int, typer.Option(help="seed of the bootstrap")] = 0,
    bench: Annotated[Optional[Path], typer.Option(help="bench results table (model, task, metric, value, stderr) to join")] = None,
    hard: Annotated[bool, typer.Option("--hard", help="score battles by winner only, ignoring prob_a")] = False,
    length_control: Annotated[Optional[str], typer.Option("--length-control", help="how the length-controlled win "
                                                          "rate is fitted: pooled (one GLM over all models) | "
                                                          "alpaca-eval (AlpacaEval 2's per-model GLM; the default "
                                                          "with --from alpaca-eval)")] = None,
    responses: Annotated[Optional[Path], typer.Option(help="the answers' texts (response_id, text; a run's "
                                                           "responses.parquet): identical answers count as one in the "
                                                           "Nash gap, and diversity is measured")] = None,
) -> None:
    """Rate models from battles: Bradley-Terry with CIs, win rates, length-controlled win rate, maximal lottery,
    Nash averaging, Copeland, cycle diagnostics and per-annotator ratings."""
    from mnpo_bench.errors import UserError
    from mnpo_bench.ratings.battles import read_battles_file
    from mnpo_bench.ratings.config import MAX_BOOTSTRAP
    from mnpo_bench.ratings.importers import load_source
    from mnpo_bench.ratings.leaderboard import build_leaderboard

    if bootstrap > MAX_BOOTSTRAP:
        raise UserError(f"{bootstrap} bootstrap rounds asked for, more than {MAX_BOOTSTRAP}", where="--bootstrap",
                        fix="1000 rounds already give 95% intervals to about a tenth of their width")
    texts = read_battles_file(responses) if responses is not None else None
    if texts is not None and not {"response_id", "text"} <= set(texts.columns):
        raise UserError("missing column(s) response_id, text", where=str(responses),
                        fix="pass a responses table with columns response_id and text (a run's responses.parquet)")
    table = load_source(source, battles) if source else battles
    for note in table.attrs.get("notes", []) if source else []:
        typer.echo(f"note: {note}")
    board = build_leaderboard(table, out, reference=reference, bootstrap=bootstrap, seed=seed, bench=bench,
                              soft=not hard, source=str(battles), responses=texts,
                              length_control=length_control or ("alpaca-eval" if source == "alpaca-eval" else "pooled"))
    ratings = board.ratings
    width = max(len(m) for m in ratings["model"])
    typer.echo(f"{'rank':>4}  {'model':<{width}}  {'BT':>6}  {'95% CI':>13}  {'vs field':>8}  {'max.lottery':>11}")
    for r in ratings.itertuples():
        typer.echo(f"{r.rank_ub:>4}  {r.model:<{width}}  {r.bt:>6.0f}  [{r.bt_lo:>5.0f}, {r.bt_hi:>5.0f}]  "
                   f"{100 * r.win_rate:>7.1f}%  {100 * r.nash_mass:>10.1f}%")
    typer.echo(f"wrote {out}/ (report.md has the findings)")
