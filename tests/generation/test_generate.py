import pandas as pd
import pytest

from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.errors import UserError
from mnpo_bench.generation import generate
from mnpo_bench.generation.base import COLUMNS
from mnpo_bench.generation.hf import HFBackend
from mnpo_bench.prompts.load import load_prompts
from mnpo_bench.store import RunStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prompts():
    frame = load_prompts(PromptsConfig(n_train=10, n_eval=1), seed=0)
    return frame[frame.split == "train"]


def test_same_seed_same_table_other_seed_differs(tiny_policy, prompts):
    config = GenerationConfig(n_samples=3, max_new_tokens=24)
    first = generate(tiny_policy, prompts, config, policy_name="p", seed=5)
    again = generate(tiny_policy, prompts, config, policy_name="p", seed=5)
    other = generate(tiny_policy, prompts, config, policy_name="p", seed=6)
    assert list(first.columns) == COLUMNS and len(first) == 30
    pd.testing.assert_frame_equal(first, again)
    assert not first["text"].equals(other["text"])
    assert first["response_id"].is_unique


def test_pruned_decoding_equals_transformers_generate_when_greedy(tiny_policy, prompts):
    greedy = GenerationConfig(n_samples=1, max_new_tokens=24, temperature=0)
    pruned = generate(tiny_policy, prompts, greedy, policy_name="p", seed=0)
    plain = generate(tiny_policy, prompts, greedy.model_copy(update={"prune_finished": False}), policy_name="p", seed=0)
    pd.testing.assert_frame_equal(pruned, plain)


def test_sampled_lengths_match_transformers_generate(tiny_policy, prompts):
    config = GenerationConfig(n_samples=8, max_new_tokens=24)
    pruned = generate(tiny_policy, prompts, config, policy_name="p", seed=0)
    plain = generate(tiny_policy, prompts, config.model_copy(update={"prune_finished": False}), policy_name="p", seed=0)
    # different random streams, same distribution: mean length and stop rate agree closely over 80 samples
    assert abs(pruned.n_tokens.mean() - plain.n_tokens.mean()) < 2.5
    assert abs((pruned.finish_reason == "stop").mean() - (plain.finish_reason == "stop").mean()) < 0.15


def test_truncated_generations_are_kept_and_flagged(tiny_policy, prompts):
    frame = generate(tiny_policy, prompts, GenerationConfig(n_samples=2, max_new_tokens=3), policy_name="p", seed=0)
    assert len(frame) == 20  # nothing dropped
    assert frame["is_truncated"].any()
    assert (frame.loc[frame.is_truncated, "finish_reason"] == "length").all()
    assert (frame["n_tokens"] <= 3).all()


def test_empty_generation_is_flagged_not_dropped(tiny_policy):
    from mnpo_bench.policy.load import load_policy

    model, tokenizer = load_policy(tiny_policy)
    backend = HFBackend(model, tokenizer, max_new_tokens=8, temperature=1.0, top_p=1.0, batch_size=8)
    completion = backend._completion([tokenizer.eos_token_id, 5, 6])
    assert (completion.text, completion.n_tokens, completion.finish_reason) == ("", 0, "stop")


def test_resume_inside_generation_reuses_finished_chunks(tiny_policy, tmp_path):
    prompts = load_prompts(PromptsConfig(n_train=70, n_eval=1), seed=0)
    prompts = prompts[prompts.split == "train"]  # 70 prompts: two chunks of 64 and 6
    config = GenerationConfig(n_samples=1, max_new_tokens=8)
    parts = RunStore.open(tmp_path).parts("generate", "h")
    whole = generate(tiny_policy, prompts, config, policy_name="p", seed=1, parts=parts)
    first_chunk = parts.directory / "p-000000.parquet"
    mtime = first_chunk.stat().st_mtime_ns
    (parts.directory / "p-000064.parquet").unlink()  # as if killed before the second chunk finished
    resumed = generate(tiny_policy, prompts, config, policy_name="p", seed=1, parts=parts)
    pd.testing.assert_frame_equal(whole, resumed)
    assert first_chunk.stat().st_mtime_ns == mtime  # the finished chunk was not regenerated


def test_unknown_backend_suggests(tiny_policy, prompts):
    with pytest.raises(UserError, match="did you mean 'vllm'"):
        generate(tiny_policy, prompts, GenerationConfig(backend="vlm"), policy_name="p", seed=0)


def test_an_answer_does_not_depend_on_its_batch_mates(tiny_policy, prompts):
    """Each sequence has its own random stream: a prompt's answers are the same whichever prompts share its batch
    and whatever batch_size is (with one batch-wide generator, a row got other numbers as soon as another row
    ended at another step). This is what lets common_random_numbers pair two policies answer by answer."""
    config = GenerationConfig(n_samples=3, max_new_tokens=24)
    first = generate(tiny_policy, prompts.iloc[[0, 1, 2]], config, policy_name="p", seed=3)
    swapped = generate(tiny_policy, prompts.iloc[[0, 5, 6]], config, policy_name="p", seed=3)
    small_batches = generate(tiny_policy, prompts.iloc[[0, 1, 2]], config.model_copy(update={"batch_size": 2}),
                             policy_name="p", seed=3)
    assert set(first.n_tokens) != {24}  # answers end at different steps, so batch-mates matter to a shared stream
    same_prompt = first.prompt_id == prompts.prompt_id.iloc[0]
    pd.testing.assert_frame_equal(first[same_prompt], swapped[swapped.prompt_id == prompts.prompt_id.iloc[0]])
    pd.testing.assert_frame_equal(first, small_batches)
