"""Verbs of the ratings subsystem, mounted by mnpo_bench.cli (placeholder until the ratings issue lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, ls_app: typer.Typer) -> None:
    """Add this subsystem's verbs to the main app (and its listings to `mnpo-bench ls`)."""
