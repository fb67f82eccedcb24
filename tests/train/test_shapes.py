"""Every new method runs the online loop on a real miniature pipeline, in its own loop shape (train/shapes.py):
EGPO's and Nash-MP's half-step, ONPO's optimistic fit, Nash-MD's mixture samples, XPO's reference samples,
SPIN's demonstrations. One run directory holds the shared upstream stages; each method trains on it."""

import json

import pandas as pd
import pytest
import torch

from mnpo_bench.policy.stage import reference_path
from mnpo_bench.prompts.demonstrations import demonstration
from mnpo_bench.train.metrics import read_metrics
from mnpo_bench.train.stage import train_stage
from tests.train.test_stage import _context, panel_file, small_tiny  # noqa: F401 (module fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

ONE_ITERATION = ["rdpo", "cdpo", "dno", "apo", "spo", "egpo", "nash_mp", "spin"]
TWO_ITERATIONS = ["nash_md", "xpo", "onpo"]  # samplers differ from π_ref's once π_t has moved; ONPO's previous pairs
TWO_FITS = ("egpo", "nash_mp", "onpo")


@pytest.fixture(scope="module")
def run_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shapes") / "run"


def _train(run_root, small_tiny, panel_file, method, iterations):  # noqa: F811
    ctx = _context(run_root, small_tiny, panel_file, [method], iterations=iterations)
    train_stage(ctx)
    return ctx, ctx.store.root / "train" / method


@pytest.mark.parametrize("method", ONE_ITERATION + TWO_ITERATIONS)
def test_each_new_method_runs_the_online_loop(run_root, small_tiny, panel_file, method):  # noqa: F811
    iterations = 2 if method in TWO_ITERATIONS else 1
    ctx, root = _train(run_root, small_tiny, panel_file, method, iterations)
    published = json.loads((ctx.store.root / "train" / "policies.json").read_text())
    assert published == {f"{method}/iter{t}": f"train/{method}/iter{t}" for t in range(1, iterations + 1)}
    for t in range(1, iterations + 1):
        assert (root / f"iter{t}" / "config.json").exists()
        record = json.loads((root / "data" / f"iter{t}{'-fit' if method in TWO_FITS else ''}.json").read_text())[
            "policy"]
        assert record["steps"] > 0 and record["pairs"] > 0, record
    rows = read_metrics(root / "metrics.jsonl")
    assert rows and all(r["loss"] is not None and r["loss"] == r["loss"] for r in rows)  # finite, not NaN
    _check_shape(ctx, root, method)


def _check_shape(ctx, root, method):
    """What each shape leaves behind, read from the run's files (names as train/online.py writes them)."""
    pairs = pd.read_parquet(root / "data" / "iter1-pairs.parquet" if method not in TWO_FITS else
                            root / "data" / "iter1-pairs-fit.parquet")
    stages = set(ctx.ran)  # the sub-stages this call ran
    if method == "dno":  # large-margin pairs only, against π_t (the reference at t = 1)
        assert (pairs["prob"] >= 0.65).all() and len(pairs) < 8
    if method in ("egpo", "nash_mp"):
        assert (root / "iter1-half" / "config.json").exists()  # the half-step policy π_½
        assert {f"train/{method}/iter1/{s}" for s in ("half", "generate-half", "annotate-half", "fit")} <= stages
        gens = pd.read_parquet(root / "data" / "iter1-generations.parquet")  # t = 1: its first generate step
        assert set(gens["policy"]) == {f"{method}/iter1-half"}
        assert set(pairs["chosen_id"]) | set(pairs["rejected_id"]) <= set(gens["response_id"])  # its samples
        start = json.loads((root / "data" / "iter1-fit.json").read_text())["policy"]["start"]
        assert start == reference_path(ctx.store)  # from π_t
    if method == "onpo":
        assert (root / "iter1-prime" / "config.json").exists()  # the optimistic policy π′_1
        gens = pd.read_parquet(root / "data" / "iter1-generations.parquet")
        assert set(gens["policy"]) == {"onpo/iter1-prime"}
        assert set(pairs["rejected_id"]) <= set(gens["response_id"])
    if method == "spin":
        prompts = ctx.store.read_table("prompts").set_index("prompt_id")
        for row in pairs.itertuples():
            assert row.chosen == demonstration(prompts.loc[row.prompt_id, "gold"], prompts.loc[row.prompt_id, "meta"])
        assert len(pairs) and (pairs["prob"] == 1.0).all() and set(pairs["annotators"]) == {"demonstration"}
    if method in ("nash_md", "xpo"):
        other = f"{method}/iter1-mixture" if method == "nash_md" else "reference"
        gens = pd.read_parquet(root / "data" / "iter2-generations.parquet")
        theirs = pd.read_parquet(root / "data" / "iter2-generations-generate-other.parquet")
        assert set(gens["policy"]) == {f"{method}/iter1"} and set(theirs["policy"]) == {other}
        assert gens.groupby("prompt_id").size().eq(2).all()  # K/2 = 2 samples each
        second = pd.read_parquet(root / "data" / "iter2-pairs.parquet")
        mine = set(gens["response_id"])
        assert len(second) and (second["chosen_id"].isin(mine) != second["rejected_id"].isin(mine)).all()  # cross
        assert (second["chosen_other"] == (~second["chosen_id"].isin(mine)).astype(float)).all()
        assert (second["chosen_other"] + second["rejected_other"] == 1.0).all()


def test_the_mixture_sampler_mixes_next_token_distributions(small_policy, tmp_path):
    """m = 0 is the policy's distribution and m = 1 the reference's; m = ½ is their normalised geometric mean."""
    from mnpo_bench.generation.mixture import GeometricMixture
    from mnpo_bench.policy.load import load_policy
    from tests.train.conftest import build_small_policy

    other = build_small_policy(tmp_path / "other", seed=1)
    policy, tokenizer = load_policy(small_policy, device="cpu")
    reference, _ = load_policy(other, device="cpu")
    ids = tokenizer(["What is 2 + 3?"], return_tensors="pt").input_ids
    with torch.no_grad():
        lp, lr = (m(input_ids=ids).logits[:, -1].float().log_softmax(-1) for m in (policy, reference))
        for m, want in ((0.0, lp), (1.0, lr), (0.5, (0.5 * lp + 0.5 * lr).log_softmax(-1))):
            mix = GeometricMixture(policy, reference, m)
            got = mix(input_ids=ids, cache=mix.new_cache(), use_cache=True).logits[:, -1].log_softmax(-1)
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_every_shape_is_a_valid_iteration_and_bad_shapes_are_refused():
    from mnpo_bench.train.shapes import LOOP_SHAPES, PREVIOUS, Step, check_shape

    for name in LOOP_SHAPES.names():
        for t in (1, 2, 3):
            for per_persona in (False, True):
                steps = check_shape(LOOP_SHAPES.get(name)(t, per_persona))
                assert [s for s in steps if s.kind == "fit"][-1] is steps[-1]
    optimistic = LOOP_SHAPES.get("optimistic")(2, False)
    assert optimistic[0].source == PREVIOUS and optimistic[1].source == "prime"  # π′_t's samples
    with pytest.raises(ValueError, match="not an earlier generate step"):
        check_shape([Step("generate", "generate"), Step("annotate", "annotate", source="generate", against="x"),
                     Step("fit", "fit", source="annotate")])
    with pytest.raises(ValueError, match="named after its output"):
        check_shape([Step("a", "fit", source="run", output="half"), Step("generate", "generate", source="a"),
                     Step("annotate", "annotate", source="generate"), Step("fit", "fit", source="annotate")])
