"""`--from alpaca-eval` on AlpacaEval results folders built from the real AlpacaEval-2 annotations
(../shared/data/alpaca_eval): the baseline's own folder is skipped with a counted note, and folders of two
judges give separate per-judge ratings, each equal to that judge's win rate computed here independently."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnpo_bench.errors import UserError
from mnpo_bench.ratings.importers import load_source
from mnpo_bench.ratings.leaderboard import build_leaderboard

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "alpaca_eval"
BASELINE, JUDGE = "gpt4_1106_preview", "weighted_alpaca_eval_gpt4_turbo"
MODELS = ("gemma-7b-it", "phi-2", "claude-2.1")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real AlpacaEval data not found at {DATA}")


def _real(model: str) -> list[dict]:
    with gzip.open(DATA / f"{model}.annotations.json.gz", "rt") as handle:
        return json.load(handle)


def _results_folder(root: Path, judges: dict[str, dict[str, list[dict]]]) -> Path:
    """AlpacaEval's layout: root/<model>/<judge>/annotations.json."""
    for judge, by_model in judges.items():
        for model, rows in by_model.items():
            path = root / model / judge / "annotations.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(rows))
    return root


def _baseline_vs_itself(rows: list[dict]) -> list[dict]:
    """What AlpacaEval's results/gpt4_1106_preview/weighted_alpaca_eval_gpt4_turbo/annotations.json holds:
    the baseline's answer on both sides of every instruction, preference 1.5 on all 805 rows."""
    return [{**r, "output_2": r["output_1"], "generator_2": BASELINE, "preference": 1.5} for r in rows]


def _win_rate(rows: list[dict]) -> float:
    """AlpacaEval's weighted win rate, by hand: mean(preference - 1) over rows with a preference, 0 a tie."""
    prefs = [1.5 if float(r["preference"]) == 0 else float(r["preference"]) for r in rows
             if r["preference"] not in (None, "")]
    return float(np.mean(prefs) - 1)


def test_the_baselines_own_annotations_are_skipped_with_a_note(tmp_path, capsys):
    from mnpo_bench.cli import main

    judges = {JUDGE: {m: _real(m) for m in MODELS}}
    judges[JUDGE][BASELINE] = _baseline_vs_itself(judges[JUDGE][MODELS[0]])
    root = _results_folder(tmp_path / "results", judges)
    battles = load_source("alpaca-eval", root)
    assert battles.attrs["notes"] == [f"skipped 805 annotation(s) of a model against itself ({BASELINE}: "
                                      "the baseline's own folder)"]
    assert set(battles["model_b"]) == set(MODELS) and len(battles) == sum(len(judges[JUDGE][m]) for m in MODELS)
    out = tmp_path / "board"
    assert main(["leaderboard", "--from", "alpaca-eval", str(root), "--out", str(out), "--bootstrap", "0"]) == 0
    assert f"note: skipped 805 annotation(s) of a model against itself ({BASELINE}" in capsys.readouterr().out
    ratings = pd.read_csv(out / "ratings.csv").set_index("model")
    published = pd.read_csv(DATA / "published_leaderboard.csv", index_col=0)
    for model in MODELS:
        assert 100 * ratings.loc[model, "win_rate_vs_ref"] == pytest.approx(published.loc[model, "win_rate"], abs=1e-9)


def test_only_self_annotations_is_a_clear_error(tmp_path):
    root = _results_folder(tmp_path / "results", {JUDGE: {BASELINE: _baseline_vs_itself(_real("phi-2"))}})
    with pytest.raises(UserError, match="every annotation compares a model with itself"):
        load_source("alpaca-eval", root)


def _contrarian(rows: list[dict]) -> list[dict]:
    """A second judge from the real rows: it sees 600 of the 805 instructions (chosen by a hash of the
    text), and on those whose hash is odd it reverses the verdict (preference p becomes 3 - p)."""
    out = []
    for r in rows:
        h = int(hashlib.sha1(r["instruction"].encode()).hexdigest(), 16)
        if h % 805 < 600:
            p = r["preference"]
            flipped = p if p in (None, "") or h % 2 == 0 else 3 - float(p)
            out.append({**r, "annotator": "contrarian", "preference": flipped})
    return out


def test_two_judges_give_separate_ratings_each_equal_to_its_own_win_rate(tmp_path):
    real = {m: _real(m) for m in MODELS}
    judges = {JUDGE: real, "contrarian": {m: _contrarian(rows) for m, rows in real.items()}}
    both = build_leaderboard(load_source("alpaca-eval", _results_folder(tmp_path / "two", judges)), tmp_path / "b2",
                             reference=None, bootstrap=0, seed=0)
    per_judge = both.annotator_ratings.set_index(["annotator", "model"])
    assert sorted(both.annotators["annotator"]) == ["contrarian", JUDGE]
    published = pd.read_csv(DATA / "published_leaderboard.csv", index_col=0)
    for model in MODELS:
        assert 100 * per_judge.loc[(JUDGE, model), "win_rate_vs_ref"] == pytest.approx(published.loc[model, "win_rate"], abs=1e-9)
        assert per_judge.loc[(JUDGE, model), "n_battles"] == published.loc[model, "n_total"]
        contrarian = judges["contrarian"][model]
        assert per_judge.loc[("contrarian", model), "win_rate_vs_ref"] == pytest.approx(_win_rate(contrarian), abs=1e-12)
        assert abs(_win_rate(contrarian) - _win_rate(real[model])) > 0.02  # the judges really differ
    # each judge's length-controlled rate is its own: the same as a leaderboard of that judge alone
    alone = build_leaderboard(load_source("alpaca-eval", _results_folder(tmp_path / "one", {JUDGE: real})),
                              tmp_path / "b1", reference=None, bootstrap=0, seed=0).ratings.set_index("model")
    for model in MODELS:
        assert per_judge.loc[(JUDGE, model), "lc_win_rate_vs_ref"] == pytest.approx(alone.loc[model, "lc_win_rate_vs_ref"], abs=1e-9)
    assert both.diagnostics["reference"] == BASELINE
