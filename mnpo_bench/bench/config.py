"""Config of the standard-benchmark stage (owned by the bench subsystem)."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section


class BenchConfig(Section):
    """Which lm-evaluation-harness tasks run on every checkpoint."""

    enabled: bool = Field(True, description="run the bench stage")
    tasks: list[str] = Field(default_factory=lambda: ["mnpo_arith_mc"], description="lm-eval task names (built-in local tasks or hub tasks)")
    limit: int | None = Field(None, description="at most this many documents per task (None: all)")
