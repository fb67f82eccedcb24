"""Non-transitivity on the tiny reference policy's OWN samples (not planted responses).

160 built-in train prompts, K = 4 samples each (640 triads), seed 11 (no other test uses it). The panel
verdicts come from the real annotate path; the shares are those panel_diagnostics.json records.
Measured on 2026-12-04 with corpus v4 and the per-sample sampler (generation/hf.py): cyclic 0.709 of 175
decided triads at shared_quality 0, 0.452 at 0.25, 0.303 at 0.5, 0.241 at 0.75, 0 of 60 at 1; default 0.098
of 640, 0.086 without sloppy-grader. The test used 80 prompts until the sampler changed: there it measured
default 0.091 of 320 on the old sampler and 0.075 on the new one, below the 0.08 target, with a binomial SE
of about 0.015 at 320 triads, so it now uses twice the prompts (13 s) rather than a seed that passes.
The bounds are the issue's targets (issue 10): the tiny model's weights, and so its samples, differ in the
last bits between CPU thread counts, so the measured figures themselves are not asserted.
"""

from __future__ import annotations

import pytest
import yaml

from mnpo_bench.generation import generate
from mnpo_bench.generation.config import GenerationConfig
from mnpo_bench.panel.annotate import annotate_with_stats
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.diagnostics import panel_diagnostics
from mnpo_bench.panel.personas import resolve_panel
from mnpo_bench.paths import builtin_dir
from mnpo_bench.progress import Progress
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.prompts.load import load_prompts

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
SEED = 11


@pytest.fixture(scope="module")
def samples(tiny_policy):
    prompts = load_prompts(PromptsConfig(n_train=160, n_eval=1), seed=SEED)
    train = prompts[prompts.split == "train"]
    return train, generate(tiny_policy, train, GenerationConfig(n_samples=4), policy_name="reference", seed=SEED)


def non_transitivity(samples, preset: str, knob: float | None = None) -> dict:
    """The non_transitivity block of panel_diagnostics.json for `preset` on the samples."""
    prompts, generations = samples
    cfg = PanelConfig(preset=preset, shared_quality=knob, cache=False)
    panel = resolve_panel(cfg)
    judgments, _, _, pairs = annotate_with_stats(prompts, generations, panel, cfg, seed=SEED, progress=Progress(quiet=True))
    return panel_diagnostics(judgments, pairs, panel.weights, panel.aggregation)[0]["non_transitivity"]


def test_cyclic_panel_cycles_on_the_policys_own_samples_until_quality_is_shared(samples):
    free, shared = non_transitivity(samples, "cyclic", 0.0), non_transitivity(samples, "cyclic", 1.0)
    assert free["decided_triads"] >= 30
    assert free["cyclic_triad_share"] >= 0.25  # 0.107 with corpus v3, 0 of 71 before it
    assert free["mixed_lottery_share"] > 0.3
    assert shared["cyclic_triad_share"] in (None, 0.0) or shared["cyclic_triad_share"] <= 0.02


def test_default_panel_cycles_and_not_only_through_the_sloppy_grader(samples, tmp_path):
    spec = yaml.safe_load((builtin_dir("annotators") / "panels" / "default.yaml").read_text())
    spec["name"] = "default-without-sloppy"
    spec["personas"] = [p for p in spec["personas"] if p != "sloppy-grader"]
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(spec))
    default, without = non_transitivity(samples, "default"), non_transitivity(samples, str(path))
    assert default["decided_triads"] >= 30 and default["cyclic_triad_share"] >= 0.08  # 0.019 with corpus v3
    assert without["cyclic_triad_share"] > 0
