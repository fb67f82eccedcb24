"""Config of the training stage in a run (owned by the trainer subsystem)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mnpo_bench.devices import DEVICE_PATTERN
from mnpo_bench.settings import Section


class TrainConfig(Section):
    """Which methods train, for how many online iterations, and with which recipe settings."""

    enabled: bool = Field(True, description="run the train stage")
    methods: list[str] = Field(default_factory=lambda: ["mnpo", "inpo", "dpo"], description="recipe names in trainer/ (or paths)")
    iterations: int = Field(
        3, ge=1, description="online iterations T (default 3: at t = 3 TD-MNPO with k = 2 plays two distinct past "
        "iterates; with T <= 2 it only ever plays {iter1, reference}, which is INPO with another ratio)")
    prompt_split: Literal["per_iteration", "shared"] = Field(
        "per_iteration", description="per_iteration: the train prompts are shuffled (run seed) and cut into T "
        "disjoint slices, iteration t trains on slice t only, as the MNPO and SPPO releases do (needs "
        "prompts.n_train >= T); shared: every iteration trains on every train prompt")
    common_random_numbers: bool = Field(
        False, description="false: each method's online samples (t > 1) come from its own random stream, seeded "
        "by (run seed, method, t); true: every method samples iteration t from one shared stream, one generator per prompt and sample index with the hf backend, so close policies draw mostly the same samples (a paired design, the marginals unchanged)")
    profile: Literal["auto", "tiny", "paper"] = Field(
        "auto", description="recipe settings: tiny (embedded model), paper (7-9B), auto = tiny for policy.model 'tiny'")
    n_samples: int | None = Field(
        None, ge=2, description="responses sampled per train prompt in iterations t > 1 (null: generation.n_samples)")
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-method recipe overrides, e.g. {mnpo: {optim: {lr: 1e-4}}}")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="training device: 'auto', 'cpu', 'cuda' or 'cuda:N'")
    report_to: list[Literal["tensorboard", "wandb", "mlflow", "trackio"]] = Field(
        default_factory=list, description="experiment trackers that also get every optimiser step's metrics, through "
        "accelerate's trackers (each must be installed; checked before any work); TensorBoard event files go to "
        "train/tracking/<method>__iter<t>/ in the run. Default none: metrics.jsonl is always written")
