"""Soft labels, one meaning per hyperparameter name, and the `paper` profile's release settings: SPPO's win-rate
targets, IPO's two forms, per-iteration schedules. Expected values are worked out by hand in each docstring or
transcribed from the official code named there."""

import math

import pandas as pd
import pytest
import torch

from mnpo_bench.errors import UserError
from mnpo_bench.train.data import add_win_rates
from mnpo_bench.train.iteration import select_pairs
from mnpo_bench.train.objectives import OBJECTIVES, PairLogps
from mnpo_bench.train.recipes import LossSettings, builtin_recipe_files, load_recipe


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def _batch(pc, pr, rc, rr, prob, oc=None, orr=None, tokens=(1.0, 1.0), win=None):
    b = len(pc)
    oc = torch.zeros(1, b, dtype=torch.float64) if oc is None else oc
    orr = torch.zeros(1, b, dtype=torch.float64) if orr is None else orr
    return PairLogps(t(*pc), t(*pr), t(*rc), t(*rr), oc, orr, torch.full((b,), tokens[0], dtype=torch.float64),
                     torch.full((b,), tokens[1], dtype=torch.float64), t(*prob), win_rates=win)


# -- soft labels ------------------------------------------------------------------------------------------
def test_soft_labels_through_the_recipe_adapters():
    """Every margin 0 (θ = ref = opponent), β = 0.25, so a squared-error loss is its target squared: the hard
    target 1/(2·0.25) = 2 becomes 2·(2p − 1): p = 0.9 → 1.6, loss 2.56; p = 0.6 → 0.4, loss 0.16.
    DPO with soft labels is cDPO with ε = 1 − p at z = 0: −p·log ½ − (1 − p)·log ½ = log 2 for any p; with a
    policy margin ln 4 (σ(z) = 0.8 at β = 1): p = 0.9 → −0.9·ln 0.8 − 0.1·ln 0.2 = 0.200829 + 0.160944 = 0.361773."""
    zero = (0.0, 0.0)
    batch = _batch(zero, zero, zero, zero, (0.9, 0.6))
    for name in ("mnpo", "inpo", "ipo", "onpo"):
        soft = OBJECTIVES.get(name)(batch, LossSettings(name=name, beta=0.25, ratio=0.5, soft_labels=True))
        assert soft.tolist() == pytest.approx([2.56, 0.16]), name
        hard = OBJECTIVES.get(name)(batch, LossSettings(name=name, beta=0.25, ratio=0.5))
        assert hard.tolist() == pytest.approx([4.0, 4.0]), name
    ln4 = math.log(4.0)
    dpo = OBJECTIVES.get("dpo")(_batch((ln4, 0.0), zero, zero, zero, (0.9, 0.5)),
                                LossSettings(name="dpo", beta=1.0, soft_labels=True))
    assert dpo.tolist() == pytest.approx([0.361773, math.log(2.0)], abs=1e-6)  # margins ln 4 and 0


def test_soft_labels_are_off_in_every_shipped_recipe_but_egpo_and_cdpo():
    on = {path.stem for path in builtin_recipe_files()
          for profile in ("tiny", "paper") if load_recipe(str(path), profile).loss.soft_labels}
    assert on == {"egpo", "cdpo"}  # EGPO's release regresses on p; cDPO is the soft-label DPO by definition


# -- one meaning per name ---------------------------------------------------------------------------------
@pytest.mark.parametrize("loss, fix", [
    ({"name": "mnpo", "eta": 0.1}, "loss.eta is now loss.beta"),
    ({"name": "simpo", "beta": 2.0, "gamma": 0.5}, "loss.margin = gamma/beta"),
])
def test_old_names_are_one_line_errors_with_the_migration(tmp_path, loss, fix):
    path = tmp_path / "old.yaml"
    path.write_text(f"method: old\nloss: {loss}\n".replace("'", ""))
    with pytest.raises(UserError) as info:
        load_recipe(str(path))
    line = info.value.line()
    assert f"old.yaml: field 'loss.{next(k for k in loss if k in ('eta', 'gamma'))}' was renamed" in line
    assert fix in line and "\n" not in line
    with pytest.raises(UserError, match=r"overrides of recipe sppo \(--set or train.overrides\): field 'loss.eta' was renamed.*1/eta"):
        load_recipe("sppo", overrides={"loss": {"eta": 10.0}})


def test_margin_is_simpos_alone_and_beta_is_the_regularisation_everywhere():
    with pytest.raises(UserError, match="loss.margin is SimPO's"):
        load_recipe("mnpo", overrides={"loss": {"margin": 5.0}})
    with pytest.raises(UserError, match="set it for simpo"):
        load_recipe("simpo", overrides={"loss": {"margin": None}})
    # the tiny numbers of the renamed recipes: MNPO/INPO η 0.1 (5-nat target), SPPO β = 1/η = 0.1, SimPO γ = 0.5
    assert {m: load_recipe(m).loss.beta for m in ("mnpo", "inpo", "ht_mnpo", "onpo", "sppo", "sppo_pair")} == \
        dict.fromkeys(("mnpo", "inpo", "ht_mnpo", "onpo", "sppo", "sppo_pair"), 0.1)
    simpo = load_recipe("simpo").loss
    assert simpo.beta * simpo.margin == 0.5


# -- SPPO: win rates against the K samples -----------------------------------------------------------------
def _three_samples():
    """One prompt, samples A, B, C, every pair labelled: P(A ≻ B) = 0.8, P(B ≻ C) = 0.6, P(C ≻ A) = 0.3."""
    return pd.DataFrame({"prompt_id": ["x"] * 3, "prompt": ["q"] * 3, "chosen": ["A", "B", "C"],
                         "rejected": ["B", "C", "A"], "prob": [0.8, 0.6, 0.3],
                         "chosen_id": ["a", "b", "c"], "rejected_id": ["b", "c", "a"]})


def test_sppo_win_rates_are_the_rows_of_the_k_by_k_matrix():
    """The release's matrix with diagonal ½ (scripts/compute_prob.py), each row's mean:
    w(A) = (½ + 0.8 + 0.7)/3 = 2/3, w(B) = (0.2 + ½ + 0.6)/3 = 13/30, w(C) = (0.4 + 0.3 + ½)/3 = 0.4.
    They average ½, as win rates of a population against itself must."""
    rows = add_win_rates(_three_samples())
    assert rows["chosen_winrate"].tolist() == pytest.approx([2 / 3, 13 / 30, 0.4])
    assert rows["rejected_winrate"].tolist() == pytest.approx([13 / 30, 0.4, 2 / 3])


def test_sppo_trains_best_vs_worst_on_their_win_rates():
    """best_vs_worst keeps (A, C), the panel's direction (P(A ≻ C) = 0.7), with w_w = 2/3 and w_l = 0.4.
    Policy log-ratios to π_t: +0.2 and −0.1; β = 0.5 gives targets (2/3 − ½)/0.5 = 1/3 and (0.4 − ½)/0.5 = −0.2:
    loss = ((0.2 − 1/3)² + (−0.1 + 0.2)²)/2 = (0.0177778 + 0.01)/2 = 0.0138889 (uclaml/SPPO sppo/trainer.py,
    loss_type "sppo")."""
    recipe = load_recipe("sppo", overrides={"loss": {"beta": 0.5}})
    pair = select_pairs(recipe, _three_samples())
    assert (pair["chosen_id"].tolist(), pair["rejected_id"].tolist()) == (["a"], ["c"])
    win = torch.tensor(pair[["chosen_winrate", "rejected_winrate"]].to_numpy(), dtype=torch.float64)  # (1, 2)
    batch = _batch((0.2,), (-0.1,), (0.0,), (0.0,), tuple(pair["prob"]), win=win)
    got = OBJECTIVES.get("sppo")(batch, recipe.loss)
    assert got.item() == pytest.approx(((0.2 - 1 / 3) ** 2 + 0.1**2) / 2)
    assert "chosen_winrate" not in select_pairs(load_recipe("sppo_pair"), _three_samples())  # the pair form needs none


def test_given_win_rates_are_kept_and_checked():
    rows = _three_samples().assign(chosen_winrate=0.9, rejected_winrate=0.1)
    assert add_win_rates(rows)["chosen_winrate"].tolist() == [0.9] * 3
    with pytest.raises(UserError, match="chosen_winrate/rejected_winrate must be numbers in"):
        add_win_rates(rows.assign(rejected_winrate=1.5))


# -- IPO: summed and length-normalised ------------------------------------------------------------------
def _trl_ipo(policy_tokens, ref_tokens, mask, beta):
    """TRL's DPOTrainer loss_type "ipo" (trl 1.16 trl/trainer/dpo_trainer.py), transcribed: per-token scores
    log π − log π_ref summed over the completion, divided by its token count, chosen minus rejected, then
    (Δ − 1/(2β))². Tensors (2B, T): chosen rows first; mask 1 on completion tokens."""
    scores = ((policy_tokens - ref_tokens) * mask).sum(dim=1)
    chosen_scores, rejected_scores = scores.chunk(2, dim=0)
    chosen_mask, rejected_mask = mask.chunk(2, dim=0)
    chosen_avg_score = chosen_scores / chosen_mask.sum(dim=1).clamp(min=1.0)
    rejected_avg_score = rejected_scores / rejected_mask.sum(dim=1).clamp(min=1.0)
    ipo_delta = chosen_avg_score - rejected_avg_score
    return (ipo_delta - 1 / (2 * beta)) ** 2


def test_ipo_norm_is_trls_ipo_and_ipo_is_the_summed_form():
    g = torch.Generator().manual_seed(5)
    b, length = 4, 9
    policy = -torch.rand(2 * b, length, generator=g, dtype=torch.float64) * 3
    ref = -torch.rand(2 * b, length, generator=g, dtype=torch.float64) * 3
    lengths = torch.tensor([3, 9, 5, 1, 7, 2, 9, 4])
    mask = (torch.arange(length)[None, :] < lengths[:, None]).to(torch.float64)
    sums_p, sums_r, n = (policy * mask).sum(1), (ref * mask).sum(1), lengths.to(torch.float64)
    batch = PairLogps(sums_p[:b], sums_p[b:], sums_r[:b], sums_r[b:], torch.zeros(0, b), torch.zeros(0, b), n[:b], n[b:],
                      torch.ones(b, dtype=torch.float64))
    norm = load_recipe("ipo_norm").loss
    assert norm.name == "ipo" and norm.average_logps and load_recipe("ipo_norm", "paper").loss.average_logps
    torch.testing.assert_close(OBJECTIVES.get("ipo")(batch, norm), _trl_ipo(policy, ref, mask, norm.beta))
    summed = load_recipe("ipo").loss
    assert not summed.average_logps and not load_recipe("ipo", "paper").loss.average_logps
    azar = ((sums_p[:b] - sums_p[b:]) - (sums_r[:b] - sums_r[b:]) - 1 / (2 * summed.beta)) ** 2  # IPO eq. 17
    torch.testing.assert_close(OBJECTIVES.get("ipo")(batch, summed), azar)


# -- the paper profile and its schedules ------------------------------------------------------------------
def test_per_iteration_schedules_of_the_mnpo_release():
    """smiles724/MNPO training_configs/gemma-2-9b-it-mnpo-iter1-armo.yaml: η 0.0075, r 0.3333; iter2-armo: η 0.005,
    r 0.85; later iterations keep the last entry. The tiny profile has no schedule."""
    for method in ("mnpo", "inpo", "ht_mnpo"):
        paper = load_recipe(method, "paper")
        got = [(paper.at_iteration(t).loss.beta, round(paper.at_iteration(t).loss.ratio, 4)) for t in (1, 2, 3, 4)]
        assert got == [(0.0075, 0.3333), (0.005, 0.85), (0.005, 0.85), (0.005, 0.85)], method
        assert paper.loss.average_logps and paper.at_iteration(2).loss.average_logps  # the release averages
        tiny = load_recipe(method)
        assert tiny.at_iteration(3) is tiny and not tiny.loss.average_logps


def test_a_schedule_entry_is_validated_before_any_work(tmp_path):
    path = tmp_path / "sched.yaml"
    path.write_text("method: sched\nloss: {name: dpo, beta: 0.1}\nschedule:\n  - loss: {beta: 0.2}\n"
                    "  - optim: {lr: -1}\n")
    with pytest.raises(UserError, match=r"sched\.yaml schedule\[1\]: field 'optim.lr'"):
        load_recipe(str(path))
    path.write_text("method: sched\nloss: {name: dpo, beta: 0.1}\nschedule:\n  - {method: other}\n")
    with pytest.raises(UserError, match="schedule entries may set loss, opponents, optim, not 'method'"):
        load_recipe(str(path))
    path.write_text("method: sched\nloss: {name: dpo, beta: 0.1}\nschedule:\n  - loss: {beta: 0.2}\n"
                    "  - optim: {lr: 1.0e-4}\n")
    recipe = load_recipe(str(path))
    assert [(recipe.at_iteration(i).loss.beta, recipe.at_iteration(i).optim.lr) for i in (1, 2, 5)] == \
        [(0.2, recipe.optim.lr), (0.1, 1e-4), (0.1, 1e-4)]  # each entry overrides the recipe, not the last entry


def test_simpo_dpo_and_sppo_paper_settings_are_the_releases():
    simpo = load_recipe("simpo", "paper")  # princeton-nlp/SimPO training_configs/gemma-2-9b-it-simpo.yaml
    assert (simpo.loss.beta, simpo.loss.margin, simpo.optim.lr, simpo.optim.grad_accum) == (10.0, 0.5, 8e-7, 16)
    dpo = load_recipe("dpo", "paper")  # SimPO README.md, DPO row Gemma
    assert (dpo.loss.beta, dpo.optim.lr, dpo.loss.average_logps) == (0.01, 5e-7, False)
    sppo = load_recipe("sppo", "paper")  # uclaml/SPPO scripts/pipeline.sh, run_sppo_gemma-2.sh
    assert (sppo.loss.name, sppo.loss.beta, sppo.optim.lr, sppo.optim.schedule) == ("sppo", 0.001, 5e-7, "linear")
    assert (load_recipe("sppo_pair").loss.name, load_recipe("sppo_pair", "paper").loss.beta) == ("sppo_pair", 0.001)
