"""runner.run_stages: a stage gets the same input hash whichever verb (stage list) runs it."""

from mnpo_bench.config import RunConfig
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress
from mnpo_bench.runner import run_stages
from mnpo_bench.store import RunStore, write_text


def _writes(ctx: Context, name: str):
    def fn(run) -> list[str]:
        write_text(ctx.store.path(name), name)
        return [name]
    return fn


def _upstream(ctx: Context) -> None:
    ctx.stage("upstream", _writes(ctx, "u.txt"), inputs={"u": 1})


def _downstream(ctx: Context) -> None:
    ctx.stage("downstream", _writes(ctx, "d.txt"), inputs={"d": 1},
              after=tuple(s for s in ("upstream",) if s in ctx.hashes))


def test_a_verb_running_only_the_downstream_stage_hashes_it_as_the_full_pipeline_did(tmp_path):
    store = RunStore.open(tmp_path)
    full = run_stages(Context(RunConfig(), store, Progress(quiet=True)),
                      [("upstream", None, _upstream), ("downstream", None, _downstream)])
    assert full.ran == ["upstream", "downstream"]
    part = run_stages(Context(RunConfig(), store, Progress(quiet=True)), [("downstream", None, _downstream)])
    assert part.hashes["downstream"] == full.hashes["downstream"] and part.skipped == ["downstream"]
