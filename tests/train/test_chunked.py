"""Chunked log-probs equal the unchunked ones: values and gradients, for every kernel at several tile sizes,
with padding and prompt masks, in fp32 and bf16 (autocast over fp32 weights, and bf16 weights as DeepSpeed
keeps them). Expected values come from independent computations: the model's own full (N, T, V) logits, or a
float64 log_softmax of the whole logits block differentiated by autograd."""

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


KERNELS = ["tiled", "trl", "full"]


TILE_SIZES = [(1, 256), (16, 1000), (64, 2999), (4096, 32768)]  # (positions, vocab): 'full' has no tiles


@pytest.mark.parametrize("kernel,positions,vocab", [(k, *size) for k in ("tiled", "trl") for size in TILE_SIZES]
                         + [("full", 4096, 32768)])
def test_fp32_values_and_gradients_equal_unchunked(model, kernel, positions, vocab):
    ids, attention, response = _batch()
    tiles = LogProbTiles(kernel=kernel, positions=positions, vocab=vocab)
    ours, ours_grads = _value_and_grads(model, lambda: sequence_logps(model, ids, attention, response, tiles=tiles)[0])
    ref, ref_grads = _value_and_grads(model, lambda: _unchunked(model, ids, attention, response))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-4)
    for name, grad in ref_grads.items():
        torch.testing.assert_close(ours_grads[name], grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("mode", ["autocast", "bf16_weights"])
def test_bf16_values_and_gradients_equal_unchunked(model, mode, kernel):
    ids, attention, response = _batch(seed=2)
    tiles = LogProbTiles(kernel=kernel, positions=16, vocab=1024)
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


def _problem(m=53, h=24, v=301, dtype=torch.float32, seed=0):
    """hidden (m, h), weight (v, h), bias (v,), targets (m,) and an upstream gradient (m,), all random."""
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(m, h, generator=g).to(dtype).requires_grad_()
    weight = (torch.randn(v, h, generator=g) * 0.3).to(dtype).requires_grad_()
    bias = (torch.randn(v, generator=g) * 0.1).to(dtype).requires_grad_()
    return hidden, weight, bias, torch.randint(0, v, (m,), generator=g), torch.randn(m, generator=g)


def _float64(hidden, weight, bias, targets, upstream, softcap=None, scale=1.0):
    """float64 log_softmax of the transcribed logits transform and autograd's gradients: (logps, grads)."""
    leaves = [x.detach().double().requires_grad_() for x in (hidden, weight, bias)]
    z = scale * (leaves[0] @ leaves[1].T + leaves[2])  # logit scale
    if softcap:
        z = softcap * torch.tanh(z / softcap)  # Gemma-2 style soft-capping
    logps = torch.log_softmax(z, -1).gather(1, targets[:, None])[:, 0]
    (logps * upstream.double()).sum().backward()
    return logps.detach(), [x.grad for x in leaves]


def _kernel(hidden, weight, bias, targets, upstream, tiles, **transform):
    for x in (hidden, weight, bias):
        x.grad = None
    logps = token_logps(hidden, weight, bias, targets, tiles, **transform)
    (logps * upstream).sum().backward()
    return logps.detach(), [x.grad for x in (hidden, weight, bias)]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("transform", [{}, {"softcap": 5.0, "logit_scale": 0.7}])
@pytest.mark.parametrize("elements", [1024, 301 * 7, 301 * 1000])  # 3-row tiles, 7-row tiles, one tile
def test_kernels_equal_float64_with_bias_softcap_and_scale(kernel, transform, elements):
    problem = _problem()
    expected, expected_grads = _float64(*problem, transform.get("softcap"), transform.get("logit_scale", 1.0))
    got, grads = _kernel(*problem, LogProbTiles(kernel=kernel, elements=elements, vocab=256), **transform)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)
    for name, g, e in zip(("hidden", "weight", "bias"), grads, expected_grads):
        torch.testing.assert_close(g.double(), e, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("kernel", ["tiled", "trl"])
def test_bf16_inputs_match_float64_on_the_same_bf16_values(kernel):
    problem = _problem(dtype=torch.bfloat16)
    expected, expected_grads = _float64(*problem)
    got, grads = _kernel(*problem, LogProbTiles(kernel=kernel, elements=1024, vocab=256))  # 3-row tiles
    assert all(g.dtype == torch.bfloat16 for g in grads)
    torch.testing.assert_close(got.double(), expected, rtol=0.02, atol=0.05)
    for g, e in zip(grads, expected_grads):
        assert torch.linalg.norm(g.double() - e) <= 2e-2 * torch.linalg.norm(e)


def test_tile_rows_follow_the_element_budget_and_auto_picks_a_kernel():
    tiles = LogProbTiles()  # 2^25 logits, at most 1024 positions
    assert tiles.rows(131_072) == 256 and tiles.rows(1024) == 1024 and LogProbTiles(elements=2048).rows(10**6) == 1
    cpu = torch.device("cpu")
    assert tiles.choose(100, 1000, cpu) == "full"  # 10^5 logits fit one tile
    assert tiles.choose(4096, 131_072, cpu) == "tiled"  # on CPU our kernel (TRL's is 3x slower there)
    assert LogProbTiles(kernel="trl").choose(100, 1000, cpu) == "trl"
