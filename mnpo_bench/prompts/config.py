"""Config of the prompts stage."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section


MAX_PROMPTS = 10_000_000  # a sanity bound; a file must hold n_train + n_eval prompts, the built-in families fewer


class PromptsConfig(Section):
    """Where prompts come from and how they split into train and eval."""

    source: str = Field("builtin", description="'builtin' (seeded checkable families), a JSONL file path, or 'hf:<dataset>'")
    families: list[str] = Field(
        default_factory=lambda: ["arithmetic", "counting", "listing", "rewriting", "yesno"],
        min_length=1, description="built-in instruction families to draw from (builtin source only)",
    )
    n_train: int = Field(96, ge=1, le=MAX_PROMPTS, description="number of training prompts; the default 96 gives each of the default 3 iterations its own 32 (train.prompt_split)")
    n_eval: int = Field(48, ge=1, le=MAX_PROMPTS, description="number of held-out evaluation prompts (disjoint from train); the "
                        "default 48 keeps the embedded run within minutes on 2 cores (each eval prompt costs about 1 CPU-second of tournament)")
    hf_split: str = Field("train", description="split to read for an 'hf:' source")
    hf_field: str = Field("instruction", description="column holding the prompt text for an 'hf:' source")
