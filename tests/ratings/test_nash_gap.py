"""Planted Nash gaps: answers playing a cycle r < p < s < r plus a dominated answer d, judged exactly.

P(p > r) = 0.6, P(s > p) = 0.7, P(r > s) = 0.6, and every one of r, p, s beats d with 0.9. The equilibrium
of the cycle is found here by scipy's LP on the margin game; the "mixer" policy plays it with 8 answers.
Each policy's expected gap is computed here straight from the planted matrix: max_y sum_x pi(x) P[y, x] - 1/2.
"""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from mnpo_bench.ratings.battles import check_battles
from mnpo_bench.ratings.compute import rate
from mnpo_bench.ratings.nash_gap import nash_table

TEXTS = {"r": "rock", "p": "paper!", "s": "scissors, clearly", "d": "no"}
ANSWERS = list(TEXTS)
LETTER = {text: i for i, text in enumerate(TEXTS.values())}
K = 8  # answers per policy and prompt


def planted(beats_d: float = 0.9) -> np.ndarray:
    """P[y, x] = P(answer y beats answer x) over ANSWERS (r, p, s, d); r, p, s beat d with `beats_d`."""
    P = np.full((4, 4), 0.5)
    for w, l, prob in [(1, 0, 0.6), (2, 1, 0.7), (0, 2, 0.6)]:  # (winner, loser, probability)
        P[w, l], P[l, w] = prob, 1 - prob
    for y in range(3):
        P[y, 3], P[3, y] = beats_d, 1 - beats_d
    return P


JUDGES = {"fair": planted(0.9), "lenient": planted(0.6)}  # 'lenient' minds the short answer d less
AGGREGATED = (JUDGES["fair"] + JUDGES["lenient"]) / 2  # equal battles per persona


def equilibrium_of_cycle(P: np.ndarray) -> np.ndarray:
    """Maximin mixture over r, p, s of the margin game M = P - P^T, by LP: max v s.t. M^T q >= v."""
    M = (P - P.T)[:3, :3]
    c = np.array([0, 0, 0, -1.0])
    result = linprog(c, A_ub=np.hstack([-M.T, np.ones((3, 1))]), b_ub=np.zeros(3), A_eq=[[1, 1, 1, 0]], b_eq=[1],
                     bounds=[(0, None)] * 3 + [(None, None)], method="highs")
    return result.x[:3]


def mixer_counts() -> list[int]:
    q = equilibrium_of_cycle(planted())
    counts = np.rint(q * K).astype(int)
    assert counts.sum() == K and np.allclose(counts / K, q)  # the planted cycle's equilibrium is (1/2, 1/4, 1/4)
    return counts.tolist()


def policies() -> dict[str, list[str]]:
    """Each policy's K answers (as answer letters) on every prompt."""
    r, p, s = mixer_counts()
    return {"rock": ["r"] * K, "paper": ["p"] * K, "scissors": ["s"] * K, "dominated": ["d"] * K,
            "mixer": ["r"] * r + ["p"] * p + ["s"] * s}


def expected_gap(mix: list[str], P: np.ndarray) -> float:
    pi = np.array([mix.count(a) for a in ANSWERS]) / len(mix)
    return float(max((P @ pi).max(), 0.5) - 0.5)


def tournament(n_prompts=3, hard=False, seed=0):
    """(battles, responses): every cross-policy answer pair on every prompt, both orders, by two personas:
    JUDGES. Soft (prob_a exact) or sampled winners."""
    rng = np.random.default_rng(seed)
    responses = pd.DataFrame([{"response_id": f"{m}/q{q}/{i}", "policy": m, "prompt_id": f"q{q}", "text": TEXTS[a]}
                              for q in range(n_prompts) for m, mix in policies().items() for i, a in enumerate(mix)])
    rows = []
    for q, group in responses.groupby("prompt_id"):
        for x, y in itertools.combinations(group.itertuples(), 2):
            if x.policy == y.policy:
                continue
            for persona, P in JUDGES.items():
                for order in ("ab", "ba"):
                    prob = P[LETTER[x.text], LETTER[y.text]]
                    row = {"model_a": x.policy, "model_b": y.policy, "prompt_id": q, "annotator": persona, "order": order,
                           "response_a_id": x.response_id, "response_b_id": y.response_id}
                    if hard:
                        row["winner"] = "model_a" if rng.random() < prob else "model_b"
                    else:
                        row["winner"], row["prob_a"] = ("model_a" if prob >= 0.5 else "model_b"), prob
                    rows.append(row)
    return pd.DataFrame(rows), responses


def test_exact_judgments_give_the_planted_gaps():
    battles, responses = tournament()
    checked = check_battles(battles, "t")
    table, per_annotator = nash_table(checked, responses, rounds=50, seed=0)
    table.index = checked.models
    for policy, mix in policies().items():
        assert table.loc[policy, "nash_gap"] == pytest.approx(expected_gap(mix, AGGREGATED), abs=1e-9)
        for persona, P in JUDGES.items():
            got = per_annotator.set_index(["annotator", "model"]).loc[(persona, policy), "nash_gap"]
            assert got == pytest.approx(expected_gap(mix, P), abs=1e-9)
    assert table["nash_gap"].idxmax() == "dominated"
    assert table.loc["dominated", "nash_gap"] == pytest.approx(0.25)  # (0.9 + 0.6) / 2 - 1/2, by hand
    assert table.loc["mixer", "nash_gap"] == pytest.approx(0.0, abs=1e-9)  # the equilibrium cannot be exploited
    assert table.loc["rock", "nash_gap"] == pytest.approx(0.1) and table.loc["paper", "nash_gap"] == pytest.approx(0.2)
    assert (table["nash_gap_prompts"] == 3).all()


def test_diversity_counts_distinct_texts_and_their_length_classes():
    battles, responses = tournament()
    checked = check_battles(battles, "t")
    table, _ = nash_table(checked, responses, rounds=0, seed=0)
    table.index = checked.models
    assert table.loc["rock", "diversity"] == pytest.approx(1 / K)
    assert table.loc["mixer", "diversity"] == pytest.approx(3 / K)
    assert table.loc["rock", "length_entropy"] == 0.0
    # mixer: "rock" (4 chars), "paper!" (6), "scissors, clearly" (17) -> classes floor(log2(len + 1)) = 2, 2, 4
    r, p, s = (c / K for c in mixer_counts())
    two, four = r + p, s
    assert table.loc["mixer", "length_entropy"] == pytest.approx(-(two * np.log2(two) + four * np.log2(four)))


def test_sampled_winners_keep_the_mixer_near_zero_and_the_interval_covers_the_truth():
    battles, responses = tournament(n_prompts=30, hard=True, seed=3)
    board = rate(check_battles(battles, "t"), reference=None, bootstrap=200, seed=0, responses=responses)
    row = board.ratings.set_index("model")
    assert row["nash_gap"].idxmax() == "dominated"
    assert row.loc["mixer", "nash_gap"] < 0.05
    for policy, mix in policies().items():
        truth = expected_gap(mix, AGGREGATED)
        assert row.loc[policy, "nash_gap_lo"] - 0.02 <= truth <= row.loc[policy, "nash_gap_hi"] + 0.02, policy
    assert "nash_gap" in board.annotator_ratings.columns


def test_without_response_ids_each_model_is_one_answer_per_prompt():
    """AlpacaEval-style battles (one answer per model and prompt): the pure policies' gaps against the
    aggregated matrix, computed from P directly."""
    battles, _ = tournament()
    pure = battles[battles["model_a"].isin(["rock", "paper", "scissors", "dominated"])
                   & battles["model_b"].isin(["rock", "paper", "scissors", "dominated"])]
    pure = pure.drop(columns=["response_a_id", "response_b_id"])
    checked = check_battles(pure, "t")
    table, _ = nash_table(checked, None, rounds=0, seed=0)
    table.index = checked.models
    for policy in ("rock", "paper", "scissors", "dominated"):
        assert table.loc[policy, "nash_gap"] == pytest.approx(expected_gap(policies()[policy], AGGREGATED))
    assert table["diversity"].isna().all()


def test_a_filtered_battles_table_keeps_each_rows_prob_a():
    """check_battles reads columns by position: a table filtered from a bigger one (any index) keeps its
    rows' prob_a (it used to be aligned by index label, mixing rows)."""
    battles, _ = tournament(n_prompts=1)
    part = battles.iloc[::-7]
    checked = check_battles(part, "t")
    assert np.allclose(checked.frame["prob_a"].to_numpy(), part["prob_a"].to_numpy())


def test_the_leaderboard_verb_reads_the_answers_texts(tmp_path, capsys):
    from typer.testing import CliRunner

    from mnpo_bench.cli import app, main

    battles, responses = tournament(n_prompts=2)
    battles.to_parquet(tmp_path / "battles.parquet")
    responses.to_parquet(tmp_path / "responses.parquet")
    result = CliRunner().invoke(app, ["leaderboard", str(tmp_path / "battles.parquet"), "--out", str(tmp_path / "board"),
                                      "--responses", str(tmp_path / "responses.parquet"), "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    ratings = pd.read_csv(tmp_path / "board" / "ratings.csv").set_index("model")
    assert ratings.loc["mixer", "diversity"] == pytest.approx(3 / K)
    assert ratings.loc["mixer", "nash_gap"] == pytest.approx(0.0, abs=1e-9)
    code = main(["leaderboard", str(tmp_path / "battles.parquet"), "--out", str(tmp_path / "b2"),
                 "--responses", str(tmp_path / "battles.parquet")])
    assert code == 2 and "response_id, text" in capsys.readouterr().err and not (tmp_path / "b2").exists()
