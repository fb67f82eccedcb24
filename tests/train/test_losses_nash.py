"""The Nash-family and noisy-label losses: values derived by hand (docstrings), and each against its official
implementation's formula transcribed here from the release (file and function named) on random tensors.

TRL 1.16 (installed) keeps the `robust` loss inside DPOTrainer's model-running loss and no longer ships
NashMDTrainer or XPOTrainer, so their formulas are transcribed from the TRL sources (the robust branch of
trl/trainer/dpo_trainer.py as installed; nash_md_trainer.py and xpo_trainer.py `_compute_losses` of TRL 0.x)."""

import math

import pytest
import torch
import torch.nn.functional as F

from mnpo_bench.train import losses_nash
from mnpo_bench.train.objectives import OBJECTIVES, PairLogps
from mnpo_bench.train.recipes import LossSettings


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return -torch.rand(*shape, generator=g, dtype=torch.float64) * 20


# -- hand-derived values ---------------------------------------------------------------------------------
def test_rdpo_value():
    """z = 0.5·((−1 + 3) − 0) = 1, ε = 0.25: ((0.75·log(1 + e^−1)) − 0.25·log(1 + e)) / 0.5
    = 1.5·0.3132617 − 0.5·1.3132617 = −0.1867383."""
    got = losses_nash.robust_dpo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.0), beta=0.5, epsilon=0.25)
    assert got.item() == pytest.approx(1.5 * math.log1p(math.exp(-1)) - 0.5 * math.log1p(math.e))
    assert got.item() == pytest.approx(-0.1867383, abs=1e-6)


def test_rdpo_is_unbiased_for_the_clean_loss():
    """E over flips with rate ε of the rDPO loss equals the clean DPO loss −log σ(z), for any z."""
    z = torch.linspace(-3, 3, 7, dtype=torch.float64)
    eps = 0.2
    zero = torch.zeros_like(z)
    observed = losses_nash.robust_dpo_loss(z, zero, zero, zero, beta=1.0, epsilon=eps)
    flipped = losses_nash.robust_dpo_loss(zero, z, zero, zero, beta=1.0, epsilon=eps)
    assert ((1 - eps) * observed + eps * flipped).tolist() == pytest.approx((-F.logsigmoid(z)).tolist())


def test_cdpo_value_and_minimum():
    """z = 1, ε = 0.25: 0.75·log(1 + e^−1) + 0.25·log(1 + e) = 0.5632617; the minimum is at σ(z) = 0.75."""
    got = losses_nash.conservative_dpo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.0), beta=0.5, epsilon=0.25)
    assert got.item() == pytest.approx(0.75 * math.log1p(math.exp(-1)) + 0.25 * math.log1p(math.e))
    z = torch.tensor([math.log(3.0)], dtype=torch.float64, requires_grad=True)  # σ(log 3) = 0.75
    zero = torch.zeros(1, dtype=torch.float64)
    losses_nash.conservative_dpo_loss(z, zero, zero, zero, beta=1.0, epsilon=0.25).sum().backward()
    assert z.grad.item() == pytest.approx(0.0, abs=1e-12)


def test_egpo_value():
    """h = (−1 + 3) − (−2 + 2.5) = 1.5; p = 0.75, β = 0.5 → target 0.25/0.5 = 0.5: (1.5 − 0.5)² = 1;
    hard label (p = 1): target 1, loss 0.25."""
    args = (t(-1.0), t(-3.0), t(-2.0), t(-2.5))
    assert losses_nash.egpo_loss(*args, beta=0.5, prob=t(0.75)).item() == pytest.approx(1.0)
    assert losses_nash.egpo_loss(*args, beta=0.5).item() == pytest.approx(0.25)


def test_nash_md_value_and_stationary_point():
    """One token: log π = −1, log π_ref = −2, s = 0.9, β = 0.1: 0.1·(1·−1) − 0.4·(−1) = 0.3; the gradient
    β·r − (s − ½) vanishes at log π/π_ref = (s − ½)/β = 4."""
    got = losses_nash.nash_md_loss(t(-1.0)[:, None], t(-2.0)[:, None], t(0.9), beta=0.1)
    assert got.item() == pytest.approx(0.3)
    logp = torch.tensor([[2.0]], dtype=torch.float64, requires_grad=True)  # ref −2, ratio 4
    losses_nash.nash_md_loss(logp, t(-2.0)[:, None], t(0.9), beta=0.1).sum().backward()
    assert logp.grad.item() == pytest.approx(0.0, abs=1e-12)


def test_xpo_value():
    """DPO part: z = 0.5·2 = 1 → log(1 + e^−1) = 0.3132617; the rejected is the reference's sample, log π = −3,
    α = 0.01: + 0.01·(−3) → 0.2832617."""
    got = losses_nash.xpo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.0), t(0.0), t(1.0), beta=0.5, alpha=0.01)
    assert got.item() == pytest.approx(math.log1p(math.exp(-1)) - 0.03)


def test_spin_and_dno_are_dpo_against_the_last_iterate():
    """Real −1, generated −3 under θ; −2, −2 under π_t; β = 0.5: −log σ(1) = 0.3132617 for both."""
    args = (t(-1.0), t(-3.0), t(-2.0), t(-2.0))
    assert losses_nash.spin_loss(*args, beta=0.5).item() == pytest.approx(math.log1p(math.exp(-1)))
    assert losses_nash.dno_loss(*args, beta=0.5).item() == pytest.approx(math.log1p(math.exp(-1)))


def test_apo_value_with_a_negative_weight():
    """ℓθ = 2; opponents ℓt = 1, ℓ(t−1) = 0.5, α = 0.5 → weights (1.5, −0.5): anchor 1.5 − 0.25 = 1.25;
    β = 1: −log σ(0.75) = log(1 + e^−0.75) = 0.3868684."""
    got = losses_nash.apo_loss(t(-1.0), t(-3.0), t(-1.0, -2.0)[:, None], t(-2.0, -2.5)[:, None],
                               weights=t(1.5, -0.5), beta=1.0)
    assert got.item() == pytest.approx(math.log1p(math.exp(-0.75)))


def test_spo_value_inside_and_outside_the_clip():
    """p = 0.75 → A = ±0.25. Chosen ratio e^0.1 = 1.10517 (inside 1 ± 0.2): −1.10517·0.25; rejected ratio e^0.5
    = 1.6487 with A = −0.25: min(−0.41218, −1.2·0.25 = −0.3) = −0.41218 → +0.41218. Total 0.0767543."""
    got = losses_nash.spo_loss(t(-0.9), t(-1.5), t(-1.0), t(-2.0), t(0.75), clip=0.2)
    assert got.item() == pytest.approx(-math.exp(0.1) * 0.25 + math.exp(0.5) * 0.25)


def test_onpo_value():
    """Same numbers as INPO's test: h = 2 − 0.5·0.5 − 0.5·1 = 1.25, η = 0.25 (target 2): 0.5625."""
    got = losses_nash.onpo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.5), t(-1.0), t(-2.0), ratio=0.5, eta=0.25)
    assert got.item() == pytest.approx(0.5625)


# -- the official formulas, transcribed, on random tensors ------------------------------------------------
def test_rdpo_matches_trl_robust():
    """trl/trainer/dpo_trainer.py (1.16) loss_type == "robust":
    (−(1 − ls)·logsigmoid(β·Δ) + ls·logsigmoid(−β·Δ)) / (1 − 2·ls), Δ = chosen − rejected log-ratio."""
    pc, pr, rc, rr = rand(4, 16).unbind(0)
    beta, ls = 0.3, 0.15
    delta = (pc - rc) - (pr - rr)
    official = (-(1 - ls) * F.logsigmoid(beta * delta) + ls * F.logsigmoid(-beta * delta)) / (1 - 2 * ls)
    got = losses_nash.robust_dpo_loss(pc, pr, rc, rr, beta=beta, epsilon=ls)
    torch.testing.assert_close(got, official)


def test_cdpo_matches_trl_label_smoothing():
    """TRL 0.x DPOTrainer.dpo_loss, loss_type "sigmoid": −logsigmoid(β·logits)·(1 − ls) − logsigmoid(−β·logits)·ls."""
    pc, pr, rc, rr = rand(4, 16, seed=1).unbind(0)
    beta, ls = 0.1, 0.3
    logits = (pc - pr) - (rc - rr)
    official = -F.logsigmoid(beta * logits) * (1 - ls) - F.logsigmoid(-beta * logits) * ls
    torch.testing.assert_close(losses_nash.conservative_dpo_loss(pc, pr, rc, rr, beta, ls), official)


def test_nash_md_matches_trl_nash_md_trainer():
    """trl/trainer/nash_md_trainer.py `_compute_losses` on per-token log-probs (B, T), padding masked to 0:
    score = (p − 0.5)·Σ logp; log_ratio = (logp − ref).detach(); loss = β·Σ(log_ratio·logp) − score."""
    logp = rand(8, 5, seed=2).requires_grad_(True)
    ref = rand(8, 5, seed=3)
    mask = torch.arange(5)[None, :] < torch.tensor([5, 3, 4, 1, 5, 2, 5, 3])[:, None]
    logp_m, ref_m = logp.masked_fill(~mask, 0.0), ref.masked_fill(~mask, 0.0)
    prob = torch.rand(8, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    beta = 0.2
    score = (prob - 0.5) * logp_m.sum(1)
    official = beta * ((logp_m - ref_m).detach() * logp_m).sum(1) - score
    got = losses_nash.nash_md_loss(logp_m, ref_m, prob, beta)
    torch.testing.assert_close(got, official)
    g_official, = torch.autograd.grad(official.sum(), logp, retain_graph=True)
    g_got, = torch.autograd.grad(got.sum(), logp)
    torch.testing.assert_close(g_got, g_official)  # the stop-gradient is in the same place


def test_xpo_matches_trl_xpo_trainer():
    """trl/trainer/xpo_trainer.py `_compute_losses`: chosen/rejected picked by chosen_mask (model sample won)
    from model and ref data; dpo = −logsigmoid(β·logits); xpo = α·model_logprobs_ref_data_sum."""
    model_m, model_r, ref_m, ref_r = rand(4, 12, seed=5).unbind(0)  # log π and log π_ref of model / ref data
    chosen_mask = torch.rand(12, generator=torch.Generator().manual_seed(6)) > 0.5
    beta, alpha = 0.1, 0.05
    chosen_lr = torch.where(chosen_mask, model_m, model_r) - torch.where(chosen_mask, ref_m, ref_r)
    rejected_lr = torch.where(~chosen_mask, model_m, model_r) - torch.where(~chosen_mask, ref_m, ref_r)
    official = -F.logsigmoid(beta * (chosen_lr - rejected_lr)) + alpha * model_r
    pc, pr = torch.where(chosen_mask, model_m, model_r), torch.where(chosen_mask, model_r, model_m)
    rc, rr = torch.where(chosen_mask, ref_m, ref_r), torch.where(chosen_mask, ref_r, ref_m)
    w_chosen = (~chosen_mask).double()  # the chosen is the reference's sample where the model lost
    got = losses_nash.xpo_loss(pc, pr, rc, rr, w_chosen, 1 - w_chosen, beta, alpha)
    torch.testing.assert_close(got, official)


def test_egpo_matches_the_release():
    """zhourunlong/EGPO extragradient_trainer.py `_compute_losses`: (logps[:,0] − logps[:,1] − ref[:,0] + ref[:,1]
    − (prefs[...,0] − prefs[...,1])/β)², with prefs = (P(y ≻ y′), ½) in the variance-reduced path."""
    pc, pr, rc, rr = rand(4, 16, seed=7).unbind(0)
    prob = torch.rand(16, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    beta = 0.05
    prefs = torch.stack([prob, torch.full_like(prob, 0.5)], dim=-1)
    official = (pc - pr - rc + rr - (prefs[..., 0] - prefs[..., 1]) / beta) ** 2
    torch.testing.assert_close(losses_nash.egpo_loss(pc, pr, rc, rr, beta, prob), official)


def test_spin_matches_the_release():
    """uclaml/SPIN spin/alignment/trainer.py `spin_loss` (sigmoid): logits = (real − generated) − (opp_real −
    opp_generated); −logsigmoid(β·logits)."""
    real, gen, opp_real, opp_gen = rand(4, 16, seed=9).unbind(0)
    beta = 0.1
    official = -F.logsigmoid(beta * ((real - gen) - (opp_real - opp_gen)))
    torch.testing.assert_close(losses_nash.spin_loss(real, gen, opp_real, opp_gen, beta), official)


# -- the registry adapters --------------------------------------------------------------------------------
def _pairs(other=None, n_opp=2, b=6):
    g = torch.Generator().manual_seed(11)
    r = lambda *s: -torch.rand(*s, generator=g, dtype=torch.float64) * 10  # noqa: E731
    return PairLogps(r(b), r(b), r(b), r(b), r(n_opp, b), r(n_opp, b), torch.full((b,), 4), torch.full((b,), 5),
                     torch.rand(b, generator=g, dtype=torch.float64), None, other)


def test_every_new_loss_is_registered_and_finite():
    for name in ("rdpo", "cdpo", "egpo", "nash_md", "xpo", "spin", "dno", "apo", "spo", "onpo"):
        out = OBJECTIVES.get(name)(_pairs(), LossSettings(name=name))
        assert out.shape == (6,) and torch.isfinite(out).all(), name


def test_nash_md_adapter_scores_the_policy_side_only():
    """Chosen tagged as the mixture's sample: only the rejected (the policy's) enters, with score 1 − p."""
    b = _pairs(other=torch.tensor([[1.0, 0.0]] * 6))
    got = OBJECTIVES.get("nash_md")(b, LossSettings(name="nash_md", beta=0.2))
    want = losses_nash.nash_md_loss(b.policy_rejected[:, None], b.ref_rejected[:, None], 1 - b.prob, 0.2)
    torch.testing.assert_close(got, want)


def test_xpo_adapter_untagged_pairs_split_the_bonus():
    """Untagged (t = 1: both samples are the reference's): the bonus is α·½(log π(y_w) + log π(y_l))."""
    b = _pairs()
    got = OBJECTIVES.get("xpo")(b, LossSettings(name="xpo", beta=0.1, alpha=0.5))
    half = torch.full((6,), 0.5, dtype=torch.float64)
    torch.testing.assert_close(got, losses_nash.xpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen,
                                                         b.ref_rejected, half, half, 0.1, 0.5))


def test_cdpo_adapter_takes_epsilon_from_the_panel_with_soft_labels():
    b = _pairs()
    got = OBJECTIVES.get("cdpo")(b, LossSettings(name="cdpo", beta=0.1, soft_labels=True))
    want = losses_nash.conservative_dpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, 0.1,
                                             1 - b.prob)
    torch.testing.assert_close(got, want)
