"""Config of the standard-benchmark stage (owned by the bench subsystem)."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section

BUILTIN_TASKS = ["mnpo_arith_mc", "mnpo_yesno_mc", "mnpo_arith_gen"]


class BenchConfig(Section):
    """Which lm-evaluation-harness tasks run on every checkpoint, and how."""

    enabled: bool = Field(True, description="run the bench stage")
    tasks: list[str] = Field(
        default_factory=lambda: list(BUILTIN_TASKS), min_length=1,
        description="lm-eval task, group or tag names (built-in mnpo_* tasks, tasks in task_dirs, or lm-eval's "
                    "own such as arc_challenge, hellaswag, truthfulqa_mc2, mmlu, gsm8k, ifeval), or task YAML paths",
    )
    limit: int | None = Field(None, ge=1, description="at most this many documents per task (None: all)")
    task_dirs: list[str] = Field(
        default_factory=list,
        description="extra folders of lm-eval task YAMLs, searched as lm-eval's --include_path",
    )
    num_fewshot: int | None = Field(
        None, ge=0, description="few-shot examples per prompt (None: each task's own default; tasks fixed at 0 stay 0)"
    )
    batch_size: int = Field(32, ge=1, description="sequences per forward pass")
    max_length: int | None = Field(None, ge=8, description="context length in tokens (None: from the model config)")
    chat_template: bool = Field(
        True, description="render task prompts with the tokenizer's chat template (turn off for base models)"
    )
    bootstrap_iters: int = Field(
        1000, ge=0, description="bootstrap rounds for the stderr of metrics without a closed form (0: no stderr)"
    )
    export_alpaca: bool = Field(
        True, description="write each policy's answers on the eval prompts as alpaca_eval/<policy>/model_outputs.json"
    )
    lm_eval_progress: bool = Field(
        False, description="show lm-eval's own progress bars and log lines (useful on long hub tasks)"
    )
