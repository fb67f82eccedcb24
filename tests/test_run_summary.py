"""`mnpo-bench run` ends with the training preferences' non-transitivity, as panel_diagnostics.json has it."""

from __future__ import annotations

import json

import pytest

from mnpo_bench.runner import run_pipeline

pytestmark = pytest.mark.slow

SMALL = ["prompts.n_train=8", "prompts.n_eval=2", "generation.n_samples=3", "generation.max_new_tokens=24",
         "train.enabled=false", "tournament.enabled=false", "bench.enabled=false", "leaderboard.enabled=false",
         "panel.preset=cyclic"]


def test_the_run_prints_the_three_non_transitivity_measures(tiny_policy, tmp_path, capsys):
    out = tmp_path / "run"
    run_pipeline(None, SMALL, out=out, quiet=True)
    block = json.loads((out / "panel_diagnostics.json").read_text())["non_transitivity"]
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("training preferences: "))
    pct = lambda x: "n/a" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    assert f"{pct(block['cyclic_triad_share'])} cyclic triads of {block['decided_triads']} decided" in line
    assert f"Hodge curl share {pct(block['curl_share'])}" in line
    assert f"mixed maximal lottery on {pct(block['mixed_lottery_share'])} of {block['lottery_prompts']} prompts" in line
    assert block["lottery_prompts"] == 8  # every train prompt's 3 samples were judged
