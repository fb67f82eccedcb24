"""Fixtures of the panel tests: an isolated cache, the probe set, small persona and panel files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache root, so judge caches never leak between tests."""
    root = tmp_path / "cache"
    monkeypatch.setenv("MNPO_BENCH_CACHE", str(root))
    return root


@pytest.fixture(scope="session")
def probe():
    """(prompts, generations, pairs) of 10 probe prompts x 4 styled responses (60 pairs)."""
    from mnpo_bench.panel.annotate import build_pairs
    from mnpo_bench.panel.probe import probe_tables

    prompts, generations = probe_tables(10, 4, seed=0)
    return prompts, generations, build_pairs(prompts, generations)


def write_yaml(path: Path, text: str) -> Path:
    """Write `text` (YAML) to `path`, creating folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def rule_panel(tmp_path: Path) -> Path:
    """A panel preset file seating three built-in rule personas (fast, no models)."""
    return write_yaml(tmp_path / "annotators" / "panels" / "rules.yaml", """
name: rules
description: three rule personas
aggregation: mean
personas: [correctness, concise, {persona: sloppy-grader, weight: 2}]
""")
