"""Verbs of the train subsystem: `mnpo-bench train RECIPE --data PREFS` and `mnpo-bench ls recipes`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add `train` to the main app and `recipes` to `mnpo-bench ls`."""

    @app.command("train")
    def train(
        recipe: Annotated[str, typer.Argument(help="recipe name in trainer/ (mnpo, inpo, dpo, ...) or a YAML path")],
        data: Annotated[str, typer.Option("--data", help="preference rows in TRL format: .parquet/.jsonl/.json or a hub dataset")],
        model: Annotated[Optional[str], typer.Option("--model", help="starting/reference policy (default: the tiny model)")] = None,
        out: Annotated[Path, typer.Option("--out", help="output directory")] = Path("runs/train"),
        profile: Annotated[str, typer.Option("--profile", help="recipe settings: tiny or paper (7-9B)")] = "tiny",
        set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a recipe field: optim.lr=1e-6")] = None,
        persona_column: Annotated[Optional[str], typer.Option("--persona-column", help="HT recipes: column naming each row's persona")] = None,
        seed: Annotated[int, typer.Option("--seed", help="seeds data order and initialisation")] = 0,
        device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N")] = "auto",
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    ) -> None:
        """Train one recipe on an existing preference dataset (one iteration, opponents at the reference)."""
        from mnpo_bench.progress import Progress
        from mnpo_bench.settings import parse_overrides
        from mnpo_bench.train.offline import train_offline

        saved = train_offline(recipe, data, model=model, out=out, profile=profile, overrides=parse_overrides(set_),
                              persona_column=persona_column, seed=seed, device=device, progress=Progress(quiet=quiet))
        if os.environ.get("RANK", "0") == "0":  # under accelerate launch / torchrun, rank 0 reports
            for name, path in saved.items():
                typer.echo(f"{name}\t{path}")

    @ls_app.command("recipes")
    def ls_recipes() -> None:
        """Every shipped training recipe with its loss, opponents and learning rate."""
        from mnpo_bench.train.recipes import list_recipes

        for line in list_recipes():
            typer.echo(line)
