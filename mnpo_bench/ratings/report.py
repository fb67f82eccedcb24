"""report.md: the headline table and the findings in plain words."""

from __future__ import annotations

import math

import pandas as pd

from mnpo_bench.ratings.compute import Leaderboard

BIAS = 0.10  # an annotator more than this far from 1/2 in position or length preference is called biased


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _num(x: float, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{(x if abs(x) >= 0.5 * 10**-digits else 0.0):.{digits}f}"  # no "-0.00"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def render_report(board: Leaderboard, source: str, bench_columns: list[str]) -> str:
    """The markdown report of `board` (ratings from `source`), bench columns joined if any."""
    d, table = board.diagnostics, board.ratings
    head = [f"# Leaderboard: {source}", "",
            f"{d['n_models']} models, {d['n_battles']:,} battles ({d['n_failures']:,} failed judgments left out), "
            f"{len(board.annotators)} annotator(s), {d['bootstrap']} bootstrap rounds "
            f"(resampling {d.get('bootstrap_resamples', 'battles')}), reference: {d['reference'] or 'none'}.",
            "", "## Ratings", ""]
    rows = [[str(r.rank_ub), r.model, f"{_num(r.bt)} [{_num(r.bt_lo)}, {_num(r.bt_hi)}]",
             f"{_pct(r.win_rate)} [{_pct(r.win_rate_lo)}, {_pct(r.win_rate_hi)}]", _pct(r.win_rate_vs_ref),
             _pct(r.lc_win_rate_vs_ref), _pct(r.nash_mass), _num(r.nash_skill, 2), _num(r.copeland, 1), f"{r.n_battles:,}"]
            for r in table.itertuples()]
    lines = head + _table(["rank", "model", "Bradley-Terry (95% CI)", "win rate vs field (95% CI)", "vs reference",
                           "LC vs reference", "maximal lottery", "Nash skill", "Copeland", "battles"], rows)
    lines += ["", "rank: 1 + the number of models whose Bradley-Terry lower bound is above this model's upper bound. "
              "Win rate vs field: expected score against the uniform mixture of the other models. "
              "Nash skill: expected log-odds against the Nash-averaging equilibrium (0 = in its support).",
              "", "## Findings", ""]
    lines += [f"- {finding}" for finding in findings(board)]
    lines += nash_gap_section(board) + paired_section(board)
    lines += ["", "## Annotators", ""]
    lines += _table(["annotator", "battles", "failures", "agreement", "prefers first shown", "prefers longer"],
                    [[a.annotator, f"{a.n_battles:,}", f"{a.failures:,}", _pct(a.agreement), _pct(a.position_bias),
                      _pct(a.length_bias)] for a in board.annotators.itertuples()])
    if bench_columns:
        lines += ["", "## Standard benchmarks", ""]
        lines += _table(["model", *bench_columns],
                        [[r["model"], *(_num(r[c], 3) for c in bench_columns)] for _, r in table.iterrows()])
    return "\n".join(lines) + "\n"


def nash_gap_section(board: Leaderboard) -> list[str]:
    """The Nash gap table: per model the gap with its CI, per annotator, and answer diversity."""
    table = board.ratings
    if "nash_gap" not in table or table["nash_gap"].isna().all():
        return []
    per = board.annotator_ratings.pivot(index="model", columns="annotator", values="nash_gap")
    personas = [str(c) for c in per.columns]
    rows = [[r.model, f"{_num(r.nash_gap, 3)} [{_num(r.nash_gap_lo, 3)}, {_num(r.nash_gap_hi, 3)}]",
             str(int(r.nash_gap_prompts)), *(_num(per.at[r.model, p], 3) if r.model in per.index else "–" for p in personas),
             _pct(r.diversity), _num(r.length_entropy, 2)]
            for r in table.sort_values(["nash_gap", "model"]).itertuples()]
    lines = ["", "## Nash gap (exploitability)", ""]
    lines += _table(["model", "Nash gap (95% CI)", "prompts", *(f"gap: {p}" for p in personas), "distinct answers",
                     "length entropy (bits)"], rows)
    return lines + ["", "Nash gap: per prompt, how far the best single answer from the pool of all entrants' answers "
                    "beats the model's mix of answers under the panel's aggregated preference, max_y P(y beats model) "
                    "- 1/2, averaged over prompts (0 = unexploitable; a candidate counts only where it was judged "
                    "against every answer the model gave). 95% CI: bootstrap over prompts. Per annotator: the same "
                    "gap under that annotator's judgments alone. Distinct answers: the share of distinct texts among a "
                    "model's answers to a prompt; length entropy: entropy of its answers over length classes "
                    "(floor(log2(characters + 1))), both averaged over prompts."]


PAIRS_SHOWN = 28  # up to this many pairs are all listed; more: only models adjacent in the ranking


def paired_section(board: Leaderboard) -> list[str]:
    """Paired comparisons over the same prompts: the headline metric's pairs, the test and the correction."""
    paired = board.paired
    if paired is None or paired.empty:
        return []
    metric = "win_rate_vs_ref" if (paired["metric"] == "win_rate_vs_ref").any() else "win_rate"
    rows = paired[(paired["metric"] == metric) & paired["p_value"].notna()]
    if rows.empty:
        return []
    shown = rows
    if len(rows) > PAIRS_SHOWN:
        order = list(board.ratings["model"])
        step = rows["model_a"].map(order.index) + 1 == rows["model_b"].map(order.index)
        shown = rows[step]
    label = {"win_rate_vs_ref": "win rate vs the reference", "win_rate": "win rate vs the field"}[metric]
    lines = ["", f"## Paired comparisons ({label}, same prompts)", ""]
    lines += _table(["model A", "model B", "prompts", "A - B (95% CI)", "p (paired t)", "p (Holm)", ""],
                    [[r.model_a, r.model_b, str(int(r.n_prompts)),
                      f"{100 * r.diff:+.1f} [{100 * r.diff_lo:+.1f}, {100 * r.diff_hi:+.1f}] pts", _p(r.p_value),
                      _p(r.p_holm), "significant" if r.significant else ""] for r in shown.itertuples()])
    subset = "" if len(shown) == len(rows) else f" (listed: the {len(shown)} pairs adjacent in the ranking)"
    return lines + ["", f"{int(rows['significant'].sum())} of {len(rows)} pairs differ at 5% after Holm's correction "
                    f"for {len(rows)} tests{subset}. Per prompt, each model's mean score; A - B is the mean of the "
                    "per-prompt differences, its 95% CI a bootstrap over prompts; p: two-sided paired t-test over the "
                    "prompts; p (Holm): Holm's step-down adjustment over all pairs (family-wise error 5%). "
                    "paired.csv also has every pair on the win rate vs the field."]


def _p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def findings(board: Leaderboard) -> list[str]:
    """Plain-language findings: transitivity, equilibria, reference, annotators, data quality."""
    d, table = board.diagnostics, board.ratings
    out = []
    if d["n_significant_cycles"]:
        more = f" ({d['n_significant_cycles']} significant cycles in all)" if d["n_significant_cycles"] > 1 else ""
        out.append(f"The ranking is not transitive: {d['cycles'][0]['text']}, every step significant at 95%{more}.")
    elif d["cyclic_triads"]:
        out.append(f"The pairwise majority has {d['cyclic_triads']} cyclic triad(s), none significant at 95%.")
    else:
        out.append("The pairwise majority is transitive: no cyclic triads.")
    out.append(f"Coefficient of consistence {d['consistency']:.2f} (1 = a strict ranking, 0 = as cyclic as possible); "
               f"{_pct(d['curl_share'])} of the preference signal is cyclic (Hodge), "
               f"{_pct(d['curl_share_support'])} on the maximal lottery's support.")
    lottery = {m: p for m, p in d["maximal_lottery"].items() if p > 1e-3}
    if d["condorcet_winner"]:
        imputed = " (counting Bradley-Terry predictions for pairs that never met)" if d["imputed_pairs"] else ""
        out.append(f"{d['condorcet_winner']} beats every other model head-to-head{imputed} (Condorcet winner); "
                   "the maximal lottery puts all its mass on it.")
    else:
        mix = ", ".join(f"{m} ({_pct(p)})" for m, p in lottery.items())
        out.append(f"No model beats all others; the maximal lottery mixes {mix}.")
    top_bt, top_ml = table["model"].iloc[0], next(iter(d["maximal_lottery"]))
    if top_bt != top_ml and d["maximal_lottery_ci"][top_bt][1] < d["maximal_lottery_ci"][top_ml][0]:
        out.append(f"Bradley-Terry ranks {top_bt} first, but the maximal lottery puts clearly more mass on {top_ml}: "
                   "a single Elo number hides the cycle.")
    outside = table[table["nash_avg_mass"] <= 1e-6].sort_values("nash_skill", ascending=False)
    if len(outside):
        best = outside.iloc[0]
        out.append(f"Nash averaging (unchanged by copies of a model) puts {len(table) - len(outside)} model(s) in its "
                   f"support; the strongest outside it is {best.model} (skill {best.nash_skill:.2f} log-odds).")
    out += _nash_gap_findings(table) + _reference_findings(board) + _annotator_findings(board)
    if d.get("schedule"):
        out.append(schedule_note(d["schedule"]))
    if d["imputed_pairs"]:
        out.append(f"{d['imputed_pairs']} pair(s) never met; the field win rate, Copeland score and equilibria use "
                   "Bradley-Terry predictions for them.")
    return out


def _nash_gap_findings(table: pd.DataFrame) -> list[str]:
    gaps = table.dropna(subset=["nash_gap"]) if "nash_gap" in table else table.iloc[:0]
    if len(gaps) < 2:
        return []
    low, high = gaps.loc[gaps["nash_gap"].idxmin()], gaps.loc[gaps["nash_gap"].idxmax()]
    separated = " (the intervals do not overlap)" if low.nash_gap_hi < high.nash_gap_lo else " (the intervals overlap)"
    return [f"Least exploitable: {low.model}, Nash gap {_num(low.nash_gap, 3)} [{_num(low.nash_gap_lo, 3)}, "
            f"{_num(low.nash_gap_hi, 3)}]; most: {high.model}, {_num(high.nash_gap, 3)} [{_num(high.nash_gap_lo, 3)}, "
            f"{_num(high.nash_gap_hi, 3)}]{separated}."]


def _reference_findings(board: Leaderboard) -> list[str]:
    d, table = board.diagnostics, board.ratings
    if d["reference"] is None:
        return []
    others = table[table["model"] != d["reference"]].dropna(subset=["win_rate_vs_ref"])
    if others.empty:
        return []
    best = others.sort_values("win_rate_vs_ref", ascending=False).iloc[0]
    out = [f"Best against the reference ({d['reference']}): {best.model}, {_pct(best.win_rate_vs_ref)} "
           f"(length-controlled {_pct(best.lc_win_rate_vs_ref)})."]
    shift = (others["lc_win_rate_vs_ref"] - others["win_rate_vs_ref"]).abs()
    if shift.notna().any() and shift.max() > 0.02:
        moved = others.loc[shift.idxmax()]
        out.append(f"Length control moves {moved.model} the most: {_pct(moved.win_rate_vs_ref)} raw, "
                   f"{_pct(moved.lc_win_rate_vs_ref)} at equal length.")
    return out


def _annotator_findings(board: Leaderboard) -> list[str]:
    out = []
    spread = pd.DataFrame.from_dict(board.diagnostics["rank_spread"], orient="index").dropna()
    if len(board.annotators) > 1 and len(spread) and spread["rank_spread"].max() > 0:
        widest = spread[spread["rank_spread"] == spread["rank_spread"].max()]
        named = "; ".join(f"{m} from {int(r.rank_best)} to {int(r.rank_worst)}" for m, r in widest.head(3).iterrows())
        out.append(f"Annotators disagree most about {named} (rank by each annotator's own Bradley-Terry).")
    for a in board.annotators.itertuples():
        if not math.isnan(a.position_bias) and abs(a.position_bias - 0.5) > BIAS:
            out.append(f"{a.annotator} prefers the response shown first {_pct(a.position_bias)} of the time.")
        if not math.isnan(a.length_bias) and abs(a.length_bias - 0.5) > BIAS:
            out.append(f"{a.annotator} prefers the longer response {_pct(a.length_bias)} of the time.")
        if a.failures:
            out.append(f"{a.annotator}: {a.failures:,} judgment(s) failed ({_pct(a.failure_rate)}); "
                       "they are left out, not counted as ties.")
    return out


def schedule_note(schedule: dict) -> str:
    """One sentence: which schedule chose the comparisons, the share of pairs it observed and its calls."""
    budget = "no budget" if schedule["budget"] is None else f"a budget of {schedule['budget']:,} judge calls"
    return (f"Schedule {schedule['schedule']} ({budget}; {schedule['calls']:,} calls in {schedule['rounds']} "
            f"round(s), stopped: {schedule['stopped']}) observed {schedule['pairs_observed']} of "
            f"{schedule['pairs_total']} pairs ({_pct(schedule['pairs_observed'] / max(schedule['pairs_total'], 1))}); "
            "pairs never met are imputed from Bradley-Terry.")
