"""The leaderboard stage in a real run store: reads battles (and bench) tables, writes leaderboard/,
publishes to <publish_dir>/<run name>/, and is skipped when nothing changed."""

from __future__ import annotations

import pandas as pd
import pytest

from mnpo_bench.config import load_config
from mnpo_bench.errors import UserError
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress
from mnpo_bench.ratings.leaderboard import OUTPUTS
from mnpo_bench.ratings.stage import leaderboard_stage
from mnpo_bench.store import RunStore

from .test_leaderboard import panel_battles


def _context(tmp_path, *overrides: str) -> Context:
    config = load_config(None, ["name=demo", f"leaderboard.publish_dir={tmp_path / 'leaderboards'}",
                                "leaderboard.bootstrap=20", *overrides])
    return Context(config=config, store=RunStore.open(tmp_path / "run"), progress=Progress(quiet=True))


def test_stage_writes_publishes_and_skips_when_unchanged(tmp_path):
    ctx = _context(tmp_path)
    ctx.store.write_table("battles", panel_battles(matchups=300).replace({"ref": "reference"}))
    ctx.store.write_table("bench", pd.DataFrame({"model": ["reference", "m2"], "task": "arith", "metric": "acc",
                                                 "value": [0.4, 0.6], "stderr": [0.05, 0.05]}))
    ctx.hashes["tournament"] = "abc"  # as if the tournament stage ran; bench did not
    leaderboard_stage(ctx)
    run_dir, published = ctx.store.path("leaderboard"), tmp_path / "leaderboards" / "demo"
    for name in OUTPUTS:
        assert (run_dir / name).read_text() == (published / name).read_text()
    ratings = pd.read_csv(run_dir / "ratings.csv").set_index("model")
    assert ratings.loc["reference", "bt"] == 1000.0 and ratings.loc["m2", "arith/acc"] == 0.6
    record = ctx.store.stage_record("leaderboard")
    assert record.status == "done" and set(record.outputs) == {f"leaderboard/{n}" for n in OUTPUTS}

    again = _context(tmp_path)
    again.hashes["tournament"] = "abc"
    leaderboard_stage(again)
    assert again.skipped == ["leaderboard"]
    changed = _context(tmp_path, "leaderboard.bootstrap=10")
    changed.hashes["tournament"] = "abc"
    leaderboard_stage(changed)
    assert changed.ran == ["leaderboard"]


def test_stage_names_the_config_field_for_a_missing_reference(tmp_path):
    ctx = _context(tmp_path, "leaderboard.reference=base")
    ctx.store.write_table("battles", panel_battles(matchups=100))
    with pytest.raises(UserError, match="reference model 'base' has no battles; set leaderboard.reference to"):
        leaderboard_stage(ctx)
    assert not (tmp_path / "leaderboards").exists()


def test_disabled_stage_does_nothing(tmp_path):
    ctx = _context(tmp_path, "leaderboard.enabled=false")
    leaderboard_stage(ctx)
    assert ctx.ran == [] and not ctx.store.path("leaderboard").exists()
