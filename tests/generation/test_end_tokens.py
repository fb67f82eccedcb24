"""Generation stops on every end token, and training ends responses with the template's end-of-turn token,
on checkpoints shaped like Llama 3 (EOS <|end_of_text|>, turns end with <|eot_id|>) and Qwen 2.5."""

from __future__ import annotations

import pytest

from mnpo_bench.generation import generate
from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.generation.hf import HFBackend
from mnpo_bench.policy.chat import encode_dialogue, end_of_turn_id, render_prompt, stop_token_ids
from mnpo_bench.policy.load import load_policy
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.prompts.load import load_prompts


@pytest.fixture(scope="module")
def prompts():
    frame = load_prompts(PromptsConfig(n_train=12, n_eval=1), seed=0)
    return frame[frame.split == "train"]


def test_stop_tokens_are_the_templates_end_of_turn_and_every_generation_config_end(llama3_style, qwen2_style):
    model, tokenizer = load_policy(llama3_style)
    eot, end_of_text = (tokenizer.convert_tokens_to_ids(t) for t in ("<|eot_id|>", "<|end_of_text|>"))
    assert tokenizer.eos_token_id == end_of_text  # the case that broke: EOS is not the end of a turn
    assert end_of_turn_id(tokenizer) == eot
    assert stop_token_ids(tokenizer, model.generation_config) == [eot, end_of_text]
    model, tokenizer = load_policy(qwen2_style)
    im_end, endoftext = (tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>"))
    assert stop_token_ids(tokenizer, model.generation_config) == [im_end, endoftext]


@pytest.mark.parametrize("prune", [True, False], ids=["pruned", "transformers_generate"])
def test_llama3_style_answers_stop_on_eot(llama3_style, prompts, prune):
    config = GenerationConfig(n_samples=4, max_new_tokens=24, prune_finished=prune)
    frame = generate(llama3_style, prompts, config, policy_name="llama3", seed=0)
    stopped = (frame["finish_reason"] == "stop").mean()
    assert stopped >= 0.8, f"{stopped:.0%} of answers stopped"
    assert not frame["is_truncated"][frame["finish_reason"] == "stop"].any()


def test_the_token_that_stops_llama3_style_answers_is_eot(llama3_style, prompts):
    model, tokenizer = load_policy(llama3_style)
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    backend = HFBackend(model, tokenizer, max_new_tokens=24, temperature=1.0, top_p=1.0, batch_size=48)
    sequences = backend._decode_pruned([render_prompt(tokenizer, p) for p in prompts["prompt"]], 4, seed=0)
    ends = [ids[-1] for ids in sequences if len(ids) < 24 or ids[-1] in backend.stop_ids]
    assert len(ends) >= 0.8 * len(sequences) and set(ends) == {eot}


def test_training_responses_end_with_the_templates_end_of_turn(llama3_style, qwen2_style, tiny_policy):
    for path, end in ((llama3_style, "<|eot_id|>"), (qwen2_style, "<|im_end|>"), (tiny_policy, "<|end|>")):
        _, tokenizer = load_policy(path)
        ids, n_prompt = encode_dialogue(tokenizer, "Name a colour.", "Blue.", max_length=512)
        assert ids[-1] == tokenizer.convert_tokens_to_ids(end), path
        # what the template itself writes after an assistant message starts with that same token
        full = tokenizer.apply_chat_template([{"role": "user", "content": "Name a colour."},
                                              {"role": "assistant", "content": "Blue."}], tokenize=False)
        after = tokenizer(full.split("Blue.", 1)[1], add_special_tokens=False)["input_ids"]
        assert after[0] == ids[-1]


def test_decoding_uses_no_deprecated_cache_argument(llama3_style, prompts):
    import warnings

    model, tokenizer = load_policy(llama3_style)
    backend = HFBackend(model, tokenizer, max_new_tokens=4, temperature=1.0, top_p=1.0, batch_size=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend.complete([render_prompt(tokenizer, p) for p in prompts["prompt"][:2]], 2, seed=0)
    assert not [w for w in caught if "past_key_values" in str(w.message)]
