"""Tournament battles exported as AlpacaEval annotations: alpaca_eval's own get_winrate (the oracle) reads
them and agrees with our win_rate_vs_ref, per judge and pooled, and `--from alpaca-eval` reads them back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mnpo_bench.bench.alpaca import export_annotations
from mnpo_bench.errors import UserError
from mnpo_bench.ratings.importers import load_source
from mnpo_bench.ratings.leaderboard import build_leaderboard
from mnpo_bench.store import RunStore

from .run_fixture import answer_rows, make_run

PAIRS = [("reference", "dpo/iter1"), ("sft", "reference"), ("dpo/iter1", "sft")]  # the last: no baseline


@pytest.fixture()
def run(tmp_path) -> RunStore:
    """make_run plus an "sft" policy and a tournament's battles: two judges, both orders, soft verdicts
    (seeded), hard-only verdicts (prob_a empty), ties and failed judgments."""
    store = make_run(tmp_path / "run")
    evals = store.read_table("prompts").query("split == 'eval'")["prompt_id"].tolist()
    responses = pd.concat([store.read_table("responses"), answer_rows("sft", evals)], ignore_index=True)
    store.write_table("responses", responses)
    rng = np.random.default_rng(7)
    rows = []
    for k, pid in enumerate(evals):
        for a, b in PAIRS:
            for judge in ("judge-x", "judge-y"):
                for o, order in enumerate(("ab", "ba")):
                    kind = ("soft", "hard", "tie", "failed")[(2 * k + o) % 4]  # each kind twice per pair and judge
                    prob = {"soft": rng.uniform(0, 1), "tie": 0.5}.get(kind)
                    winner = {"soft": "model_a" if (prob or 0) > 0.5 else "model_b", "tie": "tie",
                              "hard": rng.choice(["model_a", "model_b"]), "failed": None}[kind]
                    rows.append({"model_a": a, "model_b": b, "winner": winner, "prompt_id": pid, "annotator": judge,
                                 "order": order, "prob_a": prob, "len_a": 10, "len_b": 12,
                                 "response_a_id": f"{a}|{pid}|0", "response_b_id": f"{b}|{pid}|0",
                                 "error": "HTTP 500" if kind == "failed" else None})
    store.write_table("battles", pd.DataFrame(rows))
    return store


@pytest.mark.slow  # imports alpaca_eval (~3 s)
@pytest.mark.filterwarnings("ignore:pkg_resources is deprecated:UserWarning")  # alpaca_eval's own import
def test_alpaca_eval_get_winrate_agrees_with_our_win_rates(run, tmp_path):
    from alpaca_eval.metrics import get_winrate

    written, left_out = export_annotations(run, tmp_path / "ae")
    assert left_out == 4 * 2 * 2  # dpo/iter1 vs sft: 4 prompts x 2 judges x 2 orders
    assert sorted(p.relative_to(tmp_path / "ae").as_posix() for p in written) == [
        f"{m}/{j}/annotations.json" for m in ("dpo/iter1", "sft") for j in ("judge-x", "judge-y")]
    board = build_leaderboard(run.read_table("battles"), tmp_path / "board", reference="reference", bootstrap=0, seed=0)
    per_judge = board.annotator_ratings.set_index(["annotator", "model"])["win_rate_vs_ref"]
    pooled = {m: [] for m in ("dpo/iter1", "sft")}
    for path in written:
        rows = json.loads(path.read_text())
        assert {r["generator_1"] for r in rows} == {"reference"} and len({r["generator_2"] for r in rows}) == 1
        model, judge = rows[0]["generator_2"], rows[0]["annotator"]
        theirs = get_winrate(rows)
        assert theirs["win_rate"] == pytest.approx(100 * per_judge[(judge, model)], abs=1e-9), (judge, model)
        assert theirs["n_total"] == sum(r["preference"] is not None for r in rows) < len(rows)  # failures dropped
        failed = [r for r in rows if r["preference"] is None]
        assert failed and all(r["error"] == "HTTP 500" for r in failed)  # a failure is never a tie
        pooled[model] += rows
    ratings = board.ratings.set_index("model")["win_rate_vs_ref"]
    for model, rows in pooled.items():
        assert get_winrate(rows)["win_rate"] == pytest.approx(100 * ratings[model], abs=1e-9), model


def test_annotations_are_oriented_to_the_baseline_and_read_back(run, tmp_path):
    """preference = 1 + P(the model wins): 1 + prob_a where the model was model_a (sft), 2 - prob_a where the
    reference was (dpo/iter1); the model's answer is output_2 and the order is the one output_1 was shown in.
    The folder reads back as the same battles' win rates, nested names kept."""
    written, _ = export_annotations(run, tmp_path / "ae")
    battles = run.read_table("battles")
    for model, base_is_a in (("sft", False), ("dpo/iter1", True)):
        rows = json.loads((tmp_path / "ae" / model / "judge-x/annotations.json").read_text())
        sides = ("reference", model) if base_is_a else (model, "reference")
        source = battles.query(f"model_a == '{sides[0]}' and model_b == '{sides[1]}' and annotator == 'judge-x'")
        soft = source["prob_a"].notna().to_numpy()
        expected = (2 - source["prob_a"][soft]) if base_is_a else (1 + source["prob_a"][soft])
        assert [r["preference"] for r, s in zip(rows, soft) if s] == pytest.approx(expected.tolist())
        assert all(r["output_2"].startswith(f"{model} answers") and r["output_1"].startswith("reference answers")
                   for r in rows)
        flipped = source["order"].tolist() if base_is_a else ["ba" if o == "ab" else "ab" for o in source["order"]]
        assert [r["order"] for r in rows] == flipped
    sft = json.loads((tmp_path / "ae/sft/judge-x/annotations.json").read_text())
    source = battles.query("model_a == 'sft' and model_b == 'reference' and annotator == 'judge-x'")
    prompts = run.read_table("prompts").set_index("prompt_id")
    assert [r["instruction"] for r in sft] == prompts.loc[source["prompt_id"], "prompt"].tolist()
    again = build_leaderboard(load_source("alpaca-eval", tmp_path / "ae"), tmp_path / "b2", reference="reference",
                              bootstrap=0, seed=0).annotator_ratings.set_index(["annotator", "model"])
    first = build_leaderboard(battles[battles["model_a"] != "dpo/iter1"].query("model_b != 'sft'"), tmp_path / "b1",
                              reference="reference", bootstrap=0, seed=0).annotator_ratings.set_index(["annotator", "model"])
    pd.testing.assert_series_equal(again["win_rate_vs_ref"].sort_index(), first["win_rate_vs_ref"].sort_index())


def test_cli_writes_a_results_folder_and_counts_what_it_leaves_out(run, tmp_path, capsys):
    from mnpo_bench.cli import main

    assert main(["export-alpaca", str(run.root), "--out", str(tmp_path / "ae")]) == 0
    out = capsys.readouterr().out
    assert "wrote 2 model_outputs.json and 4 annotations.json (vs reference)" in out  # policies.json has 2
    assert "note: 16 battle(s) between two other policies left out" in out
    assert (tmp_path / "ae/dpo/iter1/model_outputs.json").exists() and (tmp_path / "ae/sft/judge-y/annotations.json").exists()
    assert main(["export-alpaca", str(run.root), "--baseline", "refrence"]) == 2
    assert "did you mean 'reference'" in capsys.readouterr().err
    run.path("battles.parquet").unlink()
    with pytest.raises(UserError, match="no battles.parquet"):
        export_annotations(run, tmp_path / "ae2")
