"""Loss values derived by hand (in each docstring), and the INPO / IPO reductions of MNPO."""

import math

import pytest
import torch

from mnpo_bench.train import losses
from mnpo_bench.train.objectives import OBJECTIVES, PairLogps, masked_mean
from mnpo_bench.train.recipes import LossSettings


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_dpo_value():
    """ℓθ = −1 − (−3) = 2, ℓref = 0, β = 0.5: −log σ(0.5·2) = log(1 + e^−1) = 0.313262; and log 2 at θ = ref."""
    got = losses.dpo_loss(t(-1.0, -2.0), t(-3.0, -2.0), t(-2.0, -2.0), t(-2.0, -2.0), beta=0.5)
    assert got.tolist() == pytest.approx([math.log1p(math.exp(-1)), math.log(2)])
    assert got[0].item() == pytest.approx(0.3132617, abs=1e-7)


def test_ipo_value():
    """h = (−1 + 3) − (−2 + 2.5) = 1.5, target 1/(2·0.25) = 2: (1.5 − 2)² = 0.25."""
    got = losses.ipo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.5), tau=0.25)
    assert got.item() == pytest.approx(0.25)


def test_mnpo_value_with_weights():
    """ℓθ = 2, ℓref = 0.5, opponents ℓ1 = −1 + 2 = 1 and ℓ2 = 0 + 4 = 4, weights [3, 1] → [0.75, 0.25] so the
    mixture margin is 0.75 + 1 = 1.75; ratio 0.5, η = 0.25 (target 2):
    h = 2 − 0.5·0.5 − 0.5·1.75 = 0.875 and the loss is (0.875 − 2)² = 1.265625."""
    args = (t(-1.0), t(-3.0), t(-2.0), t(-2.5), t(-1.0, 0.0)[:, None], t(-2.0, -4.0)[:, None])
    got = losses.mnpo_loss(*args, weights=torch.tensor([3.0, 1.0]), ratio=0.5, eta=0.25)
    assert got.item() == pytest.approx(1.265625)


def test_mnpo_uniform_weights_when_none():
    """Same pair, weights None → [0.5, 0.5]: mixture 2.5, h = 2 − 0.25 − 1.25 = 0.5, loss (0.5 − 2)² = 2.25."""
    args = (t(-1.0), t(-3.0), t(-2.0), t(-2.5), t(-1.0, 0.0)[:, None], t(-2.0, -4.0)[:, None])
    assert losses.mnpo_loss(*args, weights=None, ratio=0.5, eta=0.25).item() == pytest.approx(2.25)


def test_simpo_value():
    """Averages −4/2 = −2 and −9/3 = −3, β = 2, margin γ/β = 0.5 (γ = 1): −log σ(2·1 − 1) = log(1 + e^−1)."""
    got = losses.simpo_loss(t(-4.0), t(-9.0), t(2.0), t(3.0), beta=2.0, margin=0.5)
    assert got.item() == pytest.approx(math.log1p(math.exp(-1)))


def test_sppo_pair_value():
    """log-ratios a = −1 + 1.5 = 0.5, b = −2 + 1 = −1; p = 0.75, η = 2 → targets +0.5 and −0.5:
    (0.5 − 0.5)² + (−1 + 0.5)² = 0.25."""
    got = losses.sppo_pair_loss(t(-1.0), t(-2.0), t(-1.5), t(-1.0), t(0.75), eta=2.0)
    assert got.item() == pytest.approx(0.25)


def _random(n_opp, b=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: -torch.rand(*s, generator=g, dtype=torch.float64) * 20  # noqa: E731
    return r(b), r(b), r(b), r(b), r(n_opp, b), r(n_opp, b)


def test_mnpo_with_one_opponent_is_inpo():
    pc, pr, rc, rr, oc, orr = _random(1)
    mnpo = losses.mnpo_loss(pc, pr, rc, rr, oc, orr, weights=None, ratio=0.3, eta=0.05)
    inpo = losses.inpo_loss(pc, pr, rc, rr, oc[0], orr[0], ratio=0.3, eta=0.05)
    torch.testing.assert_close(mnpo, inpo)


def test_mnpo_with_ratio_one_is_ipo():
    pc, pr, rc, rr, oc, orr = _random(3, seed=1)
    mnpo = losses.mnpo_loss(pc, pr, rc, rr, oc, orr, weights=torch.tensor([1.0, 2.0, 3.0]), ratio=1.0, eta=0.05)
    torch.testing.assert_close(mnpo, losses.ipo_loss(pc, pr, rc, rr, tau=0.05))


def test_opponent_weights_are_honoured():
    pc, pr, rc, rr, oc, orr = _random(2, seed=2)
    a = losses.mnpo_loss(pc, pr, rc, rr, oc, orr, weights=torch.tensor([1.0, 0.0]), ratio=0.3, eta=0.05)
    b = losses.mnpo_loss(pc, pr, rc, rr, oc[:1], orr[:1], weights=None, ratio=0.3, eta=0.05)
    torch.testing.assert_close(a, b)  # zero weight removes the second opponent
    c = losses.mnpo_loss(pc, pr, rc, rr, oc, orr, weights=torch.tensor([0.0, 1.0]), ratio=0.3, eta=0.05)
    assert not torch.allclose(a, c)


def test_bad_weights_rejected():
    pc, pr, rc, rr, oc, orr = _random(2)
    with pytest.raises(ValueError):
        losses.mnpo_loss(pc, pr, rc, rr, oc, orr, weights=torch.tensor([-1.0, 2.0]), ratio=0.3, eta=0.05)


def test_dpo_gradient_raises_chosen_and_lowers_rejected():
    pc, pr = t(-2.0).requires_grad_(), t(-2.0).requires_grad_()
    losses.dpo_loss(pc, pr, t(-2.0), t(-2.0), beta=0.1).sum().backward()
    assert pc.grad.item() < 0 < pr.grad.item()  # descent increases log π(y_w) and decreases log π(y_l)


def test_registry_objectives_match_functions_and_average():
    """The registry entries call the same functions; average_logps divides by the lengths first."""
    pc, pr, rc, rr, oc, orr = _random(2, b=3, seed=3)
    lengths_c, lengths_r = t(2.0, 4.0, 5.0), t(1.0, 3.0, 8.0)
    batch = PairLogps(pc, pr, rc, rr, oc, orr, lengths_c, lengths_r, t(0.9, 0.6, 1.0))
    cfg = LossSettings(name="mnpo", beta=0.1, ratio=0.25)
    torch.testing.assert_close(OBJECTIVES.get("mnpo")(batch, cfg),
                               losses.mnpo_loss(pc, pr, rc, rr, oc, orr, None, 0.25, 0.1))
    avg = OBJECTIVES.get("dpo")(batch, LossSettings(name="dpo", beta=0.5, average_logps=True))
    torch.testing.assert_close(avg, losses.dpo_loss(pc / lengths_c, pr / lengths_r, rc / lengths_c, rr / lengths_r, 0.5))
    sppo = OBJECTIVES.get("sppo_pair")(batch, LossSettings(name="sppo_pair", beta=0.5))  # η = 1/β = 2
    torch.testing.assert_close(sppo, losses.sppo_pair_loss(pc, pr, oc[0], orr[0], batch.prob, 2.0))


def test_masked_mean_ignores_skipped_and_handles_all_skipped():
    per = t(1.0, 3.0, 100.0)
    assert masked_mean(per, torch.tensor([True, True, False])).item() == pytest.approx(2.0)
    assert masked_mean(per, torch.tensor([False, False, False])).item() == 0.0


def test_unknown_loss_is_a_user_error_with_suggestion():
    from mnpo_bench.errors import UserError

    with pytest.raises(UserError, match="did you mean 'mnpo'"):
        OBJECTIVES.get("mnp")


def test_soft_labels_scale_the_squared_error_targets_by_2p_minus_1():
    """At θ = ref = opponents every margin is 0, so each squared-error loss is its target squared.
    η = τ = 0.25: hard target 1/(2·0.25) = 2. p = 0.75: (2·0.75 − 1)·2 = 1, loss 1; p = 0.5: target 0,
    loss 0; p = 1: target 2, loss 4 (the hard loss)."""
    zero = torch.zeros(3)
    prob = torch.tensor([0.75, 0.5, 1.0])
    expected = torch.tensor([1.0, 0.0, 4.0])
    assert torch.allclose(losses.ipo_loss(zero, zero, zero, zero, 0.25, prob), expected)
    assert torch.allclose(losses.inpo_loss(zero, zero, zero, zero, zero, zero, 0.5, 0.25, prob), expected)
    assert torch.allclose(losses.mnpo_loss(zero, zero, zero, zero, torch.zeros(2, 3), torch.zeros(2, 3), None, 0.5, 0.25,
                                    prob), expected)
    assert torch.allclose(losses.ipo_loss(zero, zero, zero, zero, 0.25), torch.full((3,), 4.0))  # hard labels


def test_soft_label_dpo_is_cdpo_with_smoothing_one_minus_p():
    """β = 1, policy margin ln 3 over the reference: z = ln 3, σ(z) = 3/4, σ(−z) = 1/4.
    p = 0.9: loss = −0.9·ln(3/4) − 0.1·ln(1/4) = 0.9·0.287682 + 0.1·1.386294 = 0.397543;
    p = 3/4 (the minimiser σ(z) = p): −0.75·ln 0.75 − 0.25·ln 0.25 = 0.562335, the entropy of (3/4, 1/4)."""
    chosen, zero = torch.tensor([math.log(3.0), math.log(3.0)]), torch.zeros(2)
    got = losses.dpo_loss(chosen, zero, zero, zero, 1.0, torch.tensor([0.9, 0.75]))
    assert torch.allclose(got, torch.tensor([0.397543, 0.562335]), atol=1e-6)
    hard = losses.dpo_loss(chosen, zero, zero, zero, 1.0)
    assert torch.allclose(hard, torch.full((2,), -math.log(0.75)))
