"""Preference losses of the Nash-learning literature and of noisy-label DPO, per example.

Same conventions as `losses.py`: every log-prob argument is a (B,) tensor of summed (or length-averaged)
response log-probs in nats, ℓπ = log π(y_w|x) − log π(y_l|x) is a policy's margin on the pair, θ is the policy
being trained, and each function returns the per-example losses (B,). Where a method needs to know which
response of a pair came from which sampler (XPO: the reference's sample; Nash-MD: the policy's sample against
the mixture's), the caller passes per-side weights `w_chosen`, `w_rejected` (B,) summing to 1 per pair.

Each docstring names the official implementation it follows; tests/train/test_losses_nash.py transcribes
that formula and compares on random tensors.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mnpo_bench.train.losses import dpo_loss, inpo_loss


def robust_dpo_loss(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor,
                    beta: float, epsilon: float) -> Tensor:
    """rDPO (Chowdhury et al. 2024, "Provably robust DPO"), per example (B,); TRL's DPO loss_type "robust".

    Labels are flipped independently with known rate ε < ½. With z = β·(ℓθ − ℓref), the DPO loss of a pair and
    of its flip are ℓ₊ = −log σ(z) and ℓ₋ = −log σ(−z); the unbiased estimate of the clean loss is the unique
    combination a·ℓ(observed) + b·ℓ(flipped) whose expectation under flips is the clean loss:
        (1 − ε)·a·ℓ₊ + ε·a·ℓ₋ + (1 − ε)·b·ℓ₋ + ε·b·ℓ₊ = ℓ₊  ⇒  a = (1 − ε)/(1 − 2ε), b = −ε/(1 − 2ε), so
        loss = ((1 − ε)·(−log σ(z)) − ε·(−log σ(−z))) / (1 − 2ε).
    ε = 0 is DPO. Unlike cDPO it can go negative (it is an unbiased estimate, not a likelihood).
    """
    if not 0.0 <= epsilon < 0.5:
        raise ValueError(f"rDPO needs a flip rate 0 <= epsilon < 0.5, got {epsilon}")
    z = beta * ((policy_chosen - policy_rejected) - (ref_chosen - ref_rejected))  # (B,)
    return ((1.0 - epsilon) * -F.logsigmoid(z) - epsilon * -F.logsigmoid(-z)) / (1.0 - 2.0 * epsilon)


def conservative_dpo_loss(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor,
                          beta: float, epsilon: Tensor | float) -> Tensor:
    """cDPO (Mitchell 2023, "A note on DPO with noisy preferences"), per example (B,); TRL's DPO "sigmoid" loss
    with label_smoothing ε (TRL ≤ 0.x).

    If a label is wrong with probability ε, the pair's label distribution is (1 − ε, ε) and the Bradley–Terry
    cross-entropy against it is, with z = β·(ℓθ − ℓref),
        loss = −(1 − ε)·log σ(z) − ε·log σ(−z),   minimised at σ(z) = 1 − ε (a finite margin, unlike DPO).
    `epsilon` is a constant (the recipe's flip rate) or a (B,) tensor (ε = 1 − p from the panel probability:
    `losses.dpo_loss` with soft labels is this case).
    """
    z = beta * ((policy_chosen - policy_rejected) - (ref_chosen - ref_rejected))  # (B,)
    return -(1.0 - epsilon) * F.logsigmoid(z) - epsilon * F.logsigmoid(-z)


def egpo_loss(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor,
              beta: float, prob: Tensor | None = None) -> Tensor:
    """EGPO's per-pair objective (Zhou, Fazel, Du 2025; zhourunlong/EGPO lms/trainers/extragradient_trainer.py
    `_compute_losses`), per example (B,): the online IPO loss whose gradient both extragradient steps take.

    The regularised game max_π min_π′ P(π ≻ π′) − β·KL(π‖π_ref) + β·KL(π′‖π_ref) has the equilibrium
    log π*/π_ref(y) = P(y ≻ π*)/β + c. For two samples y, y′ of one prompt and a third y″ of the opponent,
    h := ℓθ − ℓref should equal (P(y ≻ y″) − P(y′ ≻ y″))/β; the release regresses that by least squares:
        loss = (ℓθ − ℓref − (P(y ≻ y″) − P(y′ ≻ y″))/β)².
    Its variance-reduced form (`can_reduce_variance`: y″ dropped, the pair judged directly) uses the
    preferences (P(y ≻ y′), ½), i.e. the target (p − ½)/β with p = `prob` (B,); hard labels take p = 1.
    The extragradient itself (a half-step, then the step from π_t with the half-step's samples) is the loop's.
    """
    target = (1.0 if prob is None else prob) - 0.5
    h = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)  # (B,)
    return (h - target / beta) ** 2


def nash_md_loss(policy_tokens: Tensor, ref_tokens: Tensor, score: Tensor, beta: float) -> Tensor:
    """Nash-MD's policy-gradient loss (Munos et al. 2023; TRL's NashMDTrainer `_compute_losses`), per example (B,).

    The policy π plays the geometric mixture π^μ ∝ π^{1−m}·π_ref^{m}; for a policy sample y against a mixture
    sample y′ the reward is the preference probability s = P(y ≻ y′) and the KL to π_ref is the penalty:
        J(θ) = E_{y∼π}[s(y) − ½] − β·KL(π‖π_ref).
    REINFORCE with ½ as control variate and the per-token score-function estimate of the KL gradient gives
        loss = β·Σ_t sg(log π(y_t) − log π_ref(y_t))·log π(y_t) − (s − ½)·Σ_t log π(y_t),
    sg = stop-gradient. Shapes: policy_tokens, ref_tokens (B, T) per-token log-probs of the policy's sample
    (0 at padding), score (B,). With sequence log-probs only, pass (B, 1) tensors: the sequence-level estimator
    β·sg(log π/π_ref(y))·log π(y), whose gradient is stationary where log π/π_ref(y) = (s − ½)/β.
    """
    log_ratio = (policy_tokens - ref_tokens).detach()  # (B, T)
    kl_term = (log_ratio * policy_tokens).sum(dim=1)  # (B,)
    return beta * kl_term - (score - 0.5) * policy_tokens.sum(dim=1)


def xpo_loss(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor,
             w_chosen: Tensor, w_rejected: Tensor, beta: float, alpha: float) -> Tensor:
    """XPO (Xie et al. 2024, "Exploratory preference optimization"; TRL's XPOTrainer `_compute_losses`), (B,).

    Each pair is a policy sample against a reference sample, labelled by the judge. DPO on the pair, plus the
    exploration bonus of the paper's optimism: minimising α·log π(y_ref) lowers the likelihood of what the
    reference would say, pushing mass toward responses the data has not covered:
        loss = −log σ(β·(ℓθ − ℓref)) + α·log π(y_ref).
    y_ref is chosen or rejected per pair: `w_chosen`, `w_rejected` (B,) weigh log π(y_w) and log π(y_l) by
    whether each is the reference's sample (1/0; ½ each when both are, as at t = 1 where π_t = π_ref).
    """
    policy_ref_sample = w_chosen * policy_chosen + w_rejected * policy_rejected  # (B,)
    return dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) + alpha * policy_ref_sample


def spin_loss(policy_real: Tensor, policy_generated: Tensor, opp_real: Tensor, opp_generated: Tensor,
              beta: float) -> Tensor:
    """SPIN (Chen et al. 2024, "Self-play fine-tuning"; uclaml/SPIN spin/alignment/trainer.py `spin_loss`), (B,).

    The main player tells the demonstration y (real) from the opponent's own sample y′ (generated), the opponent
    being the previous iterate π_t; with the logistic loss and the KL-regularised closed form of the new player
    this is DPO with the demonstration always chosen and π_t as the reference:
        loss = −log σ(β·(log π(y)/π_t(y) − log π(y′)/π_t(y′))).
    Its fixed point is π_t = the data distribution (no response beats a demonstration any more).
    """
    return dpo_loss(policy_real, policy_generated, opp_real, opp_generated, beta)


def dno_loss(policy_chosen: Tensor, policy_rejected: Tensor, base_chosen: Tensor, base_rejected: Tensor,
             beta: float) -> Tensor:
    """DNO (Rosset et al. 2024, "Direct Nash optimization", the practical DNO-Prct), per example (B,).

    Each iteration solves π_{t+1} ∝ π_t·exp(r_t/β) for the win-rate reward of π_t's own samples, by DPO with the
    last iterate π_t in the reference's place, on pairs whose preference margin is large (the loop's pair
    filter, `min_prob`):   loss = −log σ(β·(ℓθ − ℓt)).
    """
    return dpo_loss(policy_chosen, policy_rejected, base_chosen, base_rejected, beta)


def apo_loss(policy_chosen: Tensor, policy_rejected: Tensor, opp_chosen: Tensor, opp_rejected: Tensor,
             weights: Tensor, beta: float) -> Tensor:
    """APO (He, Yuan, Gu 2024, "Accelerated preference optimization"), per example (B,): DPO against the
    Nesterov-extrapolated anchor.

    Iterative DPO against π_t has the closed form π_{t+1} ∝ π_t·exp(r/β). APO replaces π_t by the extrapolation
    (1 + α)·log π_t − α·log π_{t−1} (momentum α in log space), so with opponents (π_t, π_{t−1}) and weights
    w = (1 + α, −α) (negative weights allowed; they sum to 1):
        loss = −log σ(β·(ℓθ − Σ_j w_j·ℓj)).
    Shapes: policy_* (B,), opp_* (n, B), weights (n,). A single opponent (t = 1) is plain DPO against it.
    """
    w = weights.to(policy_chosen.dtype) / weights.sum()  # (n,)
    anchor = (w[:, None] * (opp_chosen - opp_rejected)).sum(dim=0)  # (B,)
    return -F.logsigmoid(beta * ((policy_chosen - policy_rejected) - anchor))


def spo_loss(policy_chosen: Tensor, policy_rejected: Tensor, base_chosen: Tensor, base_rejected: Tensor,
             prob: Tensor, clip: float) -> Tensor:
    """SPO (Swamy et al. 2024, "A minimaximalist approach to RLHF"), per example (B,), in the closest form this
    loop allows.

    SPO's reward for a sample y of π_t is its win rate against π_t's other samples; with two samples per pair it
    is p = P(y_w ≻ y_l) for y_w and 1 − p for y_l, advantages A = ±(p − ½) after the ½ baseline. The paper runs
    PPO on it; this is PPO's clipped surrogate at the sequence level, ρ = π(y)/π_t(y):
        loss = −Σ_{y ∈ {y_w, y_l}} min(ρ(y)·A(y), clip(ρ(y), 1 − c, 1 + c)·A(y)),   c = `clip`.
    Differs from the paper: sequence-level ratio (not per token), no value function, no KL penalty (SPO has
    none by design), win rate from the panel's pair probability rather than from all K samples.
    """
    advantage = prob - 0.5  # (B,)
    total = 0.0
    for logp, base, a in ((policy_chosen, base_chosen, advantage), (policy_rejected, base_rejected, -advantage)):
        ratio = (logp - base).exp()  # (B,)
        total = total - (ratio * a).minimum(ratio.clamp(1.0 - clip, 1.0 + clip) * a)
    return total


def onpo_loss(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor,
              opp_chosen: Tensor, opp_rejected: Tensor, ratio: float, eta: float,
              prob: Tensor | None = None) -> Tensor:
    """ONPO (Zhang et al. 2025, optimistic online mirror descent for general preferences), per example (B,).

    Optimistic mirror descent plays a predicted policy π′_t (a mirror step from π_t on the previous round's
    data) and updates π_t against it. Each step is INPO's closed form with π′_t's samples and labels:
        log π_{t+1} = r·log π_ref + (1 − r)·log π_t + P(y ≻ π′_t)/η + c,
    fitted on pairs by least squares with target 1/(2η) (soft: (2p − 1)/(2η)):
        loss = (ℓθ − r·ℓref − (1 − r)·ℓt − target)²,
    `opp_*` (B,) being π_t's log-probs. The optimism lives in which samples the loop labels (π′_t's).
    """
    return inpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, opp_chosen, opp_rejected, ratio, eta,
                     prob)
