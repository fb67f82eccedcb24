"""The train stage on a real miniature pipeline: a small tiny-policy build, fast local personas, two iterations."""

import json

import pandas as pd
import pytest
import torch

from mnpo_bench.generation.stage import generate_stage
from mnpo_bench.panel.stage import annotate_stage
from mnpo_bench.policy.stage import policy_stage, reference_path
from mnpo_bench.prompts.stage import prompts_stage
from mnpo_bench.config import load_config
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress
from mnpo_bench.store import RunStore
from mnpo_bench.train.data import best_vs_worst
from mnpo_bench.train.metrics import read_metrics
from mnpo_bench.train.prompt_split import iteration_slices
from mnpo_bench.train.stage import train_stage

pytestmark = pytest.mark.slow

SMALL_OPTIM = {"optim": {"lr": 1e-3, "epochs": 1, "batch_size": 8}, "max_length": 96}


@pytest.fixture(scope="module")
def small_tiny(tmp_path_factory):
    """A real embedded-style policy (BPE + SFT on the built-in corpus), shrunk so it builds in seconds."""
    from mnpo_bench.policy.config import TinyModelConfig
    from mnpo_bench.policy.tiny import build_tiny

    config = TinyModelConfig(hidden_size=64, num_layers=2, num_heads=4, vocab_size=512, corpus_size=400,
                             sft_steps=120, sft_batch_size=16)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return str(build_tiny(config))
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def panel_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("panel") / "three.yaml"
    path.write_text("name: three\ndescription: three fast local personas\naggregation: mean\n"
                    "personas: [concise, minilm, thorough]\n")
    return str(path)


def _context(root, policy, panel, methods, **train):
    overrides = [f"policy.model={policy}", f"panel.preset={panel}", "prompts.n_train=8", "prompts.n_eval=2",
                 "generation.n_samples=4", "generation.max_new_tokens=20", f"train.methods={json.dumps(methods)}",
                 f"train.overrides={json.dumps({m: SMALL_OPTIM for m in methods})}", "train.device=cpu"]
    overrides += [f"train.{k}={json.dumps(v)}" for k, v in train.items()]
    config = load_config(None, overrides)
    ctx = Context(config=config, store=RunStore.open(root), progress=Progress(quiet=True))
    for stage in (prompts_stage, policy_stage, generate_stage, annotate_stage):
        stage(ctx)
    return ctx


def test_two_iterations_of_mnpo_and_dpo(tmp_path, small_tiny, panel_file):
    ctx = _context(tmp_path / "run", small_tiny, panel_file, ["mnpo", "dpo"], iterations=2)
    train_stage(ctx)
    root = ctx.store.root
    published = json.loads((root / "train" / "policies.json").read_text())
    assert published == {f"{m}/iter{t}": f"train/{m}/iter{t}" for m in ("mnpo", "dpo") for t in (1, 2)}
    assert all((root / path / "config.json").exists() for path in published.values())

    # iteration 1: every method trains on the run's preferences.parquet restricted to slice 1 of the train
    # prompts (train.prompt_split per_iteration: 8 prompts, 2 iterations, 4 each), best vs worst, the same pairs
    slices = iteration_slices(list(ctx.store.read_table("prompts").query("split == 'train'")["prompt_id"]), 2, 0)
    prefs = ctx.store.read_table("preferences")
    expected = best_vs_worst(prefs[prefs["prompt_id"].isin(slices[0])].reset_index(drop=True))
    expected = expected[["prompt_id", "chosen", "rejected"]]
    for method in ("mnpo", "dpo"):
        pairs = pd.read_parquet(root / "train" / method / "data" / "iter1-pairs.parquet")
        assert pairs[["prompt_id", "chosen", "rejected"]].equals(expected) and len(expected) == 4
    # TD population: the reference alone at t = 1; the last iterate and the reference at t = 2
    mnpo = {t: json.loads((root / "train" / "mnpo" / "data" / f"iter{t}.json").read_text())["policy"] for t in (1, 2)}
    reference = reference_path(ctx.store)  # the loadable location (reference.json stores tiny:<key>)
    assert mnpo[1]["opponents"] == [reference] and mnpo[1]["start"] == reference
    assert mnpo[2]["opponents"][0].endswith("train/mnpo/iter1") and mnpo[2]["opponents"][1] == reference
    assert mnpo[2]["start"].endswith("train/mnpo/iter1")
    assert (mnpo[1]["population_shortfall"], mnpo[2]["population_shortfall"]) == (1, 0)  # k = 2
    scored = pd.read_parquet(root / "train" / "mnpo" / "data" / "iter2-pairs.parquet")
    assert scored["opp_chosen_logp"].map(len).eq(2).all()
    # iteration 2 sampled fresh responses from the method's own iterate, on slice 2 only, and had them labelled
    generations = pd.read_parquet(root / "train" / "dpo" / "data" / "iter2-generations.parquet")
    assert set(generations["policy"]) == {"dpo/iter1"} and len(generations) == 4 * 4
    assert set(generations["prompt_id"]) == set(slices[1]) and not set(slices[0]) & set(slices[1])
    rows = read_metrics(root / "train" / "mnpo" / "metrics.jsonl")
    assert {r["iteration"] for r in rows} == {1, 2} and all(r["method"] == "mnpo" for r in rows)

    # a re-run with unchanged inputs skips every iteration
    again = _context(tmp_path / "run", small_tiny, panel_file, ["mnpo", "dpo"], iterations=2)
    train_stage(again)
    steps = ["iter1/fit", "iter2/generate", "iter2/annotate", "iter2/fit"]
    assert [s for s in again.skipped if s.startswith("train/")] == [
        f"train/{m}/{step}" for m in ("mnpo", "dpo") for step in steps]
    assert not [s for s in again.ran if s.startswith("train/")]
    # each online step is a sub-stage of the manifest, and the panel's view of iteration 2's own samples is kept
    stages = ctx.store.manifest()["stages"]
    assert all(stages[f"train/{m}/{step}"]["status"] == "done" for m in ("mnpo", "dpo") for step in steps)
    diagnostics = json.loads((root / "train" / "dpo" / "data" / "iter2-panel.json").read_text())
    assert diagnostics["counts"]["pairs"] == 4 * 6 and "non_transitivity" in diagnostics


def test_an_interrupted_iteration_resumes_and_keeps_finished_ones(tmp_path, small_tiny, panel_file, monkeypatch):
    from mnpo_bench.train import iteration

    real = iteration.run_recipe

    def killed_in_iteration_two(job):
        if job.iteration == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(iteration, "run_recipe", killed_in_iteration_two)
    ctx = _context(tmp_path / "run", small_tiny, panel_file, ["inpo"], iterations=2)
    with pytest.raises(KeyboardInterrupt):
        train_stage(ctx)
    stages = ctx.store.manifest()["stages"]
    assert stages["train/inpo/iter2/generate"]["status"] == stages["train/inpo/iter2/annotate"]["status"] == "done"
    assert stages["train/inpo/iter2/fit"]["status"] == "running"  # the sampled and labelled responses were kept
    monkeypatch.setattr(iteration, "run_recipe", real)
    again = _context(tmp_path / "run", small_tiny, panel_file, ["inpo"], iterations=2)
    train_stage(again)
    assert {"train/inpo/iter1/fit", "train/inpo/iter2/generate", "train/inpo/iter2/annotate"} <= set(again.skipped)
    assert [s for s in again.ran if s.startswith("train/")] == ["train/inpo/iter2/fit"]
    assert (tmp_path / "run" / "train" / "inpo" / "iter2" / "config.json").exists()


def test_ht_mnpo_three_personas(tmp_path, small_tiny, panel_file):
    """One player per persona, each on its own persona's labels, playing the other two players."""
    ctx = _context(tmp_path / "run", small_tiny, panel_file, ["ht_mnpo"], iterations=2)
    train_stage(ctx)
    root = ctx.store.root / "train" / "ht_mnpo"
    personas = ["concise", "minilm", "thorough"]
    published = json.loads((ctx.store.root / "train" / "policies.json").read_text())
    assert set(published) == {f"ht_mnpo-{p}/iter{t}" for p in personas for t in (1, 2)}
    record = json.loads((root / "data" / "iter2.json").read_text())
    for persona in personas:
        others = sorted(set(personas) - {persona})
        assert [o.rsplit("/", 2)[-2] for o in record[persona]["opponents"]] == others  # the other players' iter1
        assert record[persona]["start"].endswith(f"ht_mnpo/{persona}/iter1")
    labels = {p: pd.read_parquet(root / "data" / f"iter1-{p}-pairs.parquet") for p in personas}
    for persona, frame in labels.items():
        assert len(frame) and set(frame["annotators"]) == {persona}  # only its own persona's verdicts
    orient = {p: set(zip(f["chosen_id"], f["rejected_id"])) for p, f in labels.items()}
    assert orient["concise"] != orient["thorough"]  # opposite tastes label the same samples differently
    players = {r["player"] for r in read_metrics(root / "metrics.jsonl")}
    assert players == set(personas)


def test_a_shape_with_two_fits_per_iteration_runs_as_sub_stages(tmp_path, small_tiny, panel_file):
    """An extragradient-like shape (a half-step fit, samples from it, then the update from the last iterate)
    is a list of ordinary steps: the loop runs it without a special case, each step its own sub-stage."""
    from mnpo_bench.train import shapes
    from mnpo_bench.train.shapes import Step

    def two_fits(t, per_persona):
        if t == 1:
            return shapes.standard(t, per_persona)
        return [Step("generate", "generate"), Step("annotate", "annotate", source="generate"),
                Step("half", "fit", source="annotate", output="half"),
                Step("generate-half", "generate", source="half"),
                Step("annotate-half", "annotate", source="generate-half"),
                Step("fit", "fit", source="annotate-half", start="last")]

    if "two_fits" not in shapes.LOOP_SHAPES:
        shapes.LOOP_SHAPES.put("two_fits", two_fits)
    ctx = _context(tmp_path / "run", small_tiny, panel_file, ["dpo"], iterations=2)
    ctx.config.train.overrides["dpo"]["loop"] = "two_fits"
    train_stage(ctx)
    steps = ["generate", "annotate", "half", "generate-half", "annotate-half", "fit"]
    assert [s for s in ctx.ran if s.startswith("train/dpo/iter2/")] == [f"train/dpo/iter2/{s}" for s in steps]
    data = ctx.store.root / "train" / "dpo" / "data"
    half = pd.read_parquet(data / "iter2-generations-generate-half.parquet")
    assert set(half["policy"]) == {"dpo/iter2-half"}  # sampled from the half-step policy
    first = pd.read_parquet(data / "iter2-generations.parquet")
    assert set(first["policy"]) == {"dpo/iter1"}
    assert not half["text"].reset_index(drop=True).equals(first["text"].reset_index(drop=True))  # own seed
    record = json.loads((data / "iter2.json").read_text())["policy"]
    assert record["start"].endswith("train/dpo/iter1")  # the update starts from the last iterate
    assert (ctx.store.root / "train" / "dpo" / "iter2-half" / "config.json").exists()
    assert (ctx.store.root / "train" / "dpo" / "iter2" / "config.json").exists()


def test_check_shape_names_the_step_that_reads_nothing():
    from mnpo_bench.train.shapes import Step, check_shape, standard

    assert check_shape(standard(1, False)) and check_shape(standard(2, True))
    with pytest.raises(ValueError, match="'annotate' reads 'nope'"):
        check_shape([Step("generate", "generate"), Step("annotate", "annotate", source="nope"),
                     Step("fit", "fit", source="annotate")])
    with pytest.raises(ValueError, match="exactly one fit"):
        check_shape([Step("fit", "fit", source="run"), Step("again", "fit", source="run")])
    with pytest.raises(ValueError, match="starts from 'ghost'"):
        check_shape([Step("fit", "fit", source="run", start="ghost")])


@pytest.mark.heavy  # 11-12 s on the shared 2 cores: over the default suite's ~10 s per new test
def test_a_recipe_schedule_and_sppo_win_rates_reach_the_online_iterations(tmp_path, small_tiny, panel_file,
                                                                          monkeypatch):
    """INPO with a schedule (β 0.2, r 0.5 at t = 1; β 0.05, r 0.9 from t = 2) trains each iteration with its
    entry: at t = 1 the first step's loss is (1/(2·0.2))² = 6.25 (policy = reference = opponent, hard labels).
    SPPO's pairs at t = 2 carry each response's win rate against the K = 4 online samples, recomputed here from
    the iteration's labelled pairs: w(y) = (½ + Σ_j P(y ≻ y_j))/4."""
    from mnpo_bench.train import iteration

    real, seen = iteration.run_recipe, {}

    def spy(job):
        seen[(job.method, job.iteration)] = (job.recipe.loss.beta, job.recipe.loss.ratio)
        return real(job)

    monkeypatch.setattr(iteration, "run_recipe", spy)
    schedule = [{"loss": {"beta": 0.2, "ratio": 0.5}}, {"loss": {"beta": 0.05, "ratio": 0.9}}]
    overrides = {"inpo": {**SMALL_OPTIM, "schedule": schedule}, "sppo": SMALL_OPTIM}
    ctx = _context(tmp_path / "run", small_tiny, panel_file, ["inpo", "sppo"], iterations=2, overrides=overrides)
    train_stage(ctx)
    assert seen[("inpo", 1)] == (0.2, 0.5) and seen[("inpo", 2)] == (0.05, 0.9)
    first = read_metrics(ctx.store.root / "train" / "inpo" / "metrics.jsonl")[0]
    assert (first["iteration"], first["loss"]) == (1, pytest.approx(6.25, rel=1e-5))

    data = ctx.store.root / "train" / "sppo" / "data"
    labelled = pd.read_parquet(data / "iter2-preferences.parquet")
    wins: dict[tuple[str, str], float] = {}
    for row in labelled.itertuples():
        wins[(row.prompt_id, row.chosen_id)] = wins.get((row.prompt_id, row.chosen_id), 0.5) + row.prob
        wins[(row.prompt_id, row.rejected_id)] = wins.get((row.prompt_id, row.rejected_id), 0.5) + 1 - row.prob
    pairs = pd.read_parquet(data / "iter2-pairs.parquet")
    assert len(pairs) > 0 and labelled.groupby("prompt_id").size().eq(6).all()  # every pair of 4 samples
    for row in pairs.itertuples():
        assert row.chosen_winrate == pytest.approx(wins[(row.prompt_id, row.chosen_id)] / 4)
        assert row.rejected_winrate == pytest.approx(wins[(row.prompt_id, row.rejected_id)] / 4)
