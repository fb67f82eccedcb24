"""The train stage on a real miniature pipeline: a small tiny-policy build, fast local personas, two iterations."""

import json

import pandas as pd
import pytest
import torch

from mnpo_bench.generation.stage import generate_stage
from mnpo_bench.panel.stage import annotate_stage
from mnpo_bench.policy.stage import policy_stage
from mnpo_bench.prompts.stage import prompts_stage
from mnpo_bench.config import load_config
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress
from mnpo_bench.store import RunStore
from mnpo_bench.train.data import best_vs_worst
from mnpo_bench.train.metrics import read_metrics
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

    # iteration 1: every method trains on the run's preferences.parquet (best vs worst per prompt), the same pairs
    expected = best_vs_worst(ctx.store.read_table("preferences"))[["prompt_id", "chosen", "rejected"]]
    for method in ("mnpo", "dpo"):
        pairs = pd.read_parquet(root / "train" / method / "data" / "iter1-pairs.parquet")
        assert pairs[["prompt_id", "chosen", "rejected"]].equals(expected) and len(expected) == 8
    # TD population: the reference alone at t = 1; the last iterate and the reference at t = 2
    mnpo = {t: json.loads((root / "train" / "mnpo" / "data" / f"iter{t}.json").read_text())["policy"] for t in (1, 2)}
    reference = json.loads((root / "reference.json").read_text())["reference"]
    assert mnpo[1]["opponents"] == [reference] and mnpo[1]["start"] == reference
    assert mnpo[2]["opponents"][0].endswith("train/mnpo/iter1") and mnpo[2]["opponents"][1] == reference
    assert mnpo[2]["start"].endswith("train/mnpo/iter1")
    assert (mnpo[1]["population_shortfall"], mnpo[2]["population_shortfall"]) == (1, 0)  # k = 2
    scored = pd.read_parquet(root / "train" / "mnpo" / "data" / "iter2-pairs.parquet")
    assert scored["opp_chosen_logp"].map(len).eq(2).all()
    # iteration 2 sampled fresh responses from the method's own iterate and had them labelled
    generations = pd.read_parquet(root / "train" / "dpo" / "data" / "iter2-generations.parquet")
    assert set(generations["policy"]) == {"dpo/iter1"} and len(generations) == 8 * 4
    rows = read_metrics(root / "train" / "mnpo" / "metrics.jsonl")
    assert {r["iteration"] for r in rows} == {1, 2} and all(r["method"] == "mnpo" for r in rows)

    # a re-run with unchanged inputs skips every iteration
    again = _context(tmp_path / "run", small_tiny, panel_file, ["mnpo", "dpo"], iterations=2)
    train_stage(again)
    assert [s for s in again.skipped if s.startswith("train/")] == [
        "train/mnpo/iter1", "train/mnpo/iter2", "train/dpo/iter1", "train/dpo/iter2"]
    assert not [s for s in again.ran if s.startswith("train/")]


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
    parts = list((tmp_path / "run" / ".parts").glob("train__inpo__iter2/*"))
    assert any(p.name.startswith("generations-") for p in parts)  # the sampled responses were kept
    monkeypatch.setattr(iteration, "run_recipe", real)
    again = _context(tmp_path / "run", small_tiny, panel_file, ["inpo"], iterations=2)
    train_stage(again)
    assert "train/inpo/iter1" in again.skipped and "train/inpo/iter2" in again.ran
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
