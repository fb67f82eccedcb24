"""Contrasts: effects between two methods that are not the baseline (mnpo − dpo beside mnpo − inpo), from
planted per-prompt scores, checked against scipy's t-test of the seed means and statsmodels' Holm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from mnpo_bench.cli import main
from mnpo_bench.experiment.collect import Collected
from mnpo_bench.experiment.config import ExperimentConfig
from mnpo_bench.experiment.report import effects_table

SHIFT = {"mnpo": 0.02, "inpo": 0.0, "dpo": -0.01}


def planted(seeds: int = 5, prompts: int = 12) -> Collected:
    """Per-prompt scores: method shift + a seed effect shared by the methods + a per-seed method effect + noise."""
    rng = np.random.default_rng(7)
    rows = []
    for seed in range(seeds):
        common = rng.normal(0, 0.02)
        for method, shift in SHIFT.items():
            own = rng.normal(0, 0.01)
            rows += [{"cell": "main", "seed": seed, "method": method, "prompt_id": f"p{p}",
                      "value": 0.5 + shift + common + own + rng.normal(0, 0.05)} for p in range(prompts)]
    prompts_frame = pd.DataFrame(rows)
    values = (prompts_frame.groupby(["cell", "seed", "method"])["value"].mean().reset_index()
              .assign(policy=lambda f: f["method"] + "/iter2", metric="win_rate_vs_ref"))
    return Collected(values=values[["cell", "seed", "method", "policy", "metric", "value"]], prompts=prompts_frame,
                     non_transitivity=pd.DataFrame(columns=["cell", "seed"]))


def test_a_contrast_is_the_t_test_of_its_seed_mean_differences_and_joins_holm():
    data = planted()
    config = ExperimentConfig(name="t", seeds=list(range(5)), methods=["mnpo", "inpo", "dpo"], baseline="inpo",
                              contrasts=[("mnpo", "dpo")], metrics=["win_rate_vs_ref"])
    effects = effects_table(data, config)
    assert list(zip(effects["method"], effects["baseline"])) == [("mnpo", "inpo"), ("dpo", "inpo"), ("mnpo", "dpo")]
    wide = data.prompts.pivot_table(index=["seed", "prompt_id"], columns="method", values="value")
    seed_means = (wide["mnpo"] - wide["dpo"]).groupby(level="seed").mean()
    test = stats.ttest_1samp(seed_means, 0.0)
    row = effects.iloc[2]
    between = seed_means.var(ddof=1) * 12
    within = (wide["mnpo"] - wide["dpo"]).var(ddof=1)
    assert between > within  # the planted per-seed method effect makes this the t-test over seeds
    assert row["effect"] == pytest.approx(seed_means.mean(), abs=1e-12)
    assert row["p_value"] == pytest.approx(test.pvalue, rel=1e-9)
    ci = test.confidence_interval(0.95)
    assert (row["lo"], row["hi"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    holm = multipletests(effects["p_value"], method="holm")[1]
    assert list(effects["p_holm"]) == pytest.approx(list(holm))


def test_a_contrast_repeating_a_baseline_pair_is_reported_once():
    config = ExperimentConfig(name="t", seeds=[0], methods=["mnpo", "inpo"], baseline="inpo",
                              contrasts=[("mnpo", "inpo"), ("inpo", "mnpo")])
    assert config.pairs() == [("mnpo", "inpo"), ("inpo", "mnpo")]


@pytest.mark.parametrize("contrasts, needle", [
    ("[[mnpo, dpo]]", "'dpo' is not among methods"),
    ("[[mnpo, mnpo]]", "compares a method with itself"),
    ("[[mnpo, inpo], [mnpo, inpo]]", "listed twice"),
    ("[mnpo]", "field 'contrasts"),
])
def test_a_bad_contrast_is_one_line_exit_2(tmp_path, capsys, contrasts, needle):
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: t\nseeds: [0]\nmethods: [mnpo, inpo]\ncontrasts: {contrasts}\n")
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--publish-dir", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}") and needle in err, err
    assert not (tmp_path / "out").exists()
