"""A run directory copied elsewhere (cp -r, the original removed), with its cache moved too, still opens and
re-runs nothing: policies.json and reference.json hold run-relative paths and the tiny model's cache key, never
the run's absolute path; no stage's input hash depends on where the run or the cache lives (the tiny model is
its build key, a checkpoint its content fingerprint), so `mnpo-bench run` there skips every stage and leaves
every file as it was; the dashboard renders it and `mnpo-bench tournament` there re-uses its answers and
judgments, reading the run's own config.yaml without --config. Runs written with absolute paths still read."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from mnpo_bench.cli import main
from mnpo_bench.dashboard.roots import ENV_LEADERBOARDS, ENV_RUNS
from mnpo_bench.policy.load import read_policies
from mnpo_bench.runner import run_pipeline, run_tournament

pytestmark = pytest.mark.slow  # a small two-iteration run end to end: 20 s on the loaded 2-core machine

SMALL = ["prompts.n_train=8", "prompts.n_eval=4", "generation.n_samples=2", "generation.max_new_tokens=12",
         "train.methods=[dpo]", "train.iterations=2", "bench.tasks=[mnpo_arith_mc]", "bench.limit=4",
         "leaderboard.bootstrap=50", "train.report_to=[tensorboard]"]
PAGES = ("runs", "leaderboard", "tournament", "annotators", "training", "explorer", "compare")


def _contents(root: Path) -> dict[str, str]:
    """{run-relative file: sha256 of its bytes} of every file but the manifest."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


@pytest.fixture(scope="module")
def moved(tiny_policy, tmp_path_factory):
    """(the copied run, its boards folder, the stage names of its first run), with MNPO_BENCH_CACHE moved."""
    tmp = tmp_path_factory.mktemp("portable")
    with pytest.MonkeyPatch.context() as env:
        cache = tmp / "cache-a"
        shutil.copytree(tiny_policy, cache / "tiny" / Path(tiny_policy).name)
        env.setenv("MNPO_BENCH_CACHE", str(cache))
        original, boards = tmp / "here" / "run", tmp / "boards"
        first = run_pipeline(None, [*SMALL, f"leaderboard.publish_dir={boards}"], out=original, quiet=True)
        assert list((original / "train" / "tracking" / "dpo__iter1").rglob("events.out.tfevents.*"))
        stored = json.loads((original / "policies.json").read_text())
        assert stored == {"reference": "tiny:" + Path(tiny_policy).name, "dpo/iter1": "train/dpo/iter1",
                          "dpo/iter2": "train/dpo/iter2"}
        assert json.loads((original / "reference.json").read_text()) == {"reference": stored["reference"]}

        target = tmp / "elsewhere" / "runs" / "run"
        shutil.copytree(original, target, copy_function=shutil.copy)  # cp -r: new inodes, new modification times
        shutil.rmtree(original)
        shutil.move(cache, tmp / "cache-b")
        env.setenv("MNPO_BENCH_CACHE", str(tmp / "cache-b"))
        yield target, boards, set(first.ran)


def test_a_copied_run_with_a_moved_cache_reruns_nothing(moved):
    run, boards, stages = moved
    assert {"policy", "train/dpo/iter1/fit", "train/dpo/iter2/generate", "train/dpo/iter2/annotate",
            "train/dpo/iter2/fit", "bench", "tournament", "leaderboard"} <= stages
    before = _contents(run)
    again = run_pipeline(None, [*SMALL, f"leaderboard.publish_dir={boards}"], out=run, quiet=True)
    assert again.ran == [] and set(again.skipped) == stages
    assert _contents(run) == before


def test_a_copied_run_opens_in_the_dashboard_and_in_tournament(moved, tiny_policy, monkeypatch):
    run, boards, _ = moved
    tiny = str(Path(tiny_policy).name)
    assert read_policies(run) == {"reference": str(run.parents[2] / "cache-b" / "tiny" / tiny),
                                  "dpo/iter1": str(run / "train" / "dpo" / "iter1"),
                                  "dpo/iter2": str(run / "train" / "dpo" / "iter2")}

    from tests.dashboard.conftest import open_page

    monkeypatch.setenv(ENV_RUNS, str(run.parent))
    monkeypatch.setenv(ENV_LEADERBOARDS, str(boards))
    at = open_page("runs", "run")
    for page in PAGES:
        at.switch_page(f"mnpo_bench/dashboard/pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])

    ctx = run_tournament([], run / "config.yaml", [], out=run, quiet=True)
    assert {"tournament/answers/reference", "tournament/answers/dpo__iter2", "tournament"} <= set(ctx.skipped)
    assert ctx.ran == []  # answers and judgments re-used: the copied checkpoints fingerprint the same
    assert main(["tournament", "--config", str(run / "config.yaml"), "--out", str(run), "--quiet"]) == 0


def test_tournament_on_a_run_reads_its_own_config(moved):
    run, _, _ = moved
    files, records = _contents(run), json.loads((run / "manifest.json").read_text())["stages"]
    # with the embedded default instead, the prompts (n_train 8 here) and everything after them would re-run
    assert main(["tournament", "--out", str(run), "--quiet"]) == 0
    assert main(["tournament", str(run), "--quiet"]) == 0  # a lone run directory: that run's own policies
    assert _contents(run) == files  # config.yaml included: rewritten with the same config
    assert json.loads((run / "manifest.json").read_text())["stages"] == records  # no stage ran again


def test_a_run_with_absolute_paths_still_reads(tiny_policy, tmp_path):
    run = tmp_path / "old"
    (run / "train" / "dpo").mkdir(parents=True)
    shutil.copytree(tiny_policy, run / "train" / "dpo" / "iter1")
    (run / "policies.json").write_text(json.dumps({"reference": tiny_policy,
                                                   "dpo/iter1": str(run / "train" / "dpo" / "iter1")}))
    assert read_policies(run) == {"reference": tiny_policy, "dpo/iter1": str(run / "train" / "dpo" / "iter1")}
