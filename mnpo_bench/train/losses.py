"""Preference losses over per-sequence log-probabilities.

Every function takes tensors of shape (B,) (one entry per preference pair: `*_chosen` is log π(y_w|x),
`*_rejected` is log π(y_l|x), in nats, summed or length-averaged over the response tokens) and returns the
per-example losses, shape (B,). Reduction, masking of skipped examples and the choice of loss by name live
in `objectives.py`; these functions are the mathematics only.

Notation used in the derivations: for a policy π and a pair (y_w, y_l) of one prompt x,
    ℓπ = log π(y_w|x) − log π(y_l|x)          (the policy's log-ratio margin)
and θ is the policy being trained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def normalise_weights(weights: Tensor | None, n: int, like: Tensor) -> Tensor:
    """Opponent weights as a (n,) tensor summing to 1 (uniform 1/n when `weights` is None)."""
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    weights = torch.as_tensor(weights, dtype=like.dtype, device=like.device)
    if weights.shape != (n,):
        raise ValueError(f"expected {n} opponent weights, got shape {tuple(weights.shape)}")
    if bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise ValueError("opponent weights must be non-negative with a positive sum")
    return weights / weights.sum()


def soft_target(prob: Tensor | None, hard: float) -> Tensor | float:
    """The regression target of the squared-error losses: `hard` (a certain label), or hard·(2p − 1) (B,)
    for the panel probabilities `prob` (B,) (p = 1 gives `hard`, p = 1/2 gives 0)."""
    return hard if prob is None else hard * (2.0 * prob - 1.0)


def mnpo_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    ref_chosen: Tensor,
    ref_rejected: Tensor,
    opp_chosen: Tensor,
    opp_rejected: Tensor,
    weights: Tensor | None,
    ratio: float,
    eta: float,
    prob: Tensor | None = None,
) -> Tensor:
    """Multiplayer Nash preference optimisation, per example, shape (B,).

    Each player best-responds to the population with a KL penalty of strength η toward the geometric mixture
        μ(y) ∝ π_ref(y)^r · Π_j π_j(y)^{(1−r)·w_j}      (r = `ratio`, w_j normalised to sum to 1):
        max_π  E_{y∼π} P(y ≻ pop) − η·KL(π ‖ μ)   ⇒   π*(y) ∝ μ(y)·exp(P(y ≻ pop)/η).
    The normaliser cancels in a log-ratio, so for any pair
        h(y, y') := ℓθ − r·ℓref − (1 − r)·Σ_j w_j·ℓj = (P(y ≻ pop) − P(y' ≻ pop))/η.
    As in IPO, this target is fitted by least squares on a preference sample I(y ≻ y') − 1/2, whose
    expectation given (y, y') is P(y ≻ y') − 1/2; for a labelled pair (I = 1) the target is 1/(2η):
        loss = (ℓθ − r·ℓref − (1 − r)·Σ_j w_j·ℓj − 1/(2η))².

    Soft labels (`prob` given, the panel probability p (B,) that chosen beats rejected): the regression
    target is the expectation itself, (p − 1/2)/η = (2p − 1)/(2η), so a 0.55 verdict asks for a tenth of the
    margin a certain one does.

    Shapes: policy_*, ref_* (B,); opp_* (n, B); weights (n,) or None (uniform).
    With n = 1 this is `inpo_loss`; with r = 1 it is `ipo_loss` with τ = η.
    """
    w = normalise_weights(weights, opp_chosen.shape[0], policy_chosen)  # (n,)
    margin = policy_chosen - policy_rejected  # (B,)
    margin_ref = ref_chosen - ref_rejected  # (B,)
    margin_opp = (w[:, None] * (opp_chosen - opp_rejected)).sum(dim=0)  # (n, B) -> (B,)
    h = margin - ratio * margin_ref - (1.0 - ratio) * margin_opp
    return (h - soft_target(prob, 1.0 / (2.0 * eta))) ** 2


def inpo_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    ref_chosen: Tensor,
    ref_rejected: Tensor,
    opp_chosen: Tensor,
    opp_rejected: Tensor,
    ratio: float,
    eta: float,
    prob: Tensor | None = None,
) -> Tensor:
    """Iterative Nash policy optimisation (Zhang et al. 2024), per example, shape (B,).

    INPO's online mirror descent against the last iterate π_t, regularised toward π_ref with weight τ/η =
    `ratio`, has the closed-form target
        ℓθ − r·ℓref − (1 − r)·ℓt = 1/(2η)
    for a pair labelled y_w ≻ y_l, fitted by squared error:
        loss = (ℓθ − r·ℓref − (1 − r)·ℓt − 1/(2η))².
    Shapes: every argument (B,); `opp_*` are the log-probs of the single opponent π_t.
    It is `mnpo_loss` with one opponent (weight 1), soft labels included.
    """
    margin = policy_chosen - policy_rejected  # (B,)
    h = margin - ratio * (ref_chosen - ref_rejected) - (1.0 - ratio) * (opp_chosen - opp_rejected)
    return (h - soft_target(prob, 1.0 / (2.0 * eta))) ** 2


def dpo_loss(
    policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor, beta: float,
    prob: Tensor | None = None,
) -> Tensor:
    """Direct preference optimisation (Rafailov et al. 2023), per example, shape (B,).

    Under a Bradley–Terry model the KL-regularised optimum satisfies r(x, y) = β·log π(y|x)/π_ref(y|x) + c(x),
    so P(y_w ≻ y_l) = σ(β·(ℓθ − ℓref)); the loss is that pair's negative log-likelihood:
        loss = −log σ(β·(ℓθ − ℓref)).
    At θ = ref the margin is 0 and the loss is log 2.
    Soft labels (`prob` = p (B,)): conservative DPO (Mitchell 2023; TRL's label_smoothing ε) with the flip
    probability taken from the panel, ε = 1 − p: the cross-entropy against the label distribution (p, 1 − p),
        loss = −p·log σ(z) − (1 − p)·log σ(−z),   z = β·(ℓθ − ℓref),
    minimised at σ(z) = p.
    """
    logits = beta * ((policy_chosen - policy_rejected) - (ref_chosen - ref_rejected))  # (B,)
    if prob is None:
        return -F.logsigmoid(logits)
    return -prob * F.logsigmoid(logits) - (1.0 - prob) * F.logsigmoid(-logits)


def ipo_loss(
    policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor, tau: float,
    prob: Tensor | None = None,
) -> Tensor:
    """Identity preference optimisation (Azar et al. 2023), per example, shape (B,).

    ΨPO with Ψ = identity and a hard preference label: the optimum has log-ratio margin
    h = ℓθ − ℓref = 1/(2τ), fitted by squared error:
        loss = (ℓθ − ℓref − 1/(2τ))².
    At θ = ref the loss is 1/(4τ²). Soft labels (`prob` = p (B,)): ΨPO's target is E[I] − 1/2 = p − 1/2
    over τ, i.e. (2p − 1)/(2τ).
    """
    h = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)  # (B,)
    return (h - soft_target(prob, 1.0 / (2.0 * tau))) ** 2


def simpo_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    chosen_tokens: Tensor,
    rejected_tokens: Tensor,
    beta: float,
    margin: float,
) -> Tensor:
    """Simple preference optimisation (Meng et al. 2024), per example, shape (B,); reference-free.

    The implicit reward is the length-normalised log-likelihood r(y) = β/|y|·log π(y|x), and Bradley–Terry
    with a target reward margin γ = β·`margin` gives (the release's `gamma_beta_ratio` is `margin`)
        loss = −log σ(β·log π(y_w)/|y_w| − β·log π(y_l)/|y_l| − β·margin).
    `policy_*` are SUMMED log-probs and `*_tokens` the response lengths |y| in tokens (B,).
    """
    avg_chosen = policy_chosen / chosen_tokens.clamp(min=1)  # (B,)
    avg_rejected = policy_rejected / rejected_tokens.clamp(min=1)  # (B,)
    return -F.logsigmoid(beta * (avg_chosen - avg_rejected) - beta * margin)


def sppo_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    base_chosen: Tensor,
    base_rejected: Tensor,
    win_chosen: Tensor,
    win_rejected: Tensor,
    beta: float,
) -> Tensor:
    """Self-play preference optimisation (Wu et al. 2024) as its release trains it, per example, shape (B,).

    SPPO's update is π_{t+1}(y) ∝ π_t(y)·exp(η·P(y ≻ π_t)), i.e. log π_{t+1}(y)/π_t(y) = (P(y ≻ π_t) − 1/2)/β
    with β = 1/η, after fixing the normaliser at its value for a policy that ties itself. P(y ≻ π_t) is
    estimated by y's mean win rate against π_t's K samples of the prompt, `win_*` (B,) in [0, 1]
    (`data.add_win_rates`), and each response of the pair is regressed on its own target, averaged over the two
    (uclaml/SPPO sppo/trainer.py, loss_type "sppo"):
        loss = ((log π/π_t(y_w) − (w_w − 1/2)/β)² + (log π/π_t(y_l) − (w_l − 1/2)/β)²) / 2.
    `base_*` are the log-probs of the current iterate π_t (the reference at t = 1).
    """
    chosen = policy_chosen - base_chosen - (win_chosen - 0.5) / beta  # (B,)
    rejected = policy_rejected - base_rejected - (win_rejected - 0.5) / beta  # (B,)
    return (chosen**2 + rejected**2) / 2


def sppo_pair_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    base_chosen: Tensor,
    base_rejected: Tensor,
    prob: Tensor,
    eta: float,
) -> Tensor:
    """SPPO on the pair's own probability (the `sppo_pair` recipe), per example, shape (B,).

    As `sppo_loss`, with P(y_w ≻ π_t) estimated by the panel probability p = `prob` that y_w beats y_l and
    P(y_l ≻ π_t) by 1 − p, and the two squares summed:
        loss = (log π(y_w)/π_t(y_w) − η·(p − 1/2))² + (log π(y_l)/π_t(y_l) − η·(1/2 − p))²,   η = 1/β.
    `base_*` are the log-probs of the current iterate π_t (the reference at t = 1); prob (B,) in [0, 1].
    """
    target = eta * (prob - 0.5)  # (B,)
    chosen = policy_chosen - base_chosen - target
    rejected = policy_rejected - base_rejected + target
    return chosen**2 + rejected**2
