"""Each method's exact population update on a tabular softmax policy over n responses.

A policy is its log-probabilities z (n,), normalised (logsumexp z = 0); s(π) = P π (n,) is the win
probability P(y ≻ π) of every response against π, the signal every loss fits. With infinite pairs from the
sampling policy and full support, each LM loss's least-squares or likelihood optimum is a closed form in z:
the squared losses (INPO, MNPO, EGPO, ONPO, APO, IPO, SPPO) fit h(y) − h(y') = (P(y ≻ y') − ½)/η, whose
solution is h(y) = s(y)/η + const; the logistic ones (DPO, DNO) fit Bradley–Terry scores (Newton, below).
Parameter names and meanings are the recipes' (`LossSettings`): eta, ratio, beta, epsilon (rDPO's flip rate,
cDPO's smoothing); plus the loop's k (MNPO's past iterates), alpha (APO's extrapolation) and margin (DNO's pair
filter). No lab update for SPIN (a preference matrix has no demonstrations) nor XPO (its bonus α·E_ref log π
has no finite optimum over a full-support tabular policy: it drives π(y) → 0 on reference-likely responses;
it is a finite-sample exploration term).

Each update returns (z_{t+1}, opponents): the log-policies whose samples were labelled (the population).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logsumexp, softmax


def normalise(z: np.ndarray) -> np.ndarray:
    """z (n,) shifted so that logsumexp(z) = 0 (a log-policy)."""
    return z - logsumexp(z)


def wins(P: np.ndarray, z: np.ndarray) -> np.ndarray:
    """P(y ≻ π) (n,) for every response y against the policy with log-probs z."""
    return P @ softmax(z)


def bt_scores(P: np.ndarray, weights: np.ndarray, ridge: float = 1e-4) -> np.ndarray:
    """Bradley–Terry scores s (n,) maximising Σ_ij w_ij·P_ij·log σ(s_i − s_j) − ridge·|s|²/2, by Newton.

    `weights` (n, n) is how often each pair is sampled (zero: filtered out); soft labels P_ij are the pair's
    preference probability, so this is the population DPO fit (cDPO's soft-label form). Ridge keeps scores
    of never-sampled responses at 0 instead of ±∞. Concave, so Newton from 0 converges in a few steps.
    """
    n = len(P)
    s = np.zeros(n)
    W = weights * (1 - np.eye(n))
    W = (W + W.T) / 2  # (n, n) unordered pair weight
    for _ in range(50):
        d = s[:, None] - s[None, :]  # (n, n)
        q = expit(d)
        grad = (W * (P - q)).sum(1) - ridge * s
        curv = W * q * (1 - q)
        hess = -(np.diag(curv.sum(1)) - curv) - ridge * np.eye(n)
        step = np.linalg.solve(hess, -grad)
        s = s + step
        if np.abs(step).max() < 1e-10:
            break
    return s - s.mean()


State = dict  # per-run memory of a method (ONPO's last optimistic policy)
Update = Callable[[np.ndarray, np.ndarray, list[np.ndarray], dict, State], tuple[np.ndarray, list[np.ndarray]]]


def _md(anchor: np.ndarray, ref: np.ndarray, signal: np.ndarray, p: dict) -> np.ndarray:
    """INPO/MNPO's fitted target: log π = r·log π_ref + (1 − r)·anchor + signal/η (normalised)."""
    r = p["ratio"]
    return normalise(r * ref + (1 - r) * anchor + signal / p["eta"])


def inpo(P, ref, hist, p, state):
    """INPO: mirror descent from π_t against samples of π_t."""
    z = hist[-1]
    return _md(z, ref, wins(P, z), p), [z]


def mnpo(P, ref, hist, p, state):
    """TD-MNPO: the anchor is the weighted geometric mixture of the last k iterates (the reference is iterate
    0), weights uniform like the recipe's; the labelled samples come from π_t, as in the online loop."""
    pop = list(reversed(hist))[: p["k"]]
    w = np.full(len(pop), 1 / len(pop))
    anchor = sum(wj * zj for wj, zj in zip(w, pop))
    return _md(anchor, ref, wins(P, hist[-1]), p), pop


def egpo(P, ref, hist, p, state):
    """EGPO (extragradient): a half-step π_{t+½} from π_t, then the update from π_t on π_{t+½}'s samples."""
    z = hist[-1]
    half = _md(z, ref, wins(P, z), p)
    return _md(z, ref, wins(P, half), p), [half]


def onpo(P, ref, hist, p, state):
    """ONPO (optimistic mirror descent): an optimistic fit π′_t from π_t on the previous opponent's data, then
    the update from π_t against π′_t."""
    z = hist[-1]
    previous = state.get("prime", z)
    prime = _md(z, ref, wins(P, previous), p)
    state["prime"] = prime
    return _md(z, ref, wins(P, prime), p), [prime]


def apo(P, ref, hist, p, state):
    """APO: INPO's update from the extrapolated anchor (1 + α)·log π_t − α·log π_{t−1} (Nesterov momentum)."""
    z, before = hist[-1], hist[-2] if len(hist) > 1 else hist[-1]
    anchor = (1 + p["alpha"]) * z - p["alpha"] * before
    return _md(anchor, ref, wins(P, z), p), [z]


def _nash_md_step(z: np.ndarray, ref: np.ndarray, signal: np.ndarray, p: dict) -> np.ndarray:
    """argmax_π η·⟨π, signal⟩ − ηβ·KL(π‖π_ref) − KL(π‖π_t): log π = (z + ηβ·log π_ref + η·signal)/(1 + ηβ)."""
    m = p["eta"] * p["beta"]
    return normalise((z + m * ref + p["eta"] * signal) / (1 + m))


def nash_md(P, ref, hist, p, state):
    """Nash-MD: play the geometric mixture π^μ ∝ π_t^{1−ηβ}·π_ref^{ηβ}; π_{t+1} ∝ π^μ·exp(η·P(y ≻ π^μ))."""
    m = p["eta"] * p["beta"]
    mix = normalise((1 - m) * hist[-1] + m * ref)
    return normalise(mix + p["eta"] * wins(P, mix)), [mix]


def nash_mp(P, ref, hist, p, state):
    """Nash-MP (mirror prox): a regularised mirror step to π_{t+½} against π_t, then from π_t against π_{t+½}."""
    z = hist[-1]
    half = _nash_md_step(z, ref, wins(P, z), p)
    return _nash_md_step(z, ref, wins(P, half), p), [half]


def sppo(P, ref, hist, p, state):
    """SPPO: log π_{t+1}/π_t = η·(P(y ≻ π_t) − ½) (multiplicative weights, no pull to the reference)."""
    z = hist[-1]
    return normalise(z + p["eta"] * (wins(P, z) - 0.5)), [z]


def spo(P, ref, hist, p, state):
    """SPO: a softmax policy-gradient step with reward P(y ≻ π_t), the win rate against its own samples:
    z += η·π_t ⊙ (r − ⟨π_t, r⟩)."""
    z = hist[-1]
    pi, r = softmax(z), wins(P, z)
    return normalise(z + p["eta"] * pi * (r - pi @ r)), [z]


def dno(P, ref, hist, p, state):
    """DNO: DPO against π_t on π_t's pairs whose preference margin |P − ½| ≥ `margin`: π_{t+1} ∝ π_t·exp(s/β)."""
    z = hist[-1]
    pi = softmax(z)
    keep = np.abs(P - 0.5) >= p["margin"]
    return normalise(z + bt_scores(P, np.outer(pi, pi) * keep) / p["beta"]), [z]


def dpo(P, ref, hist, p, state):
    """DPO (offline, pairs from π_ref): π ∝ π_ref·exp(s_BT/β); every iteration refits the same data."""
    pi = softmax(ref)
    return normalise(ref + bt_scores(P, np.outer(pi, pi)) / p["beta"]), [ref]


def ipo(P, ref, hist, p, state):
    """IPO (offline, pairs from π_ref): log π/π_ref = P(y ≻ π_ref)/τ + const, τ = `beta`."""
    return normalise(ref + wins(P, ref) / p["beta"]), [ref]


def rdpo(P, ref, hist, p, state):
    """rDPO (offline): its loss is unbiased for the clean BT loss, whose labels de-noise the observed ones,
    P_clean = (P − ε)/(1 − 2ε); clipped to [0, 1] (beyond, the population objective has no optimum)."""
    pi = softmax(ref)
    clean = np.clip((P - p["epsilon"]) / (1 - 2 * p["epsilon"]), 0.0, 1.0)
    return normalise(ref + bt_scores(clean, np.outer(pi, pi)) / p["beta"]), [ref]


def cdpo(P, ref, hist, p, state):
    """cDPO with a constant ε (offline): BT on the majority label smoothed to (1 − ε, ε). (The shipped recipe
    uses the panel's own probability as the label, which is the lab's `dpo`.)"""
    pi = softmax(ref)
    hard = np.where(P > 0.5, 1.0, np.where(P < 0.5, 0.0, 0.5))
    return normalise(ref + bt_scores((1 - p["epsilon"]) * hard + p["epsilon"] * (1 - hard), np.outer(pi, pi))
                     / p["beta"]), [ref]


@dataclass(frozen=True)
class LabMethod:
    """A method's update, its lab defaults, and the KL strength τ of its fixed point (None: unregularised)."""

    update: Update
    defaults: dict = field(default_factory=dict)
    tau: Callable[[dict], float | None] = lambda p: None


def _rho(p: dict) -> float | None:
    return p["ratio"] * p["eta"] if p["ratio"] > 0 else None


def _beta(p: dict) -> float | None:
    return p["beta"] if p["beta"] > 0 else None


_MD = {"eta": 2.0, "ratio": 0.03}  # τ = ratio·eta = 0.06; step 1/eta small enough to contract
METHODS: dict[str, LabMethod] = {
    "inpo": LabMethod(inpo, dict(_MD), _rho),
    "mnpo": LabMethod(mnpo, {**_MD, "k": 2}, _rho),
    "egpo": LabMethod(egpo, dict(_MD), _rho),
    "onpo": LabMethod(onpo, dict(_MD), _rho),
    "apo": LabMethod(apo, {**_MD, "alpha": 0.3}, _rho),
    "nash_md": LabMethod(nash_md, {"eta": 1.0, "beta": 0.05}, _beta),
    "nash_mp": LabMethod(nash_mp, {"eta": 2.0, "beta": 0.05}, _beta),
    "sppo": LabMethod(sppo, {"eta": 1.0}),
    "spo": LabMethod(spo, {"eta": 1.0}),
    "dno": LabMethod(dno, {"beta": 1.0, "margin": 0.0}),
    "dpo": LabMethod(dpo, {"beta": 0.1}),
    "ipo": LabMethod(ipo, {"beta": 0.1}),
    "rdpo": LabMethod(rdpo, {"beta": 0.1, "epsilon": 0.1}),
    "cdpo": LabMethod(cdpo, {"beta": 0.1, "epsilon": 0.1}),
}
