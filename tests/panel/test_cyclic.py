"""The cyclic preset: a majority cycle over three planted policies at shared_quality 0, and none once the
shared quality term (the correctness grader) is mixed in strongly enough."""

from __future__ import annotations

import pytest

from mnpo_bench.panel.annotate import annotate_with_stats
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.diagnostics import panel_diagnostics
from mnpo_bench.panel.personas import resolve_panel
from mnpo_bench.progress import Progress
from tests.panel.planted import planted


def majority(knob: float, prompts, generations) -> tuple[dict[str, float], float | None]:
    """({"AB": share of prompts where A's response is preferred to B's, "BC": ..., "CA": ...},
    share of cyclic triads among each prompt's three responses)."""
    cfg = PanelConfig(preset="cyclic", shared_quality=knob)
    panel = resolve_panel(cfg)
    judgments, prefs, _, pairs = annotate_with_stats(prompts, generations, panel, cfg, seed=0,
                                                     progress=Progress(quiet=True))
    winner, loser = prefs["chosen_id"].str[0], prefs["rejected_id"].str[0]
    shares = {}
    for x, y in (("A", "B"), ("B", "C"), ("C", "A")):
        n_prompts = generations["prompt_id"].nunique()
        shares[x + y] = float(((winner == x) & (loser == y)).sum()) / n_prompts
    diagnostics, _ = panel_diagnostics(judgments, pairs, panel.weights, panel.aggregation)
    return shares, diagnostics["cyclic_triads"]["panel"]


@pytest.fixture(scope="module")
def policies():
    return planted(30)


def test_majority_cycle_without_shared_quality(policies):
    shares, triads = majority(0.0, *policies)
    assert shares["AB"] > 0.5 and shares["BC"] > 0.5 and shares["CA"] > 0.5  # A > B > C > A
    assert triads == 1.0


def test_shared_quality_breaks_the_cycle_gradually(policies):
    sweep = {knob: majority(knob, *policies) for knob in (0.0, 0.3, 0.45, 0.5, 0.8)}
    shares, triads = sweep[0.8]
    assert shares["AB"] > 0.5 and shares["BC"] > 0.5 and shares["CA"] < 0.5  # A > B > C and A > C: no cycle
    assert triads == 0.0
    cyclic = [sweep[k][1] for k in sorted(sweep)]
    assert cyclic == sorted(cyclic, reverse=True)  # never more cyclic as the knob rises
    assert 0.0 < sweep[0.45][1] < 1.0  # partly broken in between
