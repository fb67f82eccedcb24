"""Run directories made with another config (a default changed since, a newer tiny-model build) stop an
experiment up front: one line naming the run directory and what differs, exit 2, nothing written; with
--rerun-changed they are let through. `mnpo-bench run` on such a directory says what differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mnpo_bench.cli import main
from mnpo_bench.config import RunConfig
from mnpo_bench.experiment.drift import check_runs, run_changes
from mnpo_bench.experiment.stage import prepare
from mnpo_bench.pipeline import open_run
from mnpo_bench.settings import changes

EXPERIMENT = "name: d\nbase: {prompts: {n_eval: 6}}\nseeds: [0, 1]\nmethods: [mnpo, inpo]\n"


def _setup(tmp_path: Path):
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT)
    out = tmp_path / "out"
    _, jobs, _ = prepare(path, out=out)
    return path, out, jobs


def _record(job, **edits) -> None:
    """Leave job's run directory as an earlier run made it: its config.yaml, with dotted `edits` applied."""
    config = json.loads(json.dumps(job.config))
    for dotted, value in edits.items():
        *heads, last = dotted.split("__")
        node = config
        for head in heads:
            node = node[head]
        node[last] = value
    Path(job.out).mkdir(parents=True)
    (Path(job.out) / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_changes_names_every_differing_key():
    old = {"a": 1, "b": {"c": [1, 2], "d": "x"}, "gone": 3}
    new = {"a": 1, "b": {"c": [1, 3], "d": "x", "e": True}}
    assert changes(old, new) == ["b.c: [1, 2] -> [1, 3]", "b.e: (absent) -> True", "gone: 3 -> (absent)"]
    assert changes(new, new) == []


def test_a_run_made_before_a_default_changed_stops_the_experiment(tmp_path, capsys):
    path, out, jobs = _setup(tmp_path)
    _record(jobs[0])  # seed 0: made with today's config
    _record(jobs[1], prompts__n_eval=24, train__iterations=1)  # seed 1: made before two defaults changed
    assert run_changes(jobs[0]) == []
    assert main(["experiment", str(path), "--out", str(out), "--publish-dir", str(tmp_path / "pub")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: run {jobs[1].out} was made with a "
                                                         "different config"), err
    assert "prompts.n_eval: 24 -> 6" in err and f"train.iterations: 1 -> {jobs[1].config['train']['iterations']}" in err
    assert "--rerun-changed" in err and "fresh --out" in err
    assert sorted(p.name for p in out.iterdir()) == ["main"]  # no jobs.json, no manifest: nothing written
    assert not (tmp_path / "pub").exists()


def test_where_the_experiment_put_a_run_is_not_a_difference(tmp_path):
    _, _, jobs = _setup(tmp_path)
    _record(jobs[0], name="elsewhere", leaderboard__publish_dir="/moved/published")
    assert run_changes(jobs[0]) == []


def test_a_reference_from_another_tiny_build_is_a_difference(tmp_path):
    from mnpo_bench.policy.config import TinyModelConfig
    from mnpo_bench.policy.tiny import tiny_model_dir

    _, _, jobs = _setup(tmp_path)
    _record(jobs[0])
    reference = Path(jobs[0].out) / "reference.json"
    reference.write_text(json.dumps({"reference": "/old/cache/tiny/f692d46356a8d35b"}))
    now = tiny_model_dir(TinyModelConfig()).name
    assert run_changes(jobs[0]) == [f"reference build: tiny/f692d46356a8d35b -> tiny/{now} (the tiny model's code "
                                    "changed)"]
    reference.write_text(json.dumps({"reference": f"/any/cache/root/tiny/{now}"}))
    check_runs(jobs, "exp.yaml")  # the same build under another cache root: no difference


def test_rerun_changed_lets_the_changed_runs_through(tmp_path, monkeypatch):
    """With --rerun-changed the drift check is skipped and the launcher is reached (stubbed here: this test
    is about the gate, the real launch is tests/experiment/test_experiment.py's)."""
    from mnpo_bench.experiment import launch

    path, out, jobs = _setup(tmp_path)
    _record(jobs[1], prompts__n_eval=24)
    reached = []
    monkeypatch.setattr(launch, "launch", lambda todo, *a, **k: reached.extend(todo) or [])
    monkeypatch.setattr("mnpo_bench.experiment.stage._warm_shared", lambda todo, progress: None)
    code = main(["experiment", str(path), "--out", str(out), "--publish-dir", str(tmp_path / "pub"), "-q",
                 "--rerun-changed"])
    assert code == 2  # the stubbed launcher ran nothing, so the runs are unfinished: that is reported, not drift
    assert [job.out for job in reached] == [job.out for job in jobs]


def test_run_says_what_differs_from_the_config_it_was_last_run_with(tmp_path, capsys):
    out = tmp_path / "run"
    open_run(RunConfig.model_validate({"prompts": {"n_eval": 24}}), out, quiet=False).store.unlock()
    capsys.readouterr()
    open_run(RunConfig.model_validate({"prompts": {"n_eval": 6}}), out, quiet=False).store.unlock()
    err = " ".join(capsys.readouterr().err.split())
    assert f"{out} was last run with another config (prompts.n_eval: 24 -> 6)" in err
    assert "stages whose inputs changed re-run" in err
    open_run(RunConfig.model_validate({"prompts": {"n_eval": 6}}), out, quiet=False).store.unlock()
    assert "another config" not in capsys.readouterr().err
