"""The annotate stage in a run directory, its resume through the judge cache, and the `annotate` verb."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mnpo_bench.cli import main
from mnpo_bench.config import RunConfig
from mnpo_bench.prompts.config import PromptsConfig
from mnpo_bench.panel.aggregate import PREFERENCE_COLUMNS
from mnpo_bench.panel.backends.rule import RuleBackend
from mnpo_bench.panel.config import PanelConfig
from mnpo_bench.panel.judge import JUDGMENT_COLUMNS
from mnpo_bench.panel.probe import styled_generations
from mnpo_bench.panel.stage import OUTPUTS, annotate_stage
from mnpo_bench.pipeline import Context
from mnpo_bench.progress import Progress
from mnpo_bench.prompts.load import load_prompts
from mnpo_bench.store import RunStore


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run with prompts (6 train, 2 eval) and generations (reference: 4 samples; another policy too)."""
    store = RunStore.open(tmp_path / "run")
    prompts = load_prompts(PromptsConfig(n_train=6, n_eval=2), seed=0)
    generations = pd.concat([styled_generations(prompts, 4, 0, "reference"),
                             styled_generations(prompts, 2, 1, "dpo/iter1")], ignore_index=True)
    store.write_table("prompts", prompts)
    store.write_table("generations", generations)
    return store.root


def context(run_dir: Path, **panel) -> Context:
    ctx = Context(RunConfig(panel=PanelConfig(**panel)), RunStore(run_dir), Progress(quiet=True))
    ctx.hashes.update(prompts="p0", generate="g0")
    return ctx


def test_stage_writes_tables_and_diagnostics(run_dir: Path, rule_panel: Path):
    ctx = context(run_dir, preset=str(rule_panel))
    annotate_stage(ctx)
    assert ctx.ran == ["annotate"] and all((run_dir / name).exists() for name in OUTPUTS)
    judgments = pd.read_parquet(run_dir / "judgments.parquet")
    prefs = pd.read_parquet(run_dir / "preferences.parquet")
    prompts = pd.read_parquet(run_dir / "prompts.parquet")
    train = set(prompts.loc[prompts["split"] == "train", "prompt_id"])
    assert list(judgments.columns) == JUDGMENT_COLUMNS and set(judgments["prompt_id"]) <= train
    assert judgments["response_a_id"].str.startswith("reference|").all()
    n_pairs = sum(len(set(g)) * (len(set(g)) - 1) // 2
                  for _, g in pd.read_parquet(run_dir / "generations.parquet").query(
                      "policy == 'reference' and prompt_id in @train").groupby("prompt_id")["text"])
    assert len(judgments) == 3 * 2 * 6 * 6 >= 3 * 2 * n_pairs
    assert list(prefs.columns) == PREFERENCE_COLUMNS and len(prefs) > 0
    assert (prefs["prob"] > 0.5).all() and (prefs["chosen"] != prefs["rejected"]).all()
    chat = pd.read_parquet(run_dir / "preferences_conversational.parquet")  # TRL's conversational form
    assert [dict(m) for m in chat["prompt"].iloc[0]] == [{"role": "user", "content": prefs["prompt"].iloc[0]}]
    assert [dict(m) for m in chat["chosen"].iloc[0]] == [{"role": "assistant", "content": prefs["chosen"].iloc[0]}]
    diagnostics = json.loads((run_dir / "panel_diagnostics.json").read_text(), parse_constant=_reject)
    assert diagnostics["counts"]["judgments"] == len(judgments) and diagnostics["counts"]["preferences"] == len(prefs)
    assert diagnostics["panel"]["weights"] == {"correctness": 1.0, "concise": 1.0, "sloppy-grader": 2.0}
    assert set(diagnostics["kappa"]) == {"correctness", "concise", "sloppy-grader"}
    assert diagnostics["krippendorff_alpha"] is not None and "panel" in diagnostics["cyclic_triads"]
    table = pd.read_csv(run_dir / "panel_annotators.csv")
    assert set(table["persona"]) == {"correctness", "concise", "sloppy-grader"}
    rates = table.set_index("persona")["first_position_rate"]  # correctness has no position bias; 0.5 expected
    assert rates["sloppy-grader"] > 0.55 and rates["sloppy-grader"] > rates["correctness"] + 0.05, rates
    again = context(run_dir, preset=str(rule_panel))
    annotate_stage(again)
    assert again.skipped == ["annotate"]
    changed = context(run_dir, preset=str(rule_panel), aggregation="vote")
    annotate_stage(changed)
    assert changed.ran == ["annotate"]


def _reject(constant: str) -> None:
    raise ValueError(f"invalid JSON constant {constant}")


def test_a_killed_stage_resumes_from_the_judge_cache(run_dir: Path, rule_panel: Path, monkeypatch: pytest.MonkeyPatch):
    original, calls = RuleBackend.judge, {"n": 0}

    def dies_on_third_chunk(self, items):  # fault injection: the process is killed mid-stage
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, items)

    monkeypatch.setattr(RuleBackend, "judge", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        annotate_stage(context(run_dir, preset=str(rule_panel), chunk_size=50))
    assert RunStore(run_dir).stage_record("annotate").status == "running"
    assert not (run_dir / "judgments.parquet").exists()
    monkeypatch.setattr(RuleBackend, "judge", original)
    annotate_stage(context(run_dir, preset=str(rule_panel), chunk_size=50))
    calls_per_persona = json.loads((run_dir / "panel_diagnostics.json").read_text())["calls"]
    # 72 comparisons per persona in chunks of 50: the first persona's two chunks (50 + 22) were committed
    # before the kill at the third chunk; the re-run serves those from the cache and judges the rest
    assert sum(c["cache_hits"] for c in calls_per_persona.values()) == 72
    assert sum(c["calls"] + c["cache_hits"] for c in calls_per_persona.values()) == 3 * 72


def test_annotate_verb(run_dir: Path, rule_panel: Path, capsys: pytest.CaptureFixture):
    assert main(["annotate", str(run_dir), "--set", f"panel.preset={rule_panel}", "-q"]) == 0
    out = capsys.readouterr().out
    assert "annotated" in out and "judgments.parquet" in out and "preferences" in out
    assert main(["annotate", str(run_dir / "nope"), "-q"]) == 2
    assert "run directory not found" in capsys.readouterr().err
    (run_dir / "generations.parquet").unlink()
    assert main(["annotate", str(run_dir), "--set", f"panel.preset={rule_panel}", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "generations.parquet" in err and "run the generate stage first" in err


def test_one_sample_per_prompt_is_a_user_error(run_dir: Path, rule_panel: Path):
    from mnpo_bench.errors import UserError

    store = RunStore(run_dir)
    generations = store.read_table("generations")
    store.write_table("generations", generations[generations["sample"] == 0])
    with pytest.raises(UserError, match="generation.n_samples: no prompt has two reference responses"):
        annotate_stage(context(run_dir, preset=str(rule_panel)))
    assert not (run_dir / "judgments.parquet").exists()


def test_editing_a_seated_persona_reruns_the_stage(run_dir: Path, tmp_path: Path):
    persona = tmp_path / "annotators" / "terse.yaml"
    persona.parent.mkdir(parents=True, exist_ok=True)
    persona.write_text("name: terse\ninclude: concise\n")
    panel = tmp_path / "annotators" / "panels" / "p.yaml"
    panel.parent.mkdir(parents=True, exist_ok=True)
    panel.write_text("name: p\ndescription: d\npersonas: [correctness, terse]\n")
    annotate_stage(context(run_dir, preset=str(panel)))
    same = context(run_dir, preset=str(panel))
    annotate_stage(same)
    assert same.skipped == ["annotate"]
    persona.write_text("name: terse\ninclude: concise\nbiases: {position: 0.5}\n")
    edited = context(run_dir, preset=str(panel))
    annotate_stage(edited)
    assert edited.ran == ["annotate"]
