"""A real tiny experiment (2 seeds, 6 eval prompts, 3 methods, one iteration), run once for the module:
its outputs, one pooled effect recomputed from the runs' battles with statsmodels and scipy, a re-run that does
nothing, an interrupted run that resumes, the submitit and Ray launchers, and the Experiments page."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from mnpo_bench.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
REPO = Path(__file__).resolve().parents[2]
TINY = """name: tiny
base:
  prompts: {n_train: 8, n_eval: 6}
  generation: {n_samples: 3, max_new_tokens: 24}
  train: {iterations: 1}
  tournament: {policies: final, n_answers: 2}
  bench: {enabled: false}
  leaderboard: {bootstrap: 10}
seeds: [0, 1]
methods: [mnpo, inpo, dpo]
baseline: inpo
jobs: 2
slurm: {cluster: local, timeout_min: 10}
ray: {num_cpus: 1}
"""


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, tiny_policy):
    root = tmp_path_factory.mktemp("experiment")
    path = root / "tiny.yaml"
    path.write_text(TINY)
    out, pub = root / "out", root / "pub"
    assert main(["experiment", str(path), "--out", str(out), "--publish-dir", str(pub), "-q"]) == 0
    return path, out, pub


def _manifests(out: Path) -> dict[str, dict]:
    return {str(p.relative_to(out)): json.loads(p.read_text())["stages"] for p in sorted(out.rglob("manifest.json"))}


def _values(encoded) -> list[float]:
    """A plotly array from a chart spec (plain list, or plotly's {dtype, bdata} base64 encoding)."""
    if isinstance(encoded, dict):
        return list(np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]))
    return list(encoded)


def _prompt_scores(battles: pd.DataFrame, policy: str, opponent: str) -> pd.Series:
    """Independent of mnpo_bench: policy's per-prompt mean score (prob of winning, else 1/0.5/0) vs opponent."""
    ok = battles["winner"].notna() & battles["error"].isna()
    pair = battles[ok & (((battles.model_a == policy) & (battles.model_b == opponent))
                         | ((battles.model_a == opponent) & (battles.model_b == policy)))]
    hard = pair["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5})
    score_a = pair["prob_a"].where(pair["prob_a"].notna(), hard)
    score = np.where(pair["model_a"] == policy, score_a, 1 - score_a)
    return pd.Series(score, index=pair["prompt_id"].to_numpy()).groupby(level=0).mean()


def test_outputs_and_one_pooled_effect_recomputed_from_battles(experiment):
    _, out, pub = experiment
    for name in ("summary.csv", "effects.csv", "cells.csv", "seeds.csv", "report.md"):
        assert (out / name).exists() and (pub / "experiments" / "tiny" / name).exists(), name
    summary, effects = pd.read_csv(out / "summary.csv"), pd.read_csv(out / "effects.csv")
    assert list(summary.columns) == ["cell", "method", "metric", "n_seeds", "mean", "sd", "lo", "hi"]
    assert list(effects.columns[:9]) == ["cell", "metric", "method", "baseline", "effect", "lo", "hi", "p_value", "mde"]
    assert {"win_rate_vs_ref", "bt", "nash_mass"} <= set(summary["metric"])
    assert set(effects["method"]) == {"mnpo", "dpo"} and set(effects["baseline"]) == {"inpo"}
    diffs = []
    for seed in (0, 1):
        battles = pd.read_parquet(out / "main" / f"seed{seed}" / "battles.parquet")
        d = _prompt_scores(battles, "mnpo/iter1", "reference") - _prompt_scores(battles, "inpo/iter1", "reference")
        diffs += [{"seed": seed, "value": v} for v in d.dropna()]
    frame = pd.DataFrame(diffs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("value ~ 1", frame, groups=frame["seed"]).fit(reml=True, method=["nm", "bfgs"])
    effect, se = float(fit.fe_params.iloc[0]), float(fit.bse_fe.iloc[0])
    df = 1 if float(fit.cov_re.iloc[0, 0]) > 1e-8 else len(frame) - 1
    row = effects.set_index(["metric", "method"]).loc[("win_rate_vs_ref", "mnpo")]
    assert row["n_units"] == len(frame) == 12 and row["df"] == df
    assert row["effect"] == pytest.approx(effect, abs=1e-9)
    assert row["se"] == pytest.approx(se, rel=5e-3)
    half = stats.t.ppf(0.975, df) * se
    assert (row["lo"], row["hi"]) == pytest.approx((effect - half, effect + half), rel=5e-3, abs=1e-6)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(effect) / se, df), rel=5e-3, abs=1e-6)
    ratings = [pd.read_csv(out / "main" / f"seed{s}" / "leaderboard" / "ratings.csv").set_index("model") for s in (0, 1)]
    wr = summary.set_index(["method", "metric"]).loc[("dpo", "win_rate_vs_ref")]
    values = [r.at["dpo/iter1", "win_rate_vs_ref"] for r in ratings]
    assert wr["mean"] == pytest.approx(np.mean(values)) and wr["sd"] == pytest.approx(np.std(values, ddof=1))
    report = (out / "report.md").read_text()
    nt = json.loads((out / "main" / "seed0" / "panel_diagnostics.json").read_text())["non_transitivity"]
    assert "cyclic-triad share" in report and "Hodge curl share" in report and "Holm" in report
    cells = pd.read_csv(out / "cells.csv")
    nt1 = json.loads((out / "main" / "seed1" / "panel_diagnostics.json").read_text())["non_transitivity"]
    assert cells.at[0, "curl_share"] == pytest.approx((nt["curl_share"] + nt1["curl_share"]) / 2)


def test_rerun_launches_nothing_and_recomputes_nothing(experiment):
    path, out, pub = experiment
    before, effects = _manifests(out), (out / "effects.csv").read_bytes()
    started = time.time()
    assert main(["experiment", str(path), "--out", str(out), "--publish-dir", str(pub), "-q"]) == 0
    assert time.time() - started < 10
    assert _manifests(out) == before and (out / "effects.csv").read_bytes() == effects


def test_an_interrupted_run_resumes_and_only_it(experiment, tmp_path):
    path, out, pub = experiment
    effects = (out / "effects.csv").read_bytes()
    run = out / "main" / "seed1"
    (run / "experiment_cell.json").write_text("{}")  # killed: no longer finished
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"]["leaderboard"]["status"] = "running"  # killed inside its last stage
    (run / "manifest.json").write_text(json.dumps(manifest))
    before = _manifests(out)
    assert main(["experiment", str(path), "--out", str(out), "--publish-dir", str(pub), "-q"]) == 0
    after = _manifests(out)
    changed = {(run_name, stage) for run_name in after for stage in after[run_name]
               if after[run_name][stage] != before[run_name].get(stage)}
    assert changed == {("main/seed1/manifest.json", "leaderboard")}
    assert after["main/seed1/manifest.json"]["leaderboard"]["status"] == "done"
    assert (out / "effects.csv").read_bytes() == effects


@pytest.mark.parametrize("launcher", ["slurm", "ray"])
def test_submitit_and_ray_launch_the_same_runs(experiment, launcher):
    """submitit's local executor (slurm.cluster: local) and a local Ray instance run the leaderboard stage
    of both runs again (their other stages are done) and give the same effects."""
    path, out, pub = experiment
    effects = pd.read_csv(out / "effects.csv")
    for seed in (0, 1):
        run = out / "main" / f"seed{seed}"
        (run / "experiment_cell.json").unlink()
        manifest = json.loads((run / "manifest.json").read_text())
        del manifest["stages"]["leaderboard"]
        (run / "manifest.json").write_text(json.dumps(manifest))
    (out / "effects.csv").unlink()  # so the results stage runs again too
    assert main(["experiment", str(path), "--out", str(out), "--launcher", launcher, "-q",
                 "--publish-dir", str(pub)]) == 0
    for seed in (0, 1):
        stages = json.loads((out / "main" / f"seed{seed}" / "manifest.json").read_text())["stages"]
        assert stages["leaderboard"]["status"] == "done"
        assert json.loads((out / "main" / f"seed{seed}" / "experiment_cell.json").read_text())
    if launcher == "slurm":
        assert any((out / "submitit").rglob("*_result.pkl"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "effects.csv"), effects)


def test_experiments_page_shows_the_forest_plot_and_tables(experiment, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    _, _, pub = experiment
    monkeypatch.setenv("MNPO_BENCH_RUNS_DIR", str(tmp_path / "no-runs"))
    monkeypatch.setenv("MNPO_BENCH_LEADERBOARDS_DIR", str(pub))
    at = AppTest.from_file(str(REPO / "mnpo_bench/dashboard/pages/experiments.py"), default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Experiments"
    effects = pd.read_csv(pub / "experiments" / "tiny" / "effects.csv")
    shown = at.dataframe[0].value
    expected = effects[effects["metric"] == "win_rate_vs_ref"].reset_index(drop=True)
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected, check_dtype=False)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    forest = charts[0]["data"][0]
    assert forest["y"] == ["main: dpo − inpo", "main: mnpo − inpo"]
    assert _values(forest["x"]) == pytest.approx(list(expected["effect"])[::-1])
    assert len(charts) == 2 and {t["name"] for t in charts[1]["data"]} == {"mnpo − inpo", "dpo − inpo"}
    at.selectbox(key="exp_metric").set_value("bt").run()
    assert not at.exception and set(at.dataframe[0].value["metric"]) == {"bt"}
    monkeypatch.setenv("MNPO_BENCH_LEADERBOARDS_DIR", str(tmp_path / "none"))
    empty = AppTest.from_file(str(REPO / "mnpo_bench/dashboard/pages/experiments.py"), default_timeout=60).run()
    assert not empty.exception and "No experiments under" in empty.info[0].value


def test_experiments_page_served_for_real_renders_in_chromium(experiment, tmp_path):
    """`streamlit run app.py`, the Experiments page in Debian's headless Chromium through Playwright: the
    forest plot and the effects-vs-non-transitivity plot render, no exception. Set
    MNPO_BENCH_DASHBOARD_SCREENSHOT=<file.png> to keep the screenshot."""
    import sys

    from tests.dashboard.test_server import CHROMIUM, _free_port, _server_env, browser_page, serving

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium)")
    _, _, pub = experiment
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    env = _server_env({"MNPO_BENCH_RUNS_DIR": str(tmp_path / "runs"), "MNPO_BENCH_LEADERBOARDS_DIR": str(pub),
                       "PYTHONPATH": str(REPO)})
    shot = tmp_path / "experiments.png"
    with serving(command, env, tmp_path / "server.log") as base, browser_page() as page:
        page.goto(f"{base}/experiments")
        page.get_by_role("heading", name="Experiments").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot .main-svg").nth(1).wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shot), full_page=True)
        body = page.inner_text("body")
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator(".js-plotly-plot").count() >= 2
        assert "Summary across seeds" in body and "mnpo − inpo" in body
    if os.environ.get("MNPO_BENCH_DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, os.environ["MNPO_BENCH_DASHBOARD_SCREENSHOT"])


def test_cells_of_one_seed_share_the_upstream_stages(experiment, tmp_path):
    """A second cell of seed 0 (another panel aggregation) gets the donor's prompts, policy and generate
    outputs as hard links with their manifest records, and its pipeline then skips those stages."""
    import dataclasses

    from mnpo_bench.experiment.launch import run_job
    from mnpo_bench.experiment.share import share_upstream
    from mnpo_bench.experiment.stage import prepare

    path, out, _ = experiment
    _, jobs, _ = prepare(path, out=out)
    donor = jobs[0]
    config = json.loads(json.dumps(donor.config))
    config["panel"]["aggregation"] = "vote"
    sibling = dataclasses.replace(donor, cell="vote", out=str(tmp_path / "vote" / "seed0"), config=config)
    assert share_upstream([donor, sibling]) == 3
    donor_file, sibling_file = Path(donor.out) / "generations.parquet", Path(sibling.out) / "generations.parquet"
    assert os.stat(donor_file).st_ino == os.stat(sibling_file).st_ino
    result = run_job(sibling, "upstream")
    assert result["ran"] == 0 and result["skipped"] == 3
    assert share_upstream([donor, sibling]) == 0  # nothing left to share
