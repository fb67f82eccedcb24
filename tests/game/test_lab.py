"""The game lab against theory: every expected equilibrium is computed here, independently of the lab."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog, minimize
from scipy.special import expit, softmax

from mnpo_bench.cli import main
from mnpo_bench.game.lab import run_lab
from mnpo_bench.game.matrices import load_matrix

MIXED = ("cycle", "cycle_dominated", "cycle_clone", "random")


def lp_lottery(P: np.ndarray) -> np.ndarray:
    """max v s.t. (Mᵀp)_j >= v for all j, p in the simplex, M = P − Pᵀ (variables p, v)."""
    n = len(P)
    M = P - P.T
    res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.c_[-M.T, np.ones(n)], b_ub=np.zeros(n),
                  A_eq=np.r_[np.ones(n), 0.0][None], b_eq=[1.0], bounds=[(0, None)] * n + [(None, None)])
    return res.x[:n]


def damped_fixed_point(P: np.ndarray, tau: float) -> np.ndarray:
    """π ← (1 − γ)π + γ·softmax(P π/τ) from uniform (uniform reference) until it stops moving."""
    pi = np.full(len(P), 1 / len(P))
    for _ in range(200_000):
        new = 0.99 * pi + 0.01 * softmax(P @ pi / tau)
        if np.abs(new - pi).max() < 1e-13:
            break
        pi = new
    return pi


@pytest.mark.parametrize("game", ["rps", "cycle", "cycle_dominated", "random"])
def test_maximal_lottery_matches_an_independent_lp(game, tmp_path):
    assert main(["game", game, "--methods", "inpo", "--iterations", "2", "--out", str(tmp_path / "o")]) == 0
    written = pd.read_csv(tmp_path / "o" / "equilibrium.csv")
    P = pd.read_csv(tmp_path / "o" / "matrix.csv", index_col=0).to_numpy()
    assert np.abs(written["mass"].to_numpy() - lp_lottery(P)).max() <= 0.01
    trajectory = pd.read_csv(tmp_path / "o" / "trajectory.csv")
    assert list(trajectory.columns) == ["method", "iteration", "exploitability", "exploitability_avg",
                                        "kl_to_equilibrium"]
    assert (tmp_path / "o" / "exploitability.png").stat().st_size > 1000


@pytest.mark.parametrize("game", MIXED)
def test_inpo_mnpo_egpo_last_iterates_reach_the_regularised_equilibrium(game):
    m = load_matrix(game)
    result = run_lab(m, ["inpo", "mnpo", "egpo"], 200)
    last = result.trajectory.groupby("method").last()
    assert (last["exploitability"] <= 0.05).all(), last
    expected = damped_fixed_point(m.P, tau=0.03 * 2.0)  # lab defaults: ratio 0.03, eta 2 → τ = 0.06
    final = result.policies[result.policies.iteration == 200]
    for method in ("inpo", "mnpo", "egpo"):
        mass = final[final.method == method]["mass"].to_numpy()
        assert np.abs(mass - expected).max() < 0.01, (method, mass, expected)


def test_dpo_settles_on_a_near_pure_answer_with_the_predicted_exploitability():
    m = load_matrix("cycle")  # skewed: margins 0.8, 0.4, 0.2
    n = len(m.P)

    def nll(s):  # Bradley–Terry on uniform (reference) pairs with soft labels
        d = s[:, None] - s[None, :]
        return -(m.P * np.log(expit(d))).sum() + 1e-4 * s @ s / 2

    s = minimize(nll, np.zeros(n), method="BFGS").x
    predicted = softmax((s - s.mean()) / 0.1)
    result = run_lab(m, ["dpo"], 20)
    final = result.policies[(result.policies.iteration == 20)]["mass"].to_numpy()
    assert final.max() > 0.9 and np.abs(final - predicted).max() < 1e-3
    last = result.trajectory.iloc[-1]
    assert abs(last["exploitability"] - ((m.P @ predicted).max() - 0.5)) < 1e-3
    assert last["exploitability"] > 0.05  # a pure-ish answer on a cycle is exploitable


@pytest.mark.parametrize("game", ["cycle", "cycle_clone"])
def test_sppo_average_iterate_converges_while_its_last_iterate_cycles(game):
    result = run_lab(load_matrix(game), ["sppo"], 400)
    last = result.trajectory.iloc[-1]
    assert last["exploitability_avg"] <= 0.05
    assert result.trajectory["exploitability"].tail(100).max() > 0.1


def test_without_regularisation_extragradient_converges_and_mirror_descent_cycles():
    m = load_matrix("cycle")
    off = {"eta": 2.0, "ratio": 0.0}
    result = run_lab(m, ["inpo", "egpo", "onpo"], 400, params={k: off for k in ("inpo", "egpo", "onpo")})
    tail = result.trajectory.groupby("method").tail(50).groupby("method")["exploitability"].max()
    early = result.trajectory[result.trajectory.iteration <= 50].groupby("method")["exploitability"].max()
    final = result.trajectory.groupby("method")["exploitability"].last()
    assert tail["inpo"] > 0.1 and tail["inpo"] > early["inpo"]  # mirror descent's cycles do not shrink
    for method in ("egpo", "onpo"):  # extragradient / optimism spiral in, slowly without the KL term
        assert final[method] < 0.5 * early[method] and final[method] < 0.5 * final["inpo"]


def test_from_run_builds_the_panel_matrix_and_bad_input_exits_2(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    rows = []
    for a, b, prob in (("r0", "r1", 0.9), ("r1", "r2", 0.7), ("r0", "r2", 0.2)):
        for order in ("ab", "ba"):
            for persona, shift in (("p1", 0.05), ("p2", -0.05)):
                rows.append(dict(prompt_id="q1", response_a_id=a, response_b_id=b, persona=persona, order=order,
                                 prob_a=prob + shift, label="a", error=None, latency_s=0.0, cost_usd=0.0,
                                 cache_key="k"))
    rows.append(dict(rows[0], persona="p3", prob_a=None, label=None, error="timeout"))  # a failure, not a tie
    pd.DataFrame(rows).to_parquet(run / "judgments.parquet")
    assert main(["game", "--from-run", str(run), "--prompt", "q1", "--methods", "egpo", "--iterations", "3",
                 "--out", str(tmp_path / "o")]) == 0
    P = pd.read_csv(tmp_path / "o" / "matrix.csv", index_col=0)
    assert P.loc["r0", "r1"] == pytest.approx(0.9) and P.loc["r2", "r0"] == pytest.approx(0.8)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,a,b\na,0.5,0.7\nb,0.7,0.5\n")
    assert main(["game", str(bad), "--out", str(tmp_path / "o2")]) == 2
    assert "bad.csv" in capsys.readouterr().err and not (tmp_path / "o2").exists()
    assert main(["game", "--from-run", str(run), "--prompt", "q9"]) == 2
