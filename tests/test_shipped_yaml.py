"""Every YAML the project ships loads through the loader that will read it; none is left unclaimed."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for folder in ("annotators", "trainer", "mnpo_bench") for p in (ROOT / folder).rglob("*.yaml"))


def load_persona(path: Path) -> None:
    from mnpo_bench.panel.personas import load_persona

    assert load_persona(str(path)).name == path.stem


def load_panel(path: Path) -> None:
    from mnpo_bench.panel.personas import load_panel

    assert load_panel(str(path)).members


def load_recipe(path: Path) -> None:
    from mnpo_bench.train.recipes import load_recipe

    for profile in ("tiny", "paper"):
        assert load_recipe(str(path), profile).method == path.stem


def load_accelerate_config(path: Path) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    assert ClusterConfig.from_yaml_file(str(path)).distributed_type is not None


def load_experiment(path: Path) -> None:
    from mnpo_bench.experiment.config import load_experiment

    assert load_experiment(path).name == path.stem


def load_bench_task(path: Path) -> None:
    from mnpo_bench.bench.taskset import local_task_names, task_dirs

    assert path.stem in local_task_names(task_dirs([]))


def load_experiment_preset(path: Path) -> None:
    from mnpo_bench.experiment.stage import prepare

    config, jobs, _ = prepare(path, out=Path("/nonexistent/experiment"))  # validates every (cell, seed) run config
    assert config.name == path.stem and jobs
    assert path.read_text().startswith(f"# mnpo-bench experiment {path.stem}")


def loader_for(path: Path):
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith("annotators/panels/"):
        return load_panel
    if relative.startswith("annotators/"):
        return load_persona
    if relative.startswith("trainer/experiments/"):
        return load_experiment_preset
    if relative.startswith("trainer/accelerate/"):
        return load_accelerate_config
    if relative.startswith("trainer/experiments/"):
        return load_experiment
    if relative.startswith("trainer/"):
        return load_recipe
    if relative.startswith("mnpo_bench/bench/tasks/"):
        return load_bench_task
    return None


def test_every_shipped_yaml_has_a_loader():
    assert len(SHIPPED) >= 20
    unclaimed = [str(p.relative_to(ROOT)) for p in SHIPPED if loader_for(p) is None]
    assert unclaimed == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_yaml_loads(path: Path):
    loader_for(path)(path)
