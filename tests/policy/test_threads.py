"""Thread counts change speed, not results: the tiny model's SFT and the MiniLM embedder give bit-identical
numbers at 1, 2 and 4 torch threads, the build picks 1 or 2 by load, and parallel runs share the CPUs."""

from __future__ import annotations

import json

import pytest
import torch

from mnpo_bench import threads
from mnpo_bench.policy.config import TinyModelConfig


def _sft_weights(n_threads: int) -> dict[str, torch.Tensor]:
    """The tiny model's weights after 6 SFT steps on the built-in corpus at `n_threads` threads."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from mnpo_bench.policy import tiny
    from mnpo_bench.policy.chat import encode_dialogue
    from mnpo_bench.policy.corpus import build_corpus
    from mnpo_bench.progress import Progress

    config = TinyModelConfig(corpus_size=256, sft_steps=6)
    corpus = build_corpus(config.corpus_size, config.seed)
    tokenizer = tiny.train_tokenizer([f"{d['prompt']}\n{d['response']}" for d in corpus], config.vocab_size)
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(LlamaConfig(  # the default tiny shape: the kernels' blocking depends on it
        vocab_size=len(tokenizer), hidden_size=config.hidden_size, intermediate_size=config.hidden_size * 2,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads, max_position_embeddings=config.max_length, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id))
    encoded = [encode_dialogue(tokenizer, d["prompt"], d["response"], config.max_length) for d in corpus]
    with threads.torch_threads(n_threads):
        tiny._sft(model, encoded, tokenizer.pad_token_id, config, Progress(quiet=True))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_sft_weights_are_bit_identical_at_1_2_and_4_threads():
    one = _sft_weights(1)
    for n in (2, 4):
        other = _sft_weights(n)
        assert all(torch.equal(one[k], other[k]) for k in one), f"{n} threads changed the SFT weights"
    assert torch.get_num_threads() == 1  # restored (the test session runs on one thread)


def test_minilm_embeddings_are_bit_identical_at_1_and_2_threads():
    import numpy as np

    from mnpo_bench.panel.backends.embedding import load_encoder

    encoder = load_encoder("minilm", "cpu")
    texts = [f"Answer {i}: " + "because the reason is clear, " * (i % 7) + "done." for i in range(40)]
    with threads.torch_threads(1):
        one = np.asarray(encoder.encode(texts, batch_size=16))
    with threads.torch_threads(2):
        two = np.asarray(encoder.encode(texts, batch_size=16))
    assert one.shape == (40, 384) and np.array_equal(one, two)


@pytest.mark.parametrize("load", [0.2, 3.0])
def test_the_build_picks_its_threads_by_load_and_restores_the_process_count(tmp_path, monkeypatch, load):
    from mnpo_bench.policy.tiny import build_tiny

    monkeypatch.setenv("MNPO_BENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (load, load, load))
    directory = build_tiny(TinyModelConfig(corpus_size=128, sft_steps=2, hidden_size=32, num_heads=2))
    record = json.loads((directory / "mnpo_bench_tiny.json").read_text())
    assert record["sft_threads"] == (2 if load < 0.5 else 1)
    assert torch.get_num_threads() == 1  # the process's own count is back


@pytest.mark.parametrize(("env", "model", "cpus", "load", "expected"), [
    (None, "tiny", 2, 0.3, 2), (None, "tiny", 2, 0.7, 1), (None, "tiny", 1, 0.0, 1), (None, "tiny", 16, 4.0, 2),
    (None, "org/model-7b", 16, 0.0, None), ("3", "tiny", 2, 0.0, 3), ("1", "org/model-7b", 16, 0.0, 1),
])
def test_default_threads(monkeypatch, env, model, cpus, load, expected):
    monkeypatch.delenv(threads.ENV, raising=False)
    if env is not None:
        monkeypatch.setenv(threads.ENV, env)
    monkeypatch.setattr(threads, "available_cpus", lambda: cpus)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (load, load, load))
    assert threads.default_threads(model) == expected


def test_parallel_runs_share_the_cpus(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    threads.share_cpus(2)
    assert threads.default_threads("tiny") == 1  # two runs at once on two cores: one thread each
    threads.share_cpus(1)  # an explicit share already set is kept
    assert threads.default_threads("tiny") == 1
