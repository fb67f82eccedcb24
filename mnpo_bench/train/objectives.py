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
from mnpo_bench.train import losses

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

    def averaged(self, average: bool) -> "PairLogps":
        """These log-probs divided by the response lengths when `average`, else unchanged."""
        if not average:
            return self
        c, r = self.chosen_tokens.clamp(min=1), self.rejected_tokens.clamp(min=1)
        return PairLogps(self.policy_chosen / c, self.policy_rejected / r, self.ref_chosen / c, self.ref_rejected / r,
                         self.opp_chosen / c, self.opp_rejected / r, self.chosen_tokens, self.rejected_tokens,
                         self.prob, self.opp_weights)


@dataclass(frozen=True)
class Objective:
    """A per-example loss over PairLogps; `opponents` says whether it needs an opponent population."""

    fn: Callable[[PairLogps, LossSettings], Tensor]
    opponents: bool

    def __call__(self, batch: PairLogps, cfg: LossSettings) -> Tensor:
        """Per-example losses, shape (B,)."""
        return self.fn(batch, cfg)


def _soft(b: PairLogps, cfg: LossSettings) -> Tensor | None:
    """The panel probabilities (B,) when the recipe asks for soft labels, else None (hard labels)."""
    return b.prob if cfg.soft_labels else None


def _mnpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses.mnpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, b.opp_chosen,
                            b.opp_rejected, b.opp_weights, cfg.ratio, cfg.eta, _soft(b, cfg))


def _inpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    if b.opp_chosen.shape[0] != 1:
        raise ValueError(f"INPO plays exactly one opponent, got {b.opp_chosen.shape[0]}")
    return losses.inpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, b.opp_chosen[0],
                            b.opp_rejected[0], cfg.ratio, cfg.eta, _soft(b, cfg))


def _dpo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses.dpo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, cfg.beta, _soft(b, cfg))


def _ipo(b: PairLogps, cfg: LossSettings) -> Tensor:
    b = b.averaged(cfg.average_logps)
    return losses.ipo_loss(b.policy_chosen, b.policy_rejected, b.ref_chosen, b.ref_rejected, cfg.beta, _soft(b, cfg))


def _simpo(b: PairLogps, cfg: LossSettings) -> Tensor:  # always length-normalised, by definition
    return losses.simpo_loss(b.policy_chosen, b.policy_rejected, b.chosen_tokens.to(b.policy_chosen.dtype),
                             b.rejected_tokens.to(b.policy_chosen.dtype), cfg.beta, cfg.gamma)


def _sppo(b: PairLogps, cfg: LossSettings) -> Tensor:  # the base policy is the most recent iterate
    b = b.averaged(cfg.average_logps)
    return losses.sppo_loss(b.policy_chosen, b.policy_rejected, b.opp_chosen[0], b.opp_rejected[0], b.prob, cfg.eta)


MNPO = Objective(_mnpo, opponents=True)
INPO = Objective(_inpo, opponents=True)
DPO = Objective(_dpo, opponents=False)
IPO = Objective(_ipo, opponents=False)
SIMPO = Objective(_simpo, opponents=False)
SPPO = Objective(_sppo, opponents=True)

OBJECTIVES: Registry[Objective] = Registry("loss")
for _name in ("mnpo", "inpo", "dpo", "ipo", "simpo", "sppo"):
    OBJECTIVES.add(_name, f"mnpo_bench.train.objectives:{_name.upper()}")


def masked_mean(per_example: Tensor, valid: Tensor) -> Tensor:
    """Mean of `per_example` (B,) over the `valid` (B,) entries; 0 (with a graph) when none is valid."""
    kept = torch.where(valid, per_example, torch.zeros_like(per_example))
    return kept.sum() / valid.sum().clamp(min=1)
