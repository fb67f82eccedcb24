"""Shared test set-up: offline hub, an isolated cache, the tiny policy built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

import torch  # noqa: E402

torch.set_num_threads(1)  # the tests' models are tiny: one thread beats two (see policy.cpu_threads)
os.environ.setdefault("MNPO_BENCH_CPU_THREADS", "1")  # ... also in the runs the tests start (mnpo_bench/threads.py)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session gets its own cache (tiny model, judge cache) unless MNPO_BENCH_CACHE is set."""
    if "MNPO_BENCH_CACHE" not in os.environ:
        os.environ["MNPO_BENCH_CACHE"] = str(tmp_path_factory.mktemp("mnpo_cache"))
    yield


@pytest.fixture(scope="session")
def tiny_policy(_isolated_cache) -> str:
    """Path of the embedded default tiny policy (built on first use in this session, ~30 s on 2 cores)."""
    from mnpo_bench.policy.config import TinyModelConfig
    from mnpo_bench.policy.tiny import build_tiny

    return str(build_tiny(TinyModelConfig()))


@pytest.fixture(scope="session")
def llama3_style(tmp_path_factory) -> str:
    """A Llama-3-style checkpoint at vocab 128,256 steered to end turns with <|eot_id|> (tests/real_models.py)."""
    from tests.real_models import build_llama3_style

    return build_llama3_style(tmp_path_factory.mktemp("llama3_style"))


@pytest.fixture(scope="session")
def qwen2_style(tmp_path_factory) -> str:
    """A Qwen2-style checkpoint with tied embeddings at vocab 151,936 (tests/real_models.py)."""
    from tests.real_models import build_qwen2_style

    return build_qwen2_style(tmp_path_factory.mktemp("qwen2_style"))
