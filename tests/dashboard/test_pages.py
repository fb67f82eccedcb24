"""Every page driven by streamlit's AppTest against the fixture runs: no exception, and what it shows."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.dashboard.conftest import DEFAULT, DEFAULT_MODELS, figures, open_page, snapshot, texts

PAGES = ("runs", "leaderboard", "tournament", "annotators", "training", "explorer", "compare")
CYCLE = ("mnpo/iter2", "dpo/iter1", "mnpo/iter1")


def _axes_titled(figure: dict) -> bool:
    layout = figure["layout"]
    axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis")) and v.get("visible", True)]
    return all(((axis.get("title") or {}).get("text") or "") != "" for axis in axes[:2])


@pytest.mark.parametrize("run", ["alpha", "default", "bare", "broken", "linear", "published"])
def test_every_page_renders_every_run_and_writes_nothing(env, run):
    """No page raises on a full run, a run missing tables, a run with corrupt files or a published-only
    leaderboard; every chart has titled axes; no file under the roots changes (read-only)."""
    before = snapshot(env)
    at = open_page("runs", run, run_b="beta")
    for page in PAGES:
        at.switch_page(f"mnpo_bench/dashboard/pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.sidebar.selectbox[0].value == run
        assert at.title[0].value.startswith(page.title())
        for figure in figures(at):
            assert _axes_titled(figure), (page, figure["layout"].get("title"))
    assert snapshot(env) == before


def test_runs_page_lists_runs_with_stages_sizes_and_time(env):
    at = open_page("runs")
    table = at.dataframe[0].value.set_index("run")
    assert {"alpha", "beta", "bare", "broken", "linear", "published"} <= set(table.index)
    assert "escape" not in table.index  # a symlink leaving the root is not a run
    battles = pd.read_parquet(env / "runs" / "alpha" / "battles.parquet")
    assert table.loc["alpha", "battles"] == len(battles)
    assert "tournament" in table.loc["alpha", "stages done"] and "train" not in table.loc["bare", "stages done"]
    assert table.loc["alpha", "size (MB)"] > 0 and table.loc["alpha", "last ran"].startswith("20")
    assert table.loc["published", "stages done"] == "(published leaderboard only)"
    stages = at.dataframe[1].value  # details of the picked run: manifest stages, then tables
    assert list(stages["stage"])[:2] == ["prompts", "policy"] and set(stages["status"]) == {"done"}
    sizes = at.dataframe[2].value.set_index("table")
    assert sizes.loc["battles", "rows"] == len(battles)
    assert "name: alpha" in at.code[0].value  # the resolved config.yaml


def test_runs_page_picks_two_runs_for_compare(env):
    at = open_page("runs")
    at.multiselect[0].set_value(["beta", "alpha"]).run()
    assert at.session_state["run"] == "beta" and at.session_state["run_b"] == "alpha"
    assert [s.value for s in at.subheader] == ["beta", "alpha"]
    at.switch_page("mnpo_bench/dashboard/pages/compare.py").run()
    assert not at.exception
    assert {"beta", "alpha"} <= {s.value for s in at.subheader}


def test_leaderboard_shows_table_charts_and_the_cycle(env):
    at = open_page("leaderboard")
    ratings = pd.read_csv(env / "runs" / "alpha" / "leaderboard" / "ratings.csv")
    table = at.dataframe[0].value
    assert list(table["model"]) == list(ratings.sort_values("bt", ascending=False)["model"])
    assert {"bt", "bt_lo", "bt_hi", "nash_mass", "win_rate_vs_ref", "lc_win_rate_vs_ref"} <= set(table.columns)
    assert {"arith_local/acc", "yesno_local/acc"} <= set(table.columns)  # bench.parquet joined
    warning = at.warning[0].value
    assert "not transitive" in warning and all(model in warning for model in CYCLE)
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert any("Bradley-Terry" in t for t in titles) and any("Nash mass" in t for t in titles)
    assert any("Win rates" in t for t in titles) and any("benchmarks" in t for t in titles)
    bt = next(f for f in figures(at) if "Bradley-Terry" in f["layout"]["title"]["text"])["data"][0]
    assert bt["error_x"]["array"] and len(bt["y"]) == len(ratings)
    assert {"nash_gap", "nash_gap_lo", "nash_gap_hi", "diversity"} <= set(table.columns)
    gap = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Nash gap"))["data"][0]
    by_model = ratings.set_index("model")
    assert dict(zip(gap["y"], gap["x"])) == pytest.approx(by_model["nash_gap"].dropna().to_dict())
    assert gap["y"][-1] == by_model["nash_gap"].idxmax()  # most exploitable on top


def test_leaderboard_sorts_by_any_column(env):
    at = open_page("leaderboard")
    at.selectbox(key="lb_sort").set_value("model").run()
    models = list(at.dataframe[0].value["model"])
    assert models == sorted(models, reverse=True)
    at.toggle(key="lb_ascending").set_value(True).run()
    assert list(at.dataframe[0].value["model"]) == sorted(models)
    at.selectbox(key="lb_sort").set_value("nash_mass").run()
    mass = list(at.dataframe[0].value["nash_mass"])
    assert mass == sorted(mass) and mass[0] == pytest.approx(0.0, abs=1e-6)  # the reference is outside the lottery


def test_leaderboard_of_a_transitive_run_says_so(env):
    at = open_page("leaderboard", "linear")
    assert not at.warning and "is transitive" in at.success[0].value


def _heat(at, title: str) -> tuple[dict, callable]:
    trace = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith(title))["data"][0]
    return trace, lambda a, b: trace["z"][trace["y"].index(a)][trace["x"].index(b)]


def test_tournament_shows_the_leaderboard_matrix_lottery_and_cycle(env):
    at = open_page("tournament")
    matrix = pd.read_csv(env / "runs" / "alpha" / "leaderboard" / "matrix.csv", index_col=0)
    _, cell = _heat(at, "Pairwise win rate (from leaderboard/matrix.csv)")
    assert cell("mnpo/iter2", "dpo/iter1") == pytest.approx(100 * matrix.loc["mnpo/iter2", "dpo/iter1"])
    battles = pd.read_parquet(env / "runs" / "alpha" / "battles.parquet")
    _, count = _heat(at, "Battles per pair")
    pair = (battles.model_a == "mnpo/iter2") & (battles.model_b == "dpo/iter1") & battles.error.isna()
    assert count("mnpo/iter2", "dpo/iter1") == count("dpo/iter1", "mnpo/iter2") == pair.sum()
    graph = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Who beats whom"))
    red = [a for a in graph["layout"]["annotations"] if a.get("showarrow") and a["arrowcolor"] == "crimson"]
    assert len(red) == 3  # the planted 3-cycle, one arrow per step
    cycle = at.dataframe[0].value["cycle"][0]
    assert any(" → ".join(CYCLE[i:] + CYCLE[:i] + CYCLE[i:i + 1]) == cycle for i in range(3)), cycle
    lottery = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Maximal lottery"))["data"][0]
    mass = dict(zip(lottery["y"], lottery["x"]))
    assert mass["reference"] == pytest.approx(0, abs=1e-6) and all(0.2 < mass[m] < 0.45 for m in CYCLE)
    assert {m.label for m in at.metric} == {"cyclic triads", "coefficient of consistence", "cyclic share (Hodge)"}


def test_tournament_without_a_leaderboard_computes_win_rates_from_battles(env):
    """The DuckDB aggregation agrees with an independent pandas computation of the same scores (prob_a
    where given, as the ratings score battles)."""
    at = open_page("tournament", "bare")
    battles = pd.read_parquet(env / "runs" / "bare" / "battles.parquet")
    score = battles["prob_a"].fillna(battles["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5}))
    forward = score[(battles.model_a == "dpo/iter1") & (battles.model_b == "reference")]
    backward = 1 - score[(battles.model_a == "reference") & (battles.model_b == "dpo/iter1")]
    expected = pd.concat([forward, backward]).mean()
    _, cell = _heat(at, "Pairwise win rate (from battles.parquet)")
    assert cell("dpo/iter1", "reference") == pytest.approx(100 * expected)
    assert "not transitive" in at.warning[0].value  # the planted cycle, found in the majority relation


def test_annotators_page_shows_planted_biases_and_per_persona_boards(env):
    at = open_page("annotators")
    bias = next(f for f in figures(at) if "bias" in f["layout"]["title"]["text"])
    position = dict(zip(bias["data"][0]["x"], bias["data"][0]["y"]))
    length = dict(zip(bias["data"][1]["x"], bias["data"][1]["y"]))
    assert position["first_picker"] > 70 > position["fair"] and length["length_lover"] > 75 > length["first_picker"]
    agreement = next(f for f in figures(at) if "Agreement" in f["layout"]["title"]["text"])["data"][0]
    assert all(agreement["z"][i][i] == 100 for i in range(3))
    persona_tables = [d.value for d in at.dataframe if "win rate vs field (%)" in d.value.columns]
    assert len(persona_tables) == 3 and all(list(t["rank"])[0] == 1 for t in persona_tables)
    assert {"fair", "first_picker", "length_lover"} <= {m.value.strip("*") for m in at.markdown}
    assert any("Rank spread" in f["layout"]["title"]["text"] for f in figures(at))


def test_training_page_plots_every_method_and_iteration(env):
    at = open_page("training")
    assert set(at.multiselect[0].value) == {"mnpo", "dpo", "ht-mnpo"}
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert titles == ["Training loss", "Margin: policy log-ratio of chosen minus rejected",
                      "Policy log-probability of the chosen and rejected responses"]
    loss = figures(at)[0]
    assert {t["legendgroup"].split(",")[0] for t in loss["data"]} == {"iter 1", "iter 2"}
    last = at.dataframe[0].value
    metrics = pd.read_json(env / "runs" / "alpha" / "train" / "mnpo" / "metrics.jsonl", lines=True)
    final = metrics[metrics.iteration == 2].sort_values("step").iloc[-1]
    row = last[(last.method == "mnpo") & (last.iteration == 2)].iloc[0]
    assert row["loss"] == pytest.approx(final["loss"]) and row["step"] == final["step"]
    assert set(last[last.method == "ht-mnpo"]["player"]) == {"fair", "first_picker"}
    at.multiselect[0].set_value(["dpo"]).run()
    assert {a["text"] for a in figures(at)[0]["layout"]["annotations"]} == {"dpo"}


def test_training_page_on_the_default_runs_shape(env):
    """No HT-MNPO: `player` is null on every row. The last-step table has one row per method and iteration,
    with the summed skips and mean tokens/s of that iteration's steps (the page once raised a merge error)."""
    at = open_page("training", "default")
    assert set(at.multiselect[0].value) == set(DEFAULT.train.methods)
    last = at.dataframe[0].value
    assert len(last) == len(DEFAULT.train.methods) * DEFAULT.train.iterations and last["player"].isna().all()
    metrics = pd.read_json(env / "runs" / "default" / "train" / "inpo" / "metrics.jsonl", lines=True)
    it2 = metrics[metrics.iteration == 2]
    row = last[(last.method == "inpo") & (last.iteration == 2)].iloc[0]
    assert row["step"] == it2["step"].max() and row["loss"] == pytest.approx(it2.sort_values("step")["loss"].iloc[-1])
    assert row["skipped (examples)"] == it2["skipped"].sum() and row["tokens/s"] == pytest.approx(it2["tokens_per_s"].mean())
    assert len(figures(at)) == 3


def test_explorer_never_reads_a_missing_error_as_a_failure(env):
    """A prompt with one failed vote: every other cell is a verdict (the page once showed "failed: nan" for
    them, NaN being truthy); the count of failed cells equals the failed battles on that prompt."""
    battles = pd.read_parquet(env / "runs" / "alpha" / "battles.parquet")
    pid = battles[battles.error.notna()]["prompt_id"].iloc[0]
    at = open_page("explorer", ex_split="eval", ex_prompt=pid)
    cells = at.dataframe[1].value.drop(columns=["pair", "order"]).stack()
    assert not cells.str.contains("nan").any(), list(cells)
    assert cells.str.startswith("failed: ").sum() == battles[(battles.prompt_id == pid) & battles.error.notna()].shape[0]


def test_explorer_shows_responses_and_every_persona_vote(env):
    at = open_page("explorer")
    at.radio(key="ex_split").set_value("eval").run()
    at.selectbox(key="ex_prompt").set_value("eval-1").run()
    responses = at.dataframe[0].value
    assert set(responses["policy"]) == {"reference", "mnpo/iter1", "mnpo/iter2", "dpo/iter1"}
    votes = at.dataframe[1].value
    assert {"fair", "first_picker", "length_lover"} <= set(votes.columns) and len(votes) == 12  # 6 pairs x 2 orders
    assert votes["fair"].str.contains(r"P\(a\)=").all()
    battles = pd.read_parquet(env / "runs" / "alpha" / "battles.parquet")
    failed_battle = battles[battles.error.notna()]["prompt_id"].iloc[0]
    at.selectbox(key="ex_prompt").set_value(failed_battle).run()
    assert at.dataframe[1].value["fair"].str.startswith("failed: timeout").any()
    judgments = pd.read_parquet(env / "runs" / "alpha" / "judgments.parquet")
    failed_prompt = judgments[judgments.error.notna() & (judgments.persona == "fair")]["prompt_id"].iloc[0]
    at.radio(key="ex_split").set_value("train").run()
    at.selectbox(key="ex_prompt").set_value(failed_prompt).run()
    judged = at.dataframe[-1].value
    assert judged["fair"].str.startswith("failed: timeout").any()  # failures shown as failures, not ties
    at.text_input(key="ex_query").input("no such words").run()
    assert "no prompt matches" in texts(at)


def test_compare_page_shows_both_runs_and_config_differences(env):
    at = open_page("compare", "alpha", run_b="beta")
    assert {"alpha", "beta"} <= {s.value for s in at.subheader}
    diff = at.dataframe[-1].value.set_index("field")
    assert diff.loc["seed", "alpha"] == "0" and diff.loc["seed", "beta"] == "1"
    assert any("both runs" in f["layout"]["title"]["text"] for f in figures(at))
    alone = open_page("compare", "alpha")
    assert "Pick a second run" in texts(alone)
