"""The one log-prob path: chat template, prompt masking, truncation, padding and head-only shortcut."""

import torch

from mnpo_bench.policy.chat import render_prompt
from mnpo_bench.policy.load import load_policy
from mnpo_bench.train.logprobs import collate_sequences, encode_pair, precompute_logps, sequence_logps


def _manual_logp(model, tokenizer, prompt, response):
    """log π(response | chat-rendered prompt) summed token by token from a full, unpadded forward."""
    prompt_ids = tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = torch.tensor([prompt_ids + response_ids])
    logp = torch.log_softmax(model(ids).logits[0].double(), -1)  # (T, V)
    return sum(logp[len(prompt_ids) + i - 1, tok].item() for i, tok in enumerate(response_ids)), len(response_ids)


def test_sequence_logps_match_a_manual_sum_over_response_tokens(small_policy):
    model, tok = load_policy(small_policy, device="cpu", dtype="float32")
    pairs = [encode_pair(tok, "What is 3 + 4?", "7", "The answer is 9.", 64),
             encode_pair(tok, "List three fruits.", "apple, pear, plum", "no", 64)]
    batch = collate_sequences(pairs, tok.pad_token_id)
    assert batch["input_ids"].shape[0] == 4  # chosen of both pairs, then rejected of both: one forward pass
    with torch.no_grad():
        fast, lengths = sequence_logps(model, **batch)
    for row, (prompt, response) in enumerate([("What is 3 + 4?", "7"), ("List three fruits.", "apple, pear, plum"),
                                              ("What is 3 + 4?", "The answer is 9."), ("List three fruits.", "no")]):
        expected, n = _manual_logp(model, tok, prompt, response)
        assert abs(fast[row].item() - expected) < 1e-3
        assert lengths[row].item() == n  # the prompt is masked out, the end-of-turn token is scored


def test_truncation_keeps_max_length_and_some_response(small_policy):
    _, tok = load_policy(small_policy, device="cpu")
    pair = encode_pair(tok, "What is 3 + 4? " * 20, "seven " * 50, "7", 40)
    assert len(pair.chosen_ids) == 40 and pair.chosen_prompt <= 20
    batch = collate_sequences([pair], tok.pad_token_id)
    assert int(batch["response_mask"][0].sum()) == 40 - pair.chosen_prompt


def test_precompute_equals_training_forward_regardless_of_batching(small_policy):
    model, tok = load_policy(small_policy, device="cpu", dtype="float32")
    pairs = [encode_pair(tok, f"What is {a} + 2?", str(a + 2), "I do not know " * (a % 4), 64) for a in range(7)]
    stored = precompute_logps(model, tok, pairs, batch_size=3, device="cpu")  # sorted by length, other padding
    with torch.no_grad():
        logps, lengths = sequence_logps(model, **collate_sequences(pairs, tok.pad_token_id))
    torch.testing.assert_close(torch.tensor(stored["chosen_logp"]), logps[:7], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(torch.tensor(stored["rejected_logp"]), logps[7:], rtol=1e-5, atol=1e-4)
    assert stored["rejected_tokens"] == lengths[7:].tolist()
