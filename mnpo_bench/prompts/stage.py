"""The prompts stage: prompts.parquet, the run's train and eval prompts."""

from __future__ import annotations

from pathlib import Path

from mnpo_bench.pipeline import Context, StageRun
from mnpo_bench.store import file_hash


def prompts_stage(ctx: Context) -> None:
    """Run (or skip, when its inputs are unchanged) the prompts stage: writes prompts.parquet."""
    from mnpo_bench.prompts.load import load_prompts

    source = Path(ctx.config.prompts.source)
    inputs = {"prompts": ctx.config.prompts, "seed": ctx.config.seed,
              "file": file_hash(source) if source.is_file() else None}

    def fn(stage: StageRun) -> list[str]:
        frame = load_prompts(ctx.config.prompts, ctx.config.seed)
        return [ctx.store.write_table("prompts", frame).name]

    ctx.stage("prompts", fn, inputs=inputs)
