"""Config of the policy stage: the reference policy and the embedded tiny model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from mnpo_bench.devices import DEVICE_PATTERN
from mnpo_bench.settings import Section


class TinyModelConfig(Section):
    """The embedded default policy: a tiny Llama built, tokenised and SFT'd locally, then cached."""

    vocab_size: int = Field(1024, ge=256, description="BPE vocabulary size of the trained tokenizer")
    hidden_size: int = Field(128, ge=16, description="model width")
    num_layers: int = Field(3, ge=1, description="transformer blocks")
    num_heads: int = Field(4, ge=1, description="attention heads")
    max_length: int = Field(160, ge=32, description="context length in tokens")
    corpus_size: int = Field(3000, ge=100, description="number of built-in SFT dialogues")
    sft_steps: int = Field(400, ge=1, description="optimiser steps of supervised fine-tuning")
    sft_batch_size: int = Field(32, ge=1, description="dialogues per SFT step")
    sft_lr: float = Field(3e-3, gt=0, description="peak learning rate of SFT (cosine decay)")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the corpus, tokenizer and initial weights")

    @field_validator("num_heads")
    @classmethod
    def _heads_divide_width(cls, heads: int, info: ValidationInfo) -> int:
        """Each attention head gets hidden_size / num_heads dimensions, a whole and even number (rotary
        position embeddings rotate pairs of dimensions)."""
        width = info.data.get("hidden_size")
        if width and (width % heads or (width // heads) % 2):
            good = next(h for h in (4, 2, 1) if width % h == 0 and (width // h) % 2 == 0)
            raise ValueError(f"must divide hidden_size={width} into an even head size (e.g. {good})")
        return heads


class PolicyConfig(Section):
    """The reference policy every method starts from."""

    model: str = Field("tiny", description="'tiny' for the embedded default, else a Hugging Face model id or local path")
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig, description="settings of the embedded tiny model")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="weights dtype; auto = bf16 on GPU, fp32 on CPU")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="'auto', 'cpu', 'cuda' or 'cuda:N' (checked against this host before any work)")
    chat_template: str | None = Field(
        None, description="the chat template prompts are rendered with, replacing the checkpoint's own: a Jinja "
        "string, or the path of a template file (e.g. chat_template.jinja); None: the checkpoint's own (a checkpoint "
        "without one is refused). Checked when the config is read")
    cpu_threads: int | None = Field(
        None, ge=1, description="torch CPU threads; None: $MNPO_BENCH_CPU_THREADS if set (an experiment's local "
        "launcher sets each parallel run's share), else for the tiny model 2 when the load average leaves 1.5 CPUs "
        "idle and 1 otherwise (both give bit-identical results), and torch's default for other models")

    @field_validator("chat_template")
    @classmethod
    def _template_reads(cls, value: str | None) -> str | None:
        """A Jinja string that compiles, or the path of a UTF-8 file holding one (read again by the policy stage)."""
        if value is not None:
            from mnpo_bench.policy.chat import read_chat_template

            read_chat_template(value)
        return value
