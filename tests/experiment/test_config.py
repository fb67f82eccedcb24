"""Bad experiment files stop with one line naming the file and the field, exit 2, before any run starts;
good ones expand into the grid's cells with one validated run config per (cell, seed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnpo_bench.cli import main
from mnpo_bench.experiment.config import load_experiment
from mnpo_bench.experiment.grid import expand, jobs

GOOD = "name: t\nseeds: [0, 1]\nmethods: [mnpo, inpo]\n"


@pytest.mark.parametrize("body, needles", [
    ("name: t\nseeds: [0]\nmethods: [mnpo]\nseed: 3\n", ["unknown key 'seed'", "did you mean 'seeds'"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo]\ngrid:\n  panel.shared_qualty: [0, 1]\n",
     ["grid.panel.shared_qualty", "did you mean 'shared_quality'"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo]\ngrid:\n  panel.preset.x: [a]\n", ["grid.panel.preset.x", "is a value"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo]\ngrid:\n  seed: [1, 2]\n", ["grid.seed", "seeds:"]),
    ("name: t\nseeds: []\nmethods: [mnpo]\n", ["field 'seeds'", "at least one seed"]),
    ("name: t\nmethods: [mnpo]\n", ["field 'seeds' is required"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo, inpo, mnpo]\n", ["field 'methods'", "'mnpo' is listed twice"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo, inpo]\nbaseline: dpo\n", ["field 'baseline'", "'dpo' is not among"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo]\ngrid:\n  panel.shared_quality: [0.5, 2]\n",
     ["cell 'shared_quality=2'", "panel.shared_quality"]),
    ("name: t\nseeds: [0]\nmethods: [mnpo, nosuch]\n", ["cell 'main'", "unknown recipe 'nosuch'"]),
])
def test_bad_input_is_one_line_exit_2_before_any_run(tmp_path, capsys, body, needles):
    path = tmp_path / "exp.yaml"
    path.write_text(body)
    out = tmp_path / "out"
    assert main(["experiment", str(path), "--out", str(out), "--publish-dir", str(tmp_path / "pub")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}")
    for needle in needles:
        assert needle in err
    assert not out.exists() and not (tmp_path / "pub").exists()


def test_grid_is_the_product_plus_listed_cells(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD + "grid:\n  panel.shared_quality: [0.0, 0.5]\n  train.iterations: [1, 2]\n"
                    "cells:\n  - {train.iterations: 3, train.overrides.mnpo.opponents.k: 2}\n")
    config = load_experiment(path)
    names = [cell.name for cell in expand(config)]
    assert names == ["shared_quality=0.0,iterations=1", "shared_quality=0.0,iterations=2",
                     "shared_quality=0.5,iterations=1", "shared_quality=0.5,iterations=2", "iterations=3,k=2"]
    runs = jobs(config, path, tmp_path / "out")
    assert len(runs) == 10
    last = runs[-1]
    assert Path(last.out) == tmp_path / "out" / "iterations=3,k=2" / "seed1"
    assert last.seed == 1 and last.config["seed"] == 1 and last.config["train"]["methods"] == ["mnpo", "inpo"]
    assert last.config["train"]["overrides"] == {"mnpo": {"opponents": {"k": 2}}}
    assert runs[2].config["panel"]["shared_quality"] == 0.0 and runs[2].config["train"]["iterations"] == 2


def test_no_grid_is_one_cell_and_baseline_defaults_to_first_method(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD + "base: {prompts: {n_eval: 5}}\n")
    config = load_experiment(path)
    assert config.baseline == "mnpo" and [c.name for c in expand(config)] == ["main"]
    assert all(job.config["prompts"]["n_eval"] == 5 for job in jobs(config, path, tmp_path))


def test_base_may_name_a_run_config_file(tmp_path):
    (tmp_path / "run.yaml").write_text("prompts: {n_eval: 7}\n")
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD + "base: run.yaml\n")
    config = load_experiment(path)
    assert jobs(config, path, tmp_path)[0].config["prompts"]["n_eval"] == 7
