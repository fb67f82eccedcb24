"""Fixtures of the trainer tests: a real (randomly initialised) tiny Llama with a locally trained BPE
tokenizer, saved with save_pretrained, and arithmetic preference pairs whose chosen answer is correct."""

from __future__ import annotations

import random

import pandas as pd
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run faster on one thread than two fighting over shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build_small_policy(directory, seed: int = 0, hidden: int = 32):
    """A 2-layer Llama (hidden `hidden`) and its tokenizer in `directory`; returns the path as str."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from mnpo_bench.policy.tiny import train_tokenizer

    texts = [f"What is {a} + {b}? The answer is {a + b}." for a in range(30) for b in range(0, 30, 3)]
    texts += ["List three fruits: apple, pear, plum.", "Yes. No. Maybe.", "1. cat\n2. dog\n- red\n- blue"]
    tokenizer = train_tokenizer(texts, vocab_size=300)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def small_policy(tmp_path_factory) -> str:
    return build_small_policy(tmp_path_factory.mktemp("policy"))


def arithmetic_pairs(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` TRL-format pairs: chosen is the bare correct sum, rejected a wrong sentence."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a, b = rng.randint(2, 29), rng.randint(2, 29)
        rows.append({"prompt_id": f"p{i}", "prompt": f"What is {a} + {b}?", "chosen": str(a + b),
                     "rejected": f"The answer is {a + b + rng.randint(1, 5)}.", "prob": 0.9})
    return pd.DataFrame(rows)


@pytest.fixture
def pairs() -> pd.DataFrame:
    return arithmetic_pairs(24)
