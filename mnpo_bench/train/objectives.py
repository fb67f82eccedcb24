"""Losses chosen by name: each entry adapts one function of `losses.py` to a batch of `PairLogps`.

The registry holds small functions, one per loss, so adding ONPO or EGPO is one function and one
`OBJECTIVES.add` line, never a branch in a shared if-chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from mnpo_bench.registry import Registry
from mnpo_bench.train import losses, losses_nash

if TYPE_CHECKING:  # recipes validates loss names against OBJECTIVES: a runtime import back would be a cycle
    from mnpo_bench.train.recipes import LossSettings


@dataclass
class PairLogps:
    """Summed sequence log-probs (nats) of one batch of B preference pairs, for every player involved."""

    policy_chosen: Tensor  # (B,) with grad
    policy_rejected: Tensor  # (B,) with grad
    ref_chosen: Tensor  # (B,)
    ref_rejected: Tensor  # (B,)
    opp_chosen: Tensor  # (n, B); n = 0 without opponents
    opp_rejected: Tensor  # (n, B)
    chosen_tokens: Tensor  # (B,) response lengths in tokens
    rejected_tokens: Tensor  # (B,)
    prob: Tensor  # (B,) panel probability that chosen beats rejected
    opp_weights: Tensor | None = None  # (n,) or None for uniform
    other: Tensor | None = None  # (B, 2): 1 where chosen / rejected came from the method's other sampler
    win_rates: Tensor | None = None  # (B, 2): chosen's and rejected's mean win rate against the prompt's K samples

    def averaged(self, average: bool) -> "PairLogps":
        """These log-probs divided by the response lengths when `average`, else unchanged."""
        if not average:
            return self
        c, r = self.chosen_tokens.clamp(min=1), self.rejected_tokens.clamp(min=1)
        return PairLogps(self.policy_chosen / c, self.policy_rejected / r, self.ref_chosen / c, self.ref_rejected / r,
                         self.opp_chosen / c, self.opp_rejected / r, self.chosen_tokens, self.rejected_tokens,
                         self.prob, self.opp_weights, self.other, self.win_rates)


@dataclass(frozen=True)
class Objective:
    """A per-example loss over PairLogps; `opponents` says whether it needs an opponent population,
    `win_rates` whether its pairs need each response's win rate against the prompt's samples."""

    fn: Callable[[PairLogps, LossSettings], Tensor]
    opponents: bool
    win_rates: bool = False

    def __call__(self, batch: PairLogps, cfg: LossSettings) -> Tensor:
        """Per-example losses, shape (B,)."""
        return self.fn(batch, cfg)


def _soft(b: PairLogps, cfg: LossSettings) -> Tensor | None:
    """The panel probabilities (B,) when the recipe asks for soft labels, else None (hard labels)."""
    return b.prob if cfg.soft_labels else None


def _mnpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses.mnpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, b.opp_chosen,
                            b.opp_rejected, b.opp_weights, cfg.ratio, cfg.beta, _soft(b, cfg))


def _inpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    if b.opp_chosen.shape[0] != 1:
        raise ValueError(f"INPO plays exactly one opponent, got {b.opp_chosen.shape[0]}")
    return losses.inpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, b.opp_chosen[0],
                            b.opp_rejected[0], cfg.ratio, cfg.beta, _soft(b, cfg))


def _dpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses.dpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, cfg.beta, _soft(b, cfg))


def _ipo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses.ipo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, cfg.beta, _soft(b, cfg))


def _simpo(b: PairLogps, cfg: LossSettings) -> Tensor:  # always length-normalised, by definition
    return losses.simpo_loss(b.policy_chosen, b.policy_rejected, b.chosen_tokens.to(b.policy_chosen.dtype),
                             b.rejected_tokens.to(b.policy_chosen.dtype), cfg.beta, cfg.margin)


def _sppo(b: PairLogps, cfg: LossSettings) -> Tensor:  # the base policy is the most recent iterate
    b = b.averaged(cfg.average_logps)
    if b.win_rates is None:
        raise ValueError("the sppo loss needs each response's win rate (pairs from data.add_win_rates)")
    return losses.sppo_loss(b.policy_chosen, b.policy_rejected, b.opp_chosen[0], b.opp_rejected[0],
                            b.win_rates[:, 0], b.win_rates[:, 1], cfg.beta)


def _sppo_pair(b: PairLogps, cfg: LossSettings) -> Tensor:  # step size η = 1/β on the pair's probability
    b = b.averaged(cfg.average_logps)
    return losses.sppo_pair_loss(b.policy_chosen, b.policy_rejected, b.opp_chosen[0], b.opp_rejected[0], b.prob,
                                 1.0 / cfg.beta)


def _side_weights(b: PairLogps, other: bool) -> tuple[Tensor, Tensor]:
    """Per-pair weights (B,), (B,) of chosen and rejected as a sample of the other sampler (`other`) or of the
    policy: the sampler tags normalised to sum to 1 per pair (0 when no side qualifies); ½ each when untagged
    (the loop did not say, or at t = 1 where every sample is the reference's, the policy's and the mixture's)."""
    if b.other is None:
        half = torch.full_like(b.prob, 0.5)
        return half, half
    tags = b.other.to(b.prob.dtype) if other else 1.0 - b.other.to(b.prob.dtype)  # (B, 2)
    tags = tags / tags.sum(dim=1, keepdim=True).clamp(min=1.0)
    return tags[:, 0], tags[:, 1]


def _rdpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses_nash.robust_dpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, cfg.beta,
                                       cfg.epsilon)


def _cdpo(b: PairLogps, cfg: LossSettings) -> Tensor:  # ε from the panel (1 − p) with soft labels, else the recipe's
    b = b.averaged(cfg.average_logps)
    epsilon = 1.0 - b.prob if cfg.soft_labels else cfg.epsilon
    return losses_nash.conservative_dpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected,
                                             cfg.beta, epsilon)


def _egpo(b: PairLogps, cfg: LossSettings) -> Tensor:  # online IPO against the reference; p when soft
    b = b.averaged(cfg.average_logps)
    return losses_nash.egpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, cfg.beta,
                                 _soft(b, cfg))


def _nash_md(b: PairLogps, cfg: LossSettings) -> Tensor:
    """Each side that is the policy's sample (not the mixture's) is scored by its win probability."""
    b = b.averaged(cfg.average_logps)
    wc, wr = _side_weights(b, other=False)
    chosen = losses_nash.nash_md_loss(b.policy_chosen[:, None], b.ref_chosen[:, None], b.prob, cfg.beta)
    rejected = losses_nash.nash_md_loss(b.policy_rejected[:, None], b.ref_rejected[:, None], 1.0 - b.prob, cfg.beta)
    return wc * chosen + wr * rejected


def _xpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    wc, wr = _side_weights(b, other=True)
    return losses_nash.xpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, wc, wr, cfg.beta,
                                cfg.alpha)


def _against_last(b: PairLogps) -> tuple[Tensor, Tensor]:
    """The most recent opponent's log-probs (B,), (B,): π_t for SPIN, DNO, SPO and ONPO."""
    return b.opp_chosen[0], b.opp_rejected[0]


def _spin(b: PairLogps, cfg: LossSettings) -> Tensor:  # chosen = the demonstration, rejected = π_t's sample
    b = b.averaged(cfg.average_logps)
    return losses_nash.spin_loss(b.policy_chosen, b.policy_rejected, *_against_last(b), cfg.beta)


def _dno(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses_nash.dno_loss(b.policy_chosen, b.policy_rejected, *_against_last(b), cfg.beta)


def _apo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    n = b.opp_chosen.shape[0]
    weights = b.opp_weights if b.opp_weights is not None else torch.full((n,), 1.0 / n, dtype=b.prob.dtype)
    return losses_nash.apo_loss(b.policy_chosen, b.policy_rejected, b.opp_chosen, b.opp_rejected,
                                weights.to(b.prob.device), cfg.beta)


def _spo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses_nash.spo_loss(b.policy_chosen, b.policy_rejected, *_against_last(b), b.prob, cfg.clip)


def _onpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses_nash.onpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected,
                                 *_against_last(b), cfg.ratio, cfg.beta, _soft(b, cfg))


MNPO = Objective(_mnpo, opponents=True)
INPO = Objective(_inpo, opponents=True)
DPO = Objective(_dpo, opponents=False)
IPO = Objective(_ipo, opponents=False)
SIMPO = Objective(_simpo, opponents=False)
SPPO = Objective(_sppo, opponents=True, win_rates=True)
SPPO_PAIR = Objective(_sppo_pair, opponents=True)
RDPO = Objective(_rdpo, opponents=False)
CDPO = Objective(_cdpo, opponents=False)
EGPO = Objective(_egpo, opponents=False)
NASH_MD = Objective(_nash_md, opponents=False)
XPO = Objective(_xpo, opponents=False)
SPIN = Objective(_spin, opponents=True)
DNO = Objective(_dno, opponents=True)
APO = Objective(_apo, opponents=True)
SPO = Objective(_spo, opponents=True)
ONPO = Objective(_onpo, opponents=True)

LOSS_NAMES = ("mnpo", "inpo", "dpo", "ipo", "simpo", "sppo", "sppo_pair", "rdpo", "cdpo", "egpo", "nash_md", "xpo",
              "spin", "dno", "apo", "spo", "onpo")
OBJECTIVES: Registry[Objective] = Registry("loss")
for _name in LOSS_NAMES:
    OBJECTIVES.add(_name, f"mnpo_bench.train.objectives:{_name.upper()}")


def masked_mean(per_example: Tensor, valid: Tensor) -> Tensor:
    """Mean of `per_example` (B,) over the `valid` (B,) entries; 0 (with a graph) when none is valid."""
    kept = torch.where(valid, per_example, torch.zeros_like(per_example))
    return kept.sum() / valid.sum().clamp(min=1)
