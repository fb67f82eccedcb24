"""`mnpo-bench validate`: check everything a config names before any work (the `run` verb calls it too)."""

from __future__ import annotations

from pathlib import Path

from mnpo_bench.config import RunConfig, load_config
from mnpo_bench.errors import UserError


def validate_parts(config: RunConfig) -> list[str]:
    """Check everything the config names (prompt file, model, personas, recipes, tasks); one line per check."""
    lines = []
    source = config.prompts.source
    if source != "builtin" and not source.startswith("hf:"):
        if not Path(source).is_file():
            raise UserError("prompts file not found", where=f"prompts.source={source}", fix="give an existing JSONL file")
        lines.append(f"ok  prompts file {source}")
    if config.policy.model != "tiny":
        from mnpo_bench.policy.load import check_model_location

        check_model_location(config.policy.model, where="policy.model")
    lines.append(f"ok  policy {config.policy.model}")
    for check in VALIDATORS:
        lines.extend(check(config))
    return lines


def _validate_panel(config: RunConfig) -> list[str]:
    from mnpo_bench.panel.personas import validate_panel

    return validate_panel(config.panel) if config.panel.enabled else ["ok  panel disabled"]


def _validate_train(config: RunConfig) -> list[str]:
    from mnpo_bench.train.recipes import validate_recipes

    return validate_recipes(config.train)


def _validate_bench(config: RunConfig) -> list[str]:
    from mnpo_bench.bench.stage import validate_bench

    return validate_bench(config)


VALIDATORS = [_validate_panel, _validate_train, _validate_bench]


def validate_config(path: Path | None, overrides: list[str]) -> list[str]:
    """`mnpo-bench validate`: the config at `path` (None: the embedded default) and every persona, panel,
    recipe and task it names."""
    config = load_config(path, overrides)
    return [f"ok  config {path or '(embedded default)'}", *validate_parts(config), "valid"]
