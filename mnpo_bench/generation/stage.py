"""The generate stage: generations.parquet, K samples per train prompt from the reference policy."""

from __future__ import annotations

from mnpo_bench.pipeline import Context, StageRun


def generate_stage(ctx: Context) -> None:
    """Run (or skip) the generate stage: writes generations.parquet (resumable by chunk)."""
    from mnpo_bench.generation import generate
    from mnpo_bench.policy.stage import reference_path

    def fn(stage: StageRun) -> list[str]:
        prompts = ctx.store.read_table("prompts")
        frame = generate(reference_path(ctx.store), prompts[prompts["split"] == "train"], ctx.config.generation,
                         policy_name="reference", seed=ctx.config.seed, progress=ctx.progress,
                         parts=stage.parts(), device=ctx.config.policy.device)
        return [ctx.store.write_table("generations", frame).name]

    ctx.stage("generate", fn, inputs={"generation": ctx.config.generation, "seed": ctx.config.seed},
              after=("prompts", "policy"))
