"""Chunked log-probs equal the unchunked ones: values and gradients, at several tile sizes, with padding
and prompt masks, in fp32 and bf16 (autocast over fp32 weights, and bf16 weights as DeepSpeed keeps them)."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mnpo_bench.train.chunked import LogProbTiles, token_logps
from mnpo_bench.train.logprobs import sequence_logps

VOCAB = 3000


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False))


def _batch(seed=1):
    """4 right-padded rows of different lengths; the response starts at a different position in each."""
    g = torch.Generator().manual_seed(seed)
    lengths, prompts = [40, 23, 31, 9], [10, 5, 20, 3]
    ids = torch.randint(0, VOCAB, (4, 40), generator=g)  # (N, T)
    attention = torch.zeros(4, 40, dtype=torch.long)
    response = torch.zeros(4, 40, dtype=torch.bool)
    for row, (n, p) in enumerate(zip(lengths, prompts)):
        attention[row, :n] = 1
        response[row, p:n] = True
        ids[row, n:] = 0  # padding
    return ids, attention, response


def _unchunked(model, ids, attention, response):
    """Summed response log-probs from the model's own full (N, T, V) logits: log_softmax, gather, mask, sum."""
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()  # (N, T-1, V)
    logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]  # (N, T-1)
    return (logp * response[:, 1:]).sum(1)


def _value_and_grads(model, fn):
    model.zero_grad(set_to_none=True)
    weights = torch.tensor([1.0, -0.5, 2.0, 0.25])  # an arbitrary upstream gradient per sequence
    values = fn()
    (values * weights).sum().backward()
    return values.detach().float(), {n: p.grad.float().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("positions,vocab", [(1, 256), (16, 1000), (64, 2999), (4096, 32768)])
def test_fp32_values_and_gradients_equal_unchunked(model, positions, vocab):
    ids, attention, response = _batch()
    tiles = LogProbTiles(positions=positions, vocab=vocab)
    ours, ours_grads = _value_and_grads(model, lambda: sequence_logps(model, ids, attention, response, tiles=tiles)[0])
    ref, ref_grads = _value_and_grads(model, lambda: _unchunked(model, ids, attention, response))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-4)
    for name, grad in ref_grads.items():
        torch.testing.assert_close(ours_grads[name], grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("mode", ["autocast", "bf16_weights"])
def test_bf16_values_and_gradients_equal_unchunked(model, mode):
    ids, attention, response = _batch(seed=2)
    tiles = LogProbTiles(positions=16, vocab=1024)
    target = model if mode == "autocast" else LlamaForCausalLM(model.config).to(torch.bfloat16)
    if mode == "bf16_weights":
        target.load_state_dict(model.state_dict())
    enabled = mode == "autocast"
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
        ours, ours_grads = _value_and_grads(target, lambda: sequence_logps(target, ids, attention, response,
                                                                           tiles=tiles)[0])
        ref, ref_grads = _value_and_grads(target, lambda: _unchunked(target, ids, attention, response))
    torch.testing.assert_close(ours, ref, rtol=2e-2, atol=0.5)  # sums of ~30 tokens at ~8 nats each
    for name, grad in ref_grads.items():  # bf16 rounding differs (fp32 accumulation across vocab tiles)
        assert torch.linalg.norm(ours_grads[name] - grad) <= 3e-2 * torch.linalg.norm(grad) + 1e-6, name


def test_no_scored_token_still_backpropagates(model):
    ids, attention, _ = _batch()
    values, lengths = sequence_logps(model, ids, attention, torch.zeros_like(attention, dtype=torch.bool))
    assert values.tolist() == [0.0] * 4 and lengths.tolist() == [0] * 4
    values.sum().backward()  # no error: the empty result is attached to the graph


def test_softcap_and_logit_scale_match_their_definition():
    torch.manual_seed(3)
    hidden, weight = torch.randn(50, 16), torch.randn(700, 16)
    targets = torch.randint(0, 700, (50,))
    z = 0.7 * (hidden @ weight.T)  # logit scale
    z = 5.0 * torch.tanh(z / 5.0)  # Gemma-2 style soft-capping
    expected = torch.log_softmax(z.double(), -1).gather(-1, targets[:, None])[:, 0]
    ours = token_logps(hidden, weight, None, targets, LogProbTiles(positions=8, vocab=256), softcap=5.0,
                       logit_scale=0.7)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-5, atol=1e-5)
