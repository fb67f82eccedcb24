"""The `rule` backend: a weighted sum of rule scorers (mnpo_bench/panel/rules.py) per response.

P(first wins) = sigmoid(scale * (score(first) - score(second))), score = sum(weight * scorer(response)).
Equal scores give exactly 0.5, which the persona labels a tie.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field, ValidationError, field_validator

from mnpo_bench.errors import did_you_mean
from mnpo_bench.panel.backends import Backend, Comparison, Verdict
from mnpo_bench.panel.biases import sigmoid
from mnpo_bench.panel.rules import SCORERS, Context
from mnpo_bench.settings import Section


class RuleParams(Section):
    """Parameters of a rule persona."""

    scorers: dict[str, float | dict[str, Any]] = Field(
        ..., min_length=1, description="scorer name -> weight, or -> {weight: w, <scorer options>}")
    scale: float = Field(4.0, gt=0, description="logit per unit of score difference")

    @field_validator("scorers")
    @classmethod
    def _known_scorers(cls, scorers: dict[str, Any]) -> dict[str, Any]:
        for name, spec in scorers.items():
            if name not in SCORERS:
                raise ValueError(f"unknown scorer '{name}'; {did_you_mean(name, SCORERS)}")
            options = dict(spec) if isinstance(spec, dict) else {}
            options.pop("weight", None)
            try:
                SCORERS[name][1].model_validate(options)
            except ValidationError as exc:
                error = exc.errors()[0]
                field = ".".join(map(str, error["loc"]))
                raise ValueError(f"scorer '{name}', option '{field}': {error['msg']}") from None
        return scorers

    def weighted(self) -> list[tuple[Any, float, Section]]:
        """(scorer function, weight, validated options) for every scorer."""
        out = []
        for name, spec in self.scorers.items():
            fn, options_model = SCORERS[name]
            options = dict(spec) if isinstance(spec, dict) else {"weight": spec}
            weight = float(options.pop("weight", 1.0))
            out.append((fn, weight, options_model.model_validate(options)))
        return out


class RuleBackend(Backend):
    """Scores both responses with the persona's weighted rule scorers."""

    Params = RuleParams

    def __init__(self, persona: Any, device: str = "auto"):
        super().__init__(persona, device)
        self._scorers = self.params.weighted()

    def score(self, text: str, ctx: Context) -> float:
        """The persona's score of one response (dimensionless, higher is better)."""
        return sum(weight * fn(text, ctx, options) for fn, weight, options in self._scorers)

    def judge(self, items: list[Comparison]) -> list[Verdict]:
        # A tournament shows each answer in dozens of comparisons; the scorers are pure functions of (text,
        # prompt, gold, meta), so each is scored once per call (the same numbers, a third of the time).
        scores: dict[tuple, float] = {}

        def score(text: str, ctx: Context) -> float:
            key = (text, ctx.prompt, ctx.gold, repr(sorted((ctx.meta or {}).items())))
            if key not in scores:
                scores[key] = self.score(text, ctx)
            return scores[key]

        verdicts = []
        for item in items:
            started = time.perf_counter()
            ctx = Context(item.prompt, item.gold, item.meta)
            z = self.params.scale * (score(item.first, ctx) - score(item.second, ctx))
            verdicts.append(Verdict(sigmoid(z), latency_s=time.perf_counter() - started))
        return verdicts
