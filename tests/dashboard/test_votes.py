"""The DuckDB aggregations against independent pandas computations and against the leaderboard's own files."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from mnpo_bench.dashboard import board as boards
from mnpo_bench.dashboard import votes

HARD = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5}


@pytest.fixture
def alpha(data_root):
    return data_root / "runs" / "alpha"


def test_win_matrix_equals_the_leaderboards_matrix(alpha):
    """Same scores as mnpo_bench.ratings (prob_a where given): the fallback heatmap matches matrix.csv."""
    ours = votes.win_matrix(votes.pairs(alpha / "battles.parquet"))
    theirs = boards.square_matrix(pd.read_csv(alpha / "leaderboard" / "matrix.csv"))
    pd.testing.assert_frame_equal(ours.loc[theirs.index, theirs.columns], theirs, check_names=False, atol=1e-9)


def test_bias_equals_the_leaderboards_annotators_csv(alpha):
    ours = votes.bias(alpha / "battles.parquet").set_index("annotator")
    theirs = pd.read_csv(alpha / "leaderboard" / "annotators.csv").set_index("annotator")
    for column in ("n_battles", "tie_rate", "position_bias", "length_bias"):
        assert ours[column].to_numpy() == pytest.approx(theirs.loc[ours.index, column].to_numpy()), column


def test_failed_battles_count_nowhere(tmp_path):
    rows = pd.DataFrame({
        "model_a": ["x", "x", "x", "y"], "model_b": ["y", "y", "y", "x"],
        "winner": ["model_a", None, "model_b", "tie (bothbad)"], "error": [None, None, "timeout", None],
        "annotator": ["p"] * 4, "prob_a": [None, None, None, None],
    })
    rows.to_parquet(tmp_path / "b.parquet")
    matrix = votes.win_matrix(votes.pairs(tmp_path / "b.parquet"))
    assert matrix.loc["x", "y"] == pytest.approx((1.0 + 0.5) / 2)  # the empty and the failed row are left out
    assert matrix.loc["y", "x"] == pytest.approx(0.5 / 2)


def test_agreement_matches_a_pandas_pivot(alpha):
    battles = pd.read_parquet(alpha / "battles.parquet")
    wide = battles.pivot_table(index=["prompt_id", "model_a", "model_b", "order"], columns="annotator",
                               values="winner", aggfunc="first")
    ours = votes.agreement(alpha / "battles.parquet")
    for x, y in itertools.combinations(wide.columns, 2):
        both = wide[[x, y]].dropna()
        assert ours.loc[x, y] == ours.loc[y, x] == pytest.approx((both[x] == both[y]).mean())
    assert all(ours.loc[p, p] == 1.0 for p in wide.columns)


def test_agreement_from_judgments_leaves_failures_out(alpha):
    judgments = pd.read_parquet(alpha / "judgments.parquet")
    ours = votes.agreement(alpha / "judgments.parquet")
    wide = judgments.pivot_table(index=["prompt_id", "response_a_id", "response_b_id", "order"], columns="persona",
                                 values="label", aggfunc="first")
    both = wide[["fair", "length_lover"]].dropna()
    assert len(both) < len(wide)  # the fixture's failed 'fair' judgments have no label
    assert ours.loc["fair", "length_lover"] == pytest.approx((both["fair"] == both["length_lover"]).mean())


def test_persona_ranks_and_spread(alpha):
    ranks = votes.persona_ranks(alpha / "battles.parquet")
    assert set(ranks["annotator"]) == {"fair", "first_picker", "length_lover"}
    assert (ranks[ranks.model == "reference"]["rank"] == 4).all()  # everyone beats the planted reference
    spread = votes.rank_spread(ranks).set_index("model")
    assert spread.loc["reference", "rank_spread"] == 0
    worst = ranks.groupby("model")["rank"].max() - ranks.groupby("model")["rank"].min()
    assert (spread["rank_spread"] == worst.loc[spread.index]).all()


def test_failures_per_persona(alpha):
    table = votes.failures(alpha / "judgments.parquet").set_index("persona")
    judgments = pd.read_parquet(alpha / "judgments.parquet")
    expected = judgments.groupby("persona")["error"].apply(lambda e: e.notna().mean())
    assert table["failure_rate"].to_numpy() == pytest.approx(expected.loc[table.index].to_numpy())
    assert table.loc["first_picker", "failure_rate"] == 0 < table.loc["fair", "failure_rate"]


def test_a_missing_column_is_named(tmp_path):
    pd.DataFrame({"model_a": ["x"], "model_b": ["y"], "winner": ["tie"]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(Exception, match="needs column\\(s\\) annotator, order, len_a, len_b"):
        votes.bias(tmp_path / "b.parquet")


def test_majority_cycles_and_sentences():
    m = pd.DataFrame([[None, 0.7, 0.3], [0.3, None, 0.8], [0.7, 0.2, None]], index=list("abc"), columns=list("abc"))
    assert boards.majority_cycles(m.astype(float)) == [["a", "b", "c"]]
    board = boards.Board(directory=None, matrix=m.astype(float), diagnostics={"cyclic_triads": 1, "n_significant_cycles": 0})
    sentence = boards.transitivity_sentence(board)
    assert sentence.startswith("The ranking is not transitive (1 cyclic triad)")
    assert "a beats b, b beats c, and c beats a, though no step of it is sure at 95%" in sentence
    ordered = m.astype(float).copy()
    ordered.loc["c", "a"], ordered.loc["a", "c"] = 0.3, 0.7
    assert boards.transitivity_sentence(boards.Board(directory=None, matrix=ordered)).startswith("The ranking is transitive")


def test_square_matrix_reads_wide_and_long_forms():
    wide = pd.DataFrame({"model": ["a", "b"], "a": [None, 0.4], "b": [0.6, None]})
    long = pd.DataFrame({"model_a": ["a", "b"], "model_b": ["b", "a"], "win_rate": [0.6, 0.4]})
    for frame in (wide, long):
        square = boards.square_matrix(frame)
        assert square.loc["a", "b"] == 0.6 and square.loc["b", "a"] == 0.4 and list(square.index) == ["a", "b"]
