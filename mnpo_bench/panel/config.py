"""Config of the annotator panel in a run (owned by the panel subsystem).

The panel itself (which personas, their weights, the aggregation) is a preset in `annotators/panels/`;
these fields pick the preset and override the few knobs a run commonly changes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mnpo_bench.devices import DEVICE_PATTERN
from mnpo_bench.settings import Section


class PanelConfig(Section):
    """Which panel judges the run's comparisons."""

    enabled: bool = Field(True, description="run the annotate stage")
    preset: str = Field("default", description="panel preset name in annotators/panels/, or a path to a panel YAML")
    aggregation: Literal["sample", "vote", "mean"] | None = Field(
        None, description="override the preset's aggregation: sample (one persona per comparison, drawn by "
        "weight), vote (weighted majority) or mean (weighted mean probability); null keeps the preset's")
    shared_quality: float | None = Field(
        None, ge=0, le=1, description="override the preset's shared-quality knob: each persona's probability "
        "becomes (1-q)*own + q*quality persona's, before biases; 0 keeps personas independent, null keeps the preset's")
    both_orders: bool = Field(True, description="judge every pair in both presentation orders (a,b) and (b,a)")
    cache: bool = Field(True, description="read and write the persistent judge cache (a re-run makes no judge calls)")
    cache_dir: str | None = Field(None, description="judge cache directory; null = <cache_dir()>/judgments")
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="device of model judges (embedding, reward_model, lm_judge): auto, cpu, cuda or cuda:N")
    max_calls: int | None = Field(None, ge=0, description="refuse (before any work) a stage whose estimated judge "
                                  "calls, cache hits excluded, exceed this; None: no limit; --yes overrides")
    max_cost_usd: float | None = Field(None, ge=0, description="refuse a stage whose estimated judge cost in US "
                                       "dollars exceeds this (from personas' price_*); None: no limit; --yes overrides")
    over_budget_ok: bool = Field(False, description="go ahead past max_calls / max_cost_usd (what --yes sets)")
    max_failure_rate: float = Field(0.2, ge=0, le=1, description="stop the run (exit 2) when a persona's share of "
                                    "failed judgments in a stage exceeds this; any failure leaves the stage "
                                    "incomplete, so a re-run asks again for exactly the failed ones")
    chunk_size: int = Field(256, ge=1, description="comparisons per backend call batch; the cache is written after each")
