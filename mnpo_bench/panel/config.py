"""Config of the annotator panel in a run (owned by the panel subsystem)."""

from __future__ import annotations

from pydantic import Field

from mnpo_bench.settings import Section


class PanelConfig(Section):
    """Which panel judges the run's comparisons."""

    enabled: bool = Field(True, description="run the annotate stage")
    preset: str = Field("default", description="panel preset name in annotators/panels/, or a path to a panel YAML")
